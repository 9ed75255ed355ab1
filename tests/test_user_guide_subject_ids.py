"""The user guide's subject ids look like the ones enrollment gives (issue 12 item 7: the guide
said `JP01-001` while the screens show `JP-01-005`)."""

from __future__ import annotations

import re
from pathlib import Path

from mmtrial.edc.services.participants import SUBJECT_ID_FORMAT
from mmtrial.sim.archetypes import SITES

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user-guide.md"


def test_every_subject_id_in_the_user_guide_has_the_format_enrollment_gives():
    site_codes = [site.code for site in SITES]
    made = {SUBJECT_ID_FORMAT.format(site=code, n=n) for code in site_codes for n in range(1, 10)}
    # anything shaped like a site code and a number in backticks: JP-01-001, JP01-001, ...
    quoted = re.findall(r"`(JP-?\d\d-\d+)`", GUIDE.read_text(encoding="utf-8"))
    assert quoted, "the user guide gives no example subject id"
    assert [s for s in quoted if s not in made] == []
