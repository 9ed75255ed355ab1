"""Synthetic ADaM datasets: the published study's counts, or a random cohort of any size.

`published_study()` reproduces what Iida et al. (Int J Clin Oncol 2022) report: 34 enrolled, 34
in the safety set, 32 response-evaluable, 27 responders (PR or better), 16 with VGPR or better, and
a PFS curve whose Kaplan-Meier median is 22.0 months (95% CI 17.3 to not reached). The
participants, visits and laboratory values are invented; only the summary figures are published.

`random_study(n_participants=..., seed=...)` builds a cohort of any size with the same variables
(used by the report benchmark). Both return a dict of frames keyed by dataset name (adsl, adrs,
adtte, adlb, adae, adex) and `write_adam_dir` writes them as CSV or SAS XPT v5.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from mmtrial.analysis.codelists import PARAMCD_BEST_RESPONSE, PARAMCD_VISIT_RESPONSE

STUDY_ID = "IRD-J"
DATA_CUT = date(2030, 6, 30)


#: PFS in days, constructed so that the KM median is 670 days (22.0 months) and its
#: Brookmeyer-Crowley log(-log) 95% CI runs from 527 days (17.3 months) to not reached.
PUBLISHED_PFS_EVENTS_DAYS = [
    55,
    160,
    175,
    308,
    343,
    349,
    373,
    457,
    493,
    527,
    529,
    550,
    606,
    641,
    670,
    763,
    767,
]
PUBLISHED_PFS_CENSORED_DAYS = [
    122,
    154,
    282,
    497,
    542,
    623,
    725,
    775,
    775,
    802,
    839,
    843,
    863,
    888,
    918,
    985,
    988,
]

AE_TERMS = [
    ("Thrombocytopenia", "Blood and lymphatic system disorders"),
    ("Neutropenia", "Blood and lymphatic system disorders"),
    ("Anaemia", "Blood and lymphatic system disorders"),
    ("Diarrhoea", "Gastrointestinal disorders"),
    ("Nausea", "Gastrointestinal disorders"),
    ("Rash", "Skin and subcutaneous tissue disorders"),
    ("Peripheral sensory neuropathy", "Nervous system disorders"),
    ("Pneumonia", "Infections and infestations"),
    ("Fatigue", "General disorders and administration site conditions"),
    ("Oedema peripheral", "General disorders and administration site conditions"),
]


def _protocol_numbers() -> tuple[int, int, dict[str, float]]:
    """Assessment interval, cycle length and starting doses from the protocol file."""
    from mmtrial.protocol import load_protocol

    protocol = load_protocol()
    doses = {key.upper(): float(entry.dose) for key, entry in protocol.regimen.items()}
    return protocol.response_assessment.interval_days, protocol.cycle_length_days, doses


ASSESSMENT_INTERVAL_DAYS, CYCLE_LENGTH_DAYS, DRUGS = _protocol_numbers()

_PCT_CHANGE = {  # best % change in the followed M-protein, by best response (low, high)
    "sCR": (-100, -100),
    "CR": (-100, -100),
    "VGPR": (-99, -90),
    "PR": (-89, -50),
    "MR": (-49, -25),
    "SD": (-24, 20),
    "PD": (26, 80),
    "NE": (-10, 10),
}
_RESPONSE_ORDER = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE"]


def _subjects(n: int) -> list[str]:
    return [f"{STUDY_ID}-{(i % 16) + 1:02d}-{i + 1:04d}" for i in range(n)]


def _visit_responses(bor: str, *, pfs_days: float, pfs_event: bool, rng) -> list[tuple[int, str]]:
    """Per-assessment responses (study day, category): improve to the best, then PD if any."""
    days = list(range(ASSESSMENT_INTERVAL_DAYS + 1, int(pfs_days) + 1, ASSESSMENT_INTERVAL_DAYS))
    if not days:
        days = [int(max(pfs_days, 2))]
    best_rank = _RESPONSE_ORDER.index(bor)
    path = [
        c for c in ("SD", "MR", "PR", "VGPR", "CR", "sCR") if _RESPONSE_ORDER.index(c) >= best_rank
    ]
    # Each category before the best lasts one to three assessments (a confirmed pair or more).
    steps = np.cumsum(rng.integers(1, 4, size=len(path)))
    visits = []
    for k, day in enumerate(days):
        level = min(int(np.searchsorted(steps, k, side="right")), len(path) - 1)
        visits.append((day, path[level] if bor not in ("PD", "NE") else "SD"))
    if bor == "NE":
        visits = [(day, "NE") for day in days]
    if pfs_event:
        visits.append((int(pfs_days), "PD"))
    return visits


def _build(
    *,
    bor: list[str],
    efffl: list[str],
    pfs: list[tuple[float, int]],
    rng: np.random.Generator,
) -> dict[str, pd.DataFrame]:
    n = len(bor)
    ids = _subjects(n)
    start = [date(2028, 1, 8) + timedelta(days=int(rng.integers(0, 540))) for _ in range(n)]
    adsl_rows, adrs_rows, adtte_rows, adlb_rows, adae_rows, adex_rows = [], [], [], [], [], []
    for i, usubjid in enumerate(ids):
        pfs_days, pfs_cnsr = pfs[i]
        pd_event = pfs_cnsr == 0 and rng.random() < 0.85
        died = pfs_cnsr == 0 and not pd_event
        trt_days = int(max(1, pfs_days - rng.integers(0, 30)))
        ongoing = pfs_cnsr == 1 and rng.random() < 0.5
        adsl_rows.append(
            {
                "STUDYID": STUDY_ID,
                "USUBJID": usubjid,
                "SITEID": usubjid.split("-")[2],
                "AGE": int(rng.integers(45, 85)),
                "SEX": "M" if rng.random() < 0.55 else "F",
                "SAFFL": "Y",
                "EFFFL": efffl[i],
                "TRTSDT": start[i].isoformat(),
                "TRTDURD": trt_days,
                "EOTSTT": "ONGOING" if ongoing else "DISCONTINUED",
                "DCUTDT": DATA_CUT.isoformat(),
            }
        )
        adrs_rows.append(
            {
                "USUBJID": usubjid,
                "PARAMCD": PARAMCD_BEST_RESPONSE,
                "PARAM": "Confirmed best overall response",
                "AVALC": bor[i],
                "ADY": None,
            }
        )
        visits = _visit_responses(bor[i], pfs_days=pfs_days, pfs_event=pd_event, rng=rng)
        for day, category in visits:
            adrs_rows.append(
                {
                    "USUBJID": usubjid,
                    "PARAMCD": PARAMCD_VISIT_RESPONSE,
                    "PARAM": "Overall response by visit",
                    "AVALC": category,
                    "ADY": day,
                }
            )
        os_days = pfs_days + (0 if died else float(rng.integers(30, 400)))
        os_dead = died or (pd_event and rng.random() < 0.25)
        adtte_rows.append(
            {"USUBJID": usubjid, "PARAMCD": "PFS", "AVAL": pfs_days, "CNSR": pfs_cnsr}
        )
        adtte_rows.append(
            {"USUBJID": usubjid, "PARAMCD": "OS", "AVAL": os_days, "CNSR": 0 if os_dead else 1}
        )
        adtte_rows.append(
            {"USUBJID": usubjid, "PARAMCD": "TTP", "AVAL": pfs_days, "CNSR": 0 if pd_event else 1}
        )
        first_response = next((d for d, c in visits if c in ("sCR", "CR", "VGPR", "PR")), None)
        if first_response is not None and efffl[i] == "Y":
            adtte_rows.append(
                {"USUBJID": usubjid, "PARAMCD": "TTR", "AVAL": float(first_response), "CNSR": 0}
            )
            adtte_rows.append(
                {
                    "USUBJID": usubjid,
                    "PARAMCD": "DOR",
                    "AVAL": max(1.0, pfs_days - first_response + 1),
                    "CNSR": 0 if pd_event else 1,
                }
            )
        baseline = round(float(rng.uniform(1.0, 5.0)), 2)
        low, high = _PCT_CHANGE[bor[i]]
        best_pct = float(rng.uniform(low, high))
        adlb_rows.append(
            {
                "USUBJID": usubjid,
                "PARAMCD": "SMPROT",
                "PARAM": "Serum M-protein (g/dL)",
                "ADY": 1,
                "AVAL": baseline,
                "ABLFL": "Y",
            }
        )
        # The M-protein falls towards its best level within a few cycles, plateaus with some
        # noise, and climbs in the last months before progression.
        time_constant = float(rng.uniform(40, 120))
        for day, _category in visits:
            pct = best_pct * (1 - np.exp(-day / time_constant)) + float(rng.normal(0, 2))
            if pd_event and day > pfs_days - 90:
                pct = best_pct + (abs(best_pct) * 0.5 + 30) * (1 - (pfs_days - day) / 90)
            pct = max(pct, -100.0)
            adlb_rows.append(
                {
                    "USUBJID": usubjid,
                    "PARAMCD": "SMPROT",
                    "PARAM": "Serum M-protein (g/dL)",
                    "ADY": day,
                    "AVAL": round(max(0.0, baseline * (1 + pct / 100)), 3),
                    "ABLFL": "",
                }
            )
        for _ in range(int(rng.integers(1, 7))):
            term, soc = AE_TERMS[int(rng.integers(0, len(AE_TERMS)))]
            grade = int(rng.choice([1, 2, 3, 4, 5], p=[0.4, 0.3, 0.22, 0.07, 0.01]))
            adae_rows.append(
                {
                    "USUBJID": usubjid,
                    "AEDECOD": term,
                    "AEBODSYS": soc,
                    "AETOXGR": grade,
                    "AESER": "Y" if grade >= 3 and rng.random() < 0.4 else "N",
                    "AEACN": "DRUG WITHDRAWN"
                    if grade >= 3 and rng.random() < 0.15
                    else "DOSE NOT CHANGED",
                    "TRTEMFL": "Y",
                }
            )
        cycles = max(1, int(np.ceil(trt_days / CYCLE_LENGTH_DAYS)))
        for cycle in range(1, cycles + 1):
            for drug, planned in DRUGS.items():
                reduced = cycle > 2 and rng.random() < 0.05
                held = rng.random() < 0.04
                actual = 0.0 if held else planned * (0.75 if reduced else 1.0)
                adex_rows.append(
                    {
                        "USUBJID": usubjid,
                        "EXTRT": drug,
                        "CYCLE": cycle,
                        "EXPLDOS": planned,
                        "EXDOSE": actual,
                        "EXDOSU": "mg",
                        "DOSREDFL": "Y" if reduced else "N",
                        "HELDFL": "Y" if held else "N",
                    }
                )
    return {
        "adsl": pd.DataFrame(adsl_rows),
        "adrs": pd.DataFrame(adrs_rows),
        "adtte": pd.DataFrame(adtte_rows),
        "adlb": pd.DataFrame(adlb_rows),
        "adae": pd.DataFrame(adae_rows),
        "adex": pd.DataFrame(adex_rows),
    }


def published_study(*, seed: int = 20220101) -> dict[str, pd.DataFrame]:
    """ADaM frames with the published counts and PFS (see module docstring)."""
    rng = np.random.default_rng(seed)
    pfs = [(float(d), 0) for d in PUBLISHED_PFS_EVENTS_DAYS] + [
        (float(d), 1) for d in PUBLISHED_PFS_CENSORED_DAYS
    ]
    # Best responses ordered so that longer PFS goes with deeper response; the two
    # non-evaluable participants (no measurable disease) get NE.
    pfs.sort(key=lambda item: item[0])
    bor = ["PD", "SD", "NE", "SD", "MR", "SD", "NE"] + ["PR"] * 11 + ["VGPR"] * 15 + ["CR"]
    efffl = ["N" if b == "NE" else "Y" for b in bor]
    return _build(bor=bor, efffl=efffl, pfs=pfs, rng=rng)


def random_study(*, n_participants: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    """A random cohort of `n_participants` with plausible responses and follow-up."""
    rng = np.random.default_rng(seed)
    bor = list(
        rng.choice(
            _RESPONSE_ORDER[1:], size=n_participants, p=[0.05, 0.40, 0.30, 0.05, 0.12, 0.05, 0.03]
        )
    )
    efffl = ["N" if b == "NE" else "Y" for b in bor]
    pfs = []
    for b in bor:
        scale = {"CR": 1100, "VGPR": 800, "PR": 600, "MR": 400, "SD": 300, "PD": 90}.get(b, 150)
        days = float(max(5, int(rng.exponential(scale))))
        followup = float(rng.integers(200, 1200))
        pfs.append((min(days, followup), 0 if days <= followup else 1))
    return _build(bor=bor, efffl=efffl, pfs=pfs, rng=rng)


def write_adam_dir(
    frames: dict[str, pd.DataFrame], directory: str | Path, *, fmt: str = "csv"
) -> Path:
    """Write each frame as `name.csv` or `name.xpt` (SAS transport v5) in `directory`."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    for name, frame in frames.items():
        if fmt == "csv":
            frame.to_csv(folder / f"{name}.csv", index=False)
        elif fmt == "xpt":
            import pyreadstat

            out = frame.copy()
            for col in out.columns:
                if out[col].dtype == object:
                    out[col] = out[col].astype(object).where(out[col].notna(), "").astype(str)
            pyreadstat.write_xport(
                out, str(folder / f"{name}.xpt"), table_name=name.upper(), file_format_version=5
            )
        else:
            raise ValueError("fmt must be 'csv' or 'xpt'")
    return folder
