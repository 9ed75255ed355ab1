"""The timeline shows the protocol's decision for the next cycle from the data entered so far,
labelled as a preview; what it shows is what starting the cycle then records."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from mmtrial.protocol.loader import load_protocol
from tests.web.flow import C1D1, enter_labs, start_cycle, treated

pytestmark = pytest.mark.django_db


def _c2d1() -> dt.date:
    return C1D1 + dt.timedelta(days=load_protocol().cycle_length_days)


def _testid(html: str, testid: str) -> str:
    match = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</', html, re.DOTALL)
    assert match, testid
    return match.group(1).strip()


def test_without_a_recent_creatinine_the_preview_says_what_to_record(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    html = client.get(f"/participants/{pk}/").content.decode()
    assert f"Next cycle 2 (planned start {_c2d1().isoformat()})" in html
    assert "Preview" in html and "not recorded" in html
    missing = _testid(html, "preview-missing")
    assert "No creatinine collected within" in html and "record it" in html, missing
    assert 'data-testid="preview-dose-decision"' not in html


def test_the_previewed_doses_are_what_starting_the_cycle_records(client, users, sites):
    from mmtrial.edc.models import Cycle

    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    enter_labs(client, pk, _c2d1(), creatinine="1.0", anc="1500", platelets="150000")
    html = client.get(f"/participants/{pk}/").content.decode()
    assert _testid(html, "preview-dose-decision").startswith("<strong>")
    shown = {
        drug: _testid(html, f"preview-dose-{drug}")
        for drug in ("ixazomib", "lenalidomide", "dexamethasone")
    }
    assert 'data-testid="preview-decision-reasons"' in html
    assert "{#" not in html and "{%" not in html  # no template source leaks onto the page
    # the latest recorded decision (cycle 1) keeps its own ids beside the preview
    assert 'data-testid="dose-decision"' in html
    start_cycle(client, pk, _c2d1())
    cycle = Cycle.objects.get(participant_id=pk, number=2)
    recorded = {drug: mg for drug, mg in cycle.decision["doses_mg"].items()}
    for drug, text in shown.items():
        assert text.replace(",", "") == format(recorded[drug], "g"), (drug, text, recorded)
    # once cycle 2 is started, the preview moves on to cycle 3
    html = client.get(f"/participants/{pk}/").content.decode()
    assert "Next cycle 3 (planned start" in html


def test_the_preview_is_in_japanese(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    client.post("/i18n/setlang/", {"language": "ja", "next": "/"})
    html = client.get(f"/participants/{pk}/").content.decode()
    assert "次サイクル2" in html and "プレビュー" in html
    # the analyte in Japanese too (issue 12: no 「…採取されたcreatinineがありません」)
    assert "採取された血清クレアチニンがありません" in html and "creatinine" not in html


def test_no_preview_for_a_participant_not_enrolled(client, users, sites):
    from tests.web.flow import register

    client.force_login(users["coordinator"])
    pk = register(client, sites["A"], "SCR-900")
    html = client.get(f"/participants/{pk}/").content.decode()
    assert 'data-testid="dose-preview"' not in html


def test_another_sites_coordinator_gets_404(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    client.force_login(users["coordinator_b"])
    assert client.get(f"/participants/{pk}/").status_code == 404


def test_the_preview_links_to_starting_the_cycle_on_its_date(client, users, sites):
    client.force_login(users["coordinator"])
    pk = treated(client, sites["A"])
    html = client.get(f"/participants/{pk}/").content.decode()
    link = f"/participants/{pk}/cycles/new/?start_date={_c2d1().isoformat()}"
    assert f'href="{link}"' in html
    form = client.get(link).content.decode()
    assert f'value="{_c2d1().isoformat()}"' in form
    client.force_login(users["monitor"])
    assert "preview-start" not in client.get(f"/participants/{pk}/").content.decode()
