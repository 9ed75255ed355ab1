"""Analysis populations of the SAP (protocol section 11), from ADSL flags."""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.adam_io import require_variables


def enrolled(adsl: pd.DataFrame) -> pd.DataFrame:
    """Enrolled set: every ADSL record (one per participant who entered the study)."""
    require_variables(adsl, file="adsl", variables=["USUBJID"])
    return adsl.copy()


def safety_population(adsl: pd.DataFrame) -> pd.DataFrame:
    """Safety set: SAFFL = Y (received any amount of study drug)."""
    require_variables(adsl, file="adsl", variables=["USUBJID", "SAFFL"])
    return adsl[adsl["SAFFL"] == "Y"].copy()


def response_evaluable(adsl: pd.DataFrame) -> pd.DataFrame:
    """Response-evaluable set: EFFFL = Y (measurable disease at baseline, at least one dose and
    at least one post-baseline response assessment)."""
    require_variables(adsl, file="adsl", variables=["USUBJID", "EFFFL"])
    return adsl[adsl["EFFFL"] == "Y"].copy()


def population_counts(adsl: pd.DataFrame) -> dict[str, int]:
    """Sizes of the three analysis sets, keyed as in contracts/analyze.md."""
    return {
        "enrolled": len(enrolled(adsl)),
        "safety": len(safety_population(adsl)),
        "response_evaluable": len(response_evaluable(adsl)),
    }
