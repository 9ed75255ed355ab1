"""The EDC tests' study runs in 2027 (tests/edc/builders.py) while the edit checks refuse dates
in the future: the clock of these tests is set after the study, and keeps ticking. A module
that tests the real clock's types sets REAL_CLOCK = True."""

from __future__ import annotations

import pytest
from freezegun import freeze_time

STUDY_IS_PAST = "2030-01-01 09:00:00"


@pytest.fixture(autouse=True, scope="module")
def _after_the_study(request):
    if getattr(request.module, "REAL_CLOCK", False):
        yield
        return
    with freeze_time(STUDY_IS_PAST, tick=True):
        yield
