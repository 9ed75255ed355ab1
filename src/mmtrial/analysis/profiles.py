"""Per-participant data behind the swimmer, waterfall and spider plots.

Optional inputs (documented in docs/analysis.md):
- ADRS records with PARAMCD = OVR: the overall response at each assessment (AVALC) and its
  study day (ADY, day 1 = first dose).
- ADSL TRTDURD (treatment duration in days) and EOTSTT ("ONGOING" when still on treatment);
  without TRTDURD the last assessment day stands for the treatment duration.
- ADLB with USUBJID, PARAMCD, ADY, AVAL: the M-protein. The followed parameter is the first of
  SMPROT (serum M-protein, g/dL) and UMPROT (urine M-protein, mg/24 h) present for the subject;
  where ADLB has ANL01FL, only rows with ANL01FL = Y are used. Baseline is the row with
  ABLFL = Y, else the last row with ADY <= 1.
"""

from __future__ import annotations

import pandas as pd

from mmtrial.analysis.adam_io import require_variables
from mmtrial.analysis.codelists import (
    CR_OR_BETTER_CATEGORIES,
    ORR_CATEGORIES,
    PARAMCD_BEST_RESPONSE,
    PARAMCD_VISIT_RESPONSE,
)

FOLLOWED_PARAMCDS = ("SMPROT", "UMPROT")


def best_response_by_subject(adrs: pd.DataFrame) -> pd.Series:
    """USUBJID -> confirmed best overall response (CBOR AVALC)."""
    best = adrs[adrs["PARAMCD"] == PARAMCD_BEST_RESPONSE]
    return best.drop_duplicates("USUBJID").set_index("USUBJID")["AVALC"]


def visit_responses(adrs: pd.DataFrame) -> pd.DataFrame:
    """ADRS OVR records with a numeric ADY, or an empty frame when there are none."""
    if "ADY" not in adrs.columns:
        return adrs.iloc[0:0]
    ovr = adrs[adrs["PARAMCD"] == PARAMCD_VISIT_RESPONSE].copy()
    ovr["ADY"] = pd.to_numeric(ovr["ADY"], errors="coerce")
    return ovr.dropna(subset=["ADY"])


def derive_swimmer(adsl: pd.DataFrame, *, adrs: pd.DataFrame) -> pd.DataFrame:
    """One row per dosed participant with OVR data: duration and the days of key events.

    Columns: USUBJID, duration_days, first_response_day (first PR or better), first_cr_day,
    pd_day (first PD), ongoing (bool), BOR. When ADRS carries CONFFL, the markers are the
    confirmed ones only (an unconfirmed PR is not a response; an unconfirmed PD not progression).
    """
    require_variables(adsl, file="adsl", variables=["USUBJID", "SAFFL"])
    ovr = visit_responses(adrs)
    if ovr.empty:
        return pd.DataFrame(
            columns=[
                "USUBJID",
                "duration_days",
                "first_response_day",
                "first_cr_day",
                "pd_day",
                "ongoing",
                "BOR",
            ]
        )
    dosed = adsl[adsl["SAFFL"] == "Y"]
    ovr = ovr[ovr["USUBJID"].isin(dosed["USUBJID"])]

    confirmed = ovr["CONFFL"].eq("Y") if "CONFFL" in ovr.columns else True

    def first_day(mask: pd.Series) -> pd.Series:
        return ovr[mask & confirmed].groupby("USUBJID")["ADY"].min()

    out = pd.DataFrame({"last_day": ovr.groupby("USUBJID")["ADY"].max()})
    out["first_response_day"] = first_day(ovr["AVALC"].isin(ORR_CATEGORIES))
    out["first_cr_day"] = first_day(ovr["AVALC"].isin(CR_OR_BETTER_CATEGORIES))
    out["pd_day"] = first_day(ovr["AVALC"] == "PD")
    info = dosed.set_index("USUBJID")
    if "TRTDURD" in info.columns:
        duration = pd.to_numeric(info["TRTDURD"], errors="coerce").reindex(out.index)
        out["duration_days"] = duration.fillna(out["last_day"])
    else:
        out["duration_days"] = out["last_day"]
    if "EOTSTT" in info.columns:
        out["ongoing"] = info["EOTSTT"].reindex(out.index).eq("ONGOING")
    else:
        out["ongoing"] = False
    out["BOR"] = best_response_by_subject(adrs).reindex(out.index).fillna("NE")
    out = out.drop(columns="last_day").reset_index(names="USUBJID")
    return out.sort_values("duration_days", ascending=False).reset_index(drop=True)


def derive_mprotein_change(adlb: pd.DataFrame) -> pd.DataFrame:
    """Percent change from baseline of each participant's followed M-protein at each visit.

    Rule: pct = (value - baseline) / baseline x 100, post-baseline rows only (ADY > 1, or after
    the baseline row); participants with a missing or zero baseline are left out.
    Columns: USUBJID, PARAMCD, ADY, AVAL, BASE, PCHG.
    """
    require_variables(adlb, file="adlb", variables=["USUBJID", "PARAMCD", "ADY", "AVAL"])
    frame = adlb[adlb["PARAMCD"].isin(FOLLOWED_PARAMCDS)].copy()
    if "ANL01FL" in frame.columns:
        frame = frame[frame["ANL01FL"] == "Y"]
    frame["ADY"] = pd.to_numeric(frame["ADY"], errors="coerce")
    frame["AVAL"] = pd.to_numeric(frame["AVAL"], errors="coerce")
    frame = frame.dropna(subset=["ADY", "AVAL"])
    order = {code: i for i, code in enumerate(FOLLOWED_PARAMCDS)}
    followed = frame.assign(_rank=frame["PARAMCD"].map(order)).groupby("USUBJID")["_rank"].min()
    frame = frame[frame["PARAMCD"].map(order) == frame["USUBJID"].map(followed)]
    if "ABLFL" in frame.columns and (frame["ABLFL"] == "Y").any():
        base_rows = frame[frame["ABLFL"] == "Y"]
    else:
        base_rows = frame[frame["ADY"] <= 1]
    base_rows = base_rows.sort_values("ADY").groupby("USUBJID").tail(1)
    base = base_rows.set_index("USUBJID")[["ADY", "AVAL"]].rename(
        columns={"ADY": "BASE_DY", "AVAL": "BASE"}
    )
    frame = frame.join(base, on="USUBJID", how="inner")
    frame = frame[(frame["ADY"] > frame["BASE_DY"]) & (frame["BASE"] > 0)]
    frame["PCHG"] = (frame["AVAL"] - frame["BASE"]) / frame["BASE"] * 100
    return frame[["USUBJID", "PARAMCD", "ADY", "AVAL", "BASE", "PCHG"]].reset_index(drop=True)


def derive_best_change(change: pd.DataFrame, *, adrs: pd.DataFrame) -> pd.DataFrame:
    """Best (lowest) percent change per participant, with the best overall response.

    Columns: USUBJID, best_pchg, BOR; sorted from the largest increase to the deepest fall.
    """
    best = change.groupby("USUBJID", as_index=False)["PCHG"].min()
    best = best.rename(columns={"PCHG": "best_pchg"})
    best["BOR"] = best["USUBJID"].map(best_response_by_subject(adrs)).fillna("NE")
    return best.sort_values("best_pchg", ascending=False).reset_index(drop=True)
