"""The swimmer plot's bars as a statistician reads them: an ongoing participant's bar runs to
the data cut-off (treatment continues past the last recorded dose), not to the last dose."""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.adam_io import require_variables


def derive_swimmer_to_data_cut(swimmer: pd.DataFrame, *, adsl: pd.DataFrame) -> pd.DataFrame:
    """`profiles.derive_swimmer` output with ongoing participants' bars ending at the data cut.

    Rule: for a participant still on treatment (`ongoing`), duration_days = ADSL DCUTDT -
    TRTSDT + 1 (study day of the data cut, day 1 = first dose); the bar of a participant whose
    treatment ended keeps its treatment duration. Where DCUTDT or TRTSDT is missing the
    duration is left as it was. Returns a new frame, sorted by duration (longest first).
    """
    require_variables(swimmer, file="swimmer", variables=["USUBJID", "duration_days", "ongoing"])
    out = swimmer.copy()
    if out.empty or not {"DCUTDT", "TRTSDT"} <= set(adsl.columns):
        return out
    info = adsl.drop_duplicates("USUBJID").set_index("USUBJID")
    cut = pd.to_datetime(info["DCUTDT"], errors="coerce")
    start = pd.to_datetime(info["TRTSDT"], errors="coerce")
    to_cut = ((cut - start).dt.days + 1).reindex(out["USUBJID"]).to_numpy()
    ongoing = out["ongoing"].to_numpy(dtype=bool) & ~pd.isna(to_cut)
    durations = out["duration_days"].to_numpy(dtype=float)
    durations[ongoing] = to_cut[ongoing].astype(float)
    out["duration_days"] = durations
    return out.sort_values("duration_days", ascending=False, kind="stable").reset_index(drop=True)
