"""DS: informed consent (milestone), screen failure, end of treatment, death (dispositions)."""

from __future__ import annotations

from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject
from mmtrial.cdisc.sdtm.timing import derive_var_dy, derive_var_epoch, iso
from mmtrial.cdisc.text import english_text

__all__ = ["END_OF_TREATMENT_NCOMPLT", "build_ds"]

#: EDC end-of-treatment reason (mmtrial.edc.services.follow_up) -> NCOMPLT (C66727)
END_OF_TREATMENT_NCOMPLT = {
    "progressive_disease": "PROGRESSIVE DISEASE",
    "adverse_event": "ADVERSE EVENT",
    "withdrawal": "WITHDRAWAL BY SUBJECT",
    "investigator_decision": "PHYSICIAN DECISION",
    "death": "DEATH",
    "other": "OTHER",
}


def _not_met(subject: Subject) -> list[str]:
    result = (subject.screening or {}).get("result") or {}
    return [c["id"] for c in result.get("criteria", []) if c.get("status") == "not_met"]


def _events(s: Subject, ctx: StudyContext) -> list[dict[str, Any]]:
    ct = ctx.ct
    milestone = ct.value("DSCAT", "PROTOCOL MILESTONE")
    disposition = ct.value("DSCAT", "DISPOSITION EVENT")
    consent = ct.value("PROTMLST", "INFORMED CONSENT OBTAINED")
    events = [
        {
            "DSTERM": consent,
            "DSDECOD": consent,
            "DSCAT": milestone,
            "DSSCAT": None,
            "day": s.consent,
        }
    ]
    if s.screen_failed:
        failure = ct.value("NCOMPLT", "SCREEN FAILURE")
        criteria = ", ".join(_not_met(s))
        events.append(
            {
                "DSTERM": f"{failure}: {criteria} NOT MET" if criteria else failure,
                "DSDECOD": failure,
                "DSCAT": disposition,
                "DSSCAT": ct.value("DSSCAT", "STUDY PARTICIPATION"),
                "day": s.screened_on or s.consent,
            }
        )
    if s.eot is not None:
        decod = ct.value("NCOMPLT", END_OF_TREATMENT_NCOMPLT.get(s.eot["reason"], "OTHER"))
        details = (s.eot.get("details") or "").strip() if s.eot["reason"] == "other" else ""
        term = english_text(
            details,
            findings=ctx.findings,
            dataset="DS",
            variable="DSTERM",
            usubjid=s.usubjid,
            coded=decod,
            fix=f"end-of-treatment form of {s.subjid}: enter the reason in English",
        )
        events.append(
            {
                "DSTERM": (term or decod).upper(),
                "DSDECOD": decod,
                "DSCAT": disposition,
                "DSSCAT": ct.value("DSSCAT", "STUDY TREATMENT"),
                "day": s.eot["last_dose_date"],
            }
        )
    if s.death is not None:
        death = ct.value("NCOMPLT", "DEATH")
        cause = (s.death.get("cause") or "").replace("_", " ").upper()
        events.append(
            {
                "DSTERM": f"{death} DUE TO {cause}" if cause and cause != "UNKNOWN" else death,
                "DSDECOD": death,
                "DSCAT": disposition,
                "DSSCAT": ct.value("DSSCAT", "STUDY PARTICIPATION"),
                "day": s.death["death_date"],
            }
        )
    return events


def build_ds(subjects: list[Subject], ctx: StudyContext) -> list[dict[str, Any]]:
    """DS rows in date order within each subject; DSSEQ numbers them (MT.SEQ)."""
    rows = []
    for s in subjects:
        events = sorted(_events(s, ctx), key=lambda e: e["day"])
        for seq, event in enumerate(events, start=1):
            day = event.pop("day")
            rows.append(
                {
                    "STUDYID": ctx.studyid,
                    "DOMAIN": "DS",
                    "USUBJID": s.usubjid,
                    "DSSEQ": seq,
                    **event,
                    "EPOCH": derive_var_epoch(
                        day, first_dose=s.first_dose, end_of_treatment=s.eot_date
                    ),
                    "DSSTDTC": iso(day),
                    "DSSTDY": derive_var_dy(day, rfstdt=s.first_dose),
                }
            )
    return rows
