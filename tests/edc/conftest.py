"""Every EDC test module runs on the study clock (tests/study_clock.py)."""

from __future__ import annotations

import pytest

from tests.study_clock import study_clock


@pytest.fixture(autouse=True, scope="module")
def _after_the_study(request):
    with study_clock(request.module, always=True):
        yield
