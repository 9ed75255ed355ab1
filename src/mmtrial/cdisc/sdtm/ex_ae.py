"""EX (each dose given) and AE (each adverse event), with SUPPEX and SUPPAE."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject
from mmtrial.cdisc.sdtm.supp import supp_row
from mmtrial.cdisc.sdtm.timing import derive_var_dy, derive_var_epoch, iso
from mmtrial.cdisc.text import english_text
from mmtrial.edc.selectors.analysis import AE_ACTIONS_CDISC

__all__ = ["build_ae", "build_ex", "exposure_end"]

_GIVEN = ("taken", "reduced")
_PLANNED = "planned"
DOSE_UNIT = "mg"


def exposure_end(subject: Subject, ctx: StudyContext):
    """The last day doses count as exposure: the data cut, the end of treatment or the death,
    whichever is first (the exposure rule of mmtrial.edc.selectors.analysis)."""
    return min(d for d in (ctx.cut, subject.eot_date, subject.death_date) if d is not None)


def build_ex(
    subject: Subject, doses: list[dict[str, Any]], ctx: StudyContext
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """EX rows, one per dose given, and SUPPEX EXASSUM for the groups (EXGRPID) of doses
    taken as planned (MT.ASSUMED).

    Rule: for a dosed subject, doses dated on or before `exposure_end`; a dose recorded taken or
    taken reduced gives its taken mg; a planned dose never recorded is taken as planned; held
    and missed doses and doses of 0 mg are not exposure (no record).
    """
    if subject.first_dose is None:
        return [], []
    end = exposure_end(subject, ctx)
    rows, supp = [], []
    groups: set[str] = set()
    ny = ctx.ct.codelist("NY")
    unit = ctx.ct.value("UNIT", DOSE_UNIT)
    names: dict[str, tuple[str, str | None]] = {}  # drug -> EXTRT, EXROUTE (once per subject)
    for dose in doses:
        if dose["date"] > end:
            continue
        if dose["status"] in _GIVEN:
            mg = dose["taken_dose_mg"]
        elif dose["status"] == _PLANNED:
            mg = dose["planned_dose_mg"]
        else:
            continue
        if mg is None or Decimal(mg) <= 0:
            continue
        drug = dose["drug"]
        spid = f"C{dose['cycle']}D{dose['day']}"
        adjust = None
        if dose["status"] == "reduced":
            adjust = english_text(
                dose.get("reason"),
                findings=ctx.findings,
                dataset="EX",
                variable="EXADJ",
                usubjid=subject.usubjid,
                record=spid,
                coded=ctx.ct.value("ACN", "DOSE REDUCED"),
                fix=f"dose record {spid} {drug} of {subject.subjid}: enter the reason in English",
            ) or ctx.ct.value("ACN", "DOSE REDUCED")
        seq = len(rows) + 1
        group = (
            f"C{dose['cycle']}-{drug[:3].upper()}-ASSUMED" if dose["status"] == _PLANNED else None
        )
        if drug not in names:
            names[drug] = _treatment(drug, ctx)
        treatment, route = names[drug]
        day, study_day = iso(dose["date"]), derive_var_dy(dose["date"], rfstdt=subject.first_dose)
        rows.append(
            {
                "STUDYID": ctx.studyid,
                "DOMAIN": "EX",
                "USUBJID": subject.usubjid,
                "EXSEQ": seq,
                "EXGRPID": group,
                "EXSPID": spid,
                "EXTRT": treatment,
                "EXDOSE": float(mg),
                "EXDOSU": unit,
                "EXDOSFRM": None,
                "EXROUTE": route,
                "EXADJ": adjust,
                "EPOCH": derive_var_epoch(
                    dose["date"], first_dose=subject.first_dose, end_of_treatment=subject.eot_date
                ),
                "EXSTDTC": day,
                "EXENDTC": day,
                "EXSTDY": study_day,
                "EXENDY": study_day,
            }
        )
        if group is not None and group not in groups:
            groups.add(group)
            supp.append(
                supp_row(ctx, "EX", subject.usubjid, "EXGRPID", group, "EXASSUM",
                         ny.term("Y").value, origin="Derived")
            )  # fmt: skip
    return rows, supp


def _treatment(drug: str, ctx: StudyContext) -> tuple[str, str | None]:
    """EXTRT and EXROUTE of a drug (a drug the protocol does not name: its code, no route)."""
    if drug not in ctx.protocol.drugs:
        return drug.upper(), None
    route = ctx.protocol.drugs[drug].route.upper()
    return ctx.drug_name(drug), ctx.ct.value("ROUTE", route) if route else None


def _relationship(related: bool) -> str:
    return "RELATED" if related else "NOT RELATED"


def build_ae(
    subject: Subject, events: list[dict[str, Any]], ctx: StudyContext
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """AE rows (events starting on or before the cut, in start order) and SUPPAE: treatment
    emergence (MT.TRTEM) and the relationship to each study drug.

    AETERM is the reported term, or its CTCAE term when the verbatim is not English
    (mmtrial.cdisc.text); AEDECOD is the CTCAE v5.0 term (else the reported term, as the
    analysis does); AEBODSYS its SOC; an end after the cut is not yet known (AEENRTPT = ONGOING
    at AEENTPT = the cut).
    """
    rows, supp = [], []
    ct = ctx.ct
    ny = ct.codelist("NY")
    for event in events:
        start = event["start_date"]
        if start > ctx.cut:
            continue
        seq = len(rows) + 1
        record = f"AESEQ={seq}"
        fix = f"adverse event form of {subject.subjid} starting {start}: enter the CTCAE term"
        common = {
            "findings": ctx.findings,
            "dataset": "AE",
            "usubjid": subject.usubjid,
            "record": record,
        }
        decod = english_text(event["ctcae_term"], variable="AEDECOD", fix=fix, **common)
        term = english_text(
            event["term"],
            variable="AETERM",
            coded=decod,
            fix=fix + " or an English verbatim",
            **common,
        )
        decod = decod or term
        soc = ct.ctcae_soc.get(decod.lower()) if decod else None
        if decod and soc is None:
            ctx.findings.add(
                "MMT-DATA-001",
                f"CTCAE term {decod!r} has no system organ class in ctcae_soc.yaml: AEBODSYS empty",
                dataset="AE", variable="AEBODSYS", usubjid=subject.usubjid, record=record,
                fix="add the term and its SOC to mmtrial/cdisc/data/ctcae_soc.yaml",
            )  # fmt: skip
        end = event["end_date"] if event["end_date"] and event["end_date"] <= ctx.cut else None
        attribution = event["attribution"] or {}
        actions = {
            drug: value
            for drug, value in (event.get("actions") or {}).items()
            if drug in ctx.protocol.drugs
        }
        action = _action(event, actions)
        code = event.get("meddra_code") or None
        rows.append(
            {
                "STUDYID": ctx.studyid,
                "DOMAIN": "AE",
                "USUBJID": subject.usubjid,
                "AESEQ": seq,
                "AETERM": term,
                "AELLT": decod if code else None,
                "AELLTCD": int(code) if code else None,
                "AEDECOD": decod,
                "AEPTCD": None,  # not derivable without MedDRA (define.xml comment)
                "AEBODSYS": soc,
                "AESER": ny.term("Y" if event["serious"] else "N").value,
                "AEACN": ct.value("ACN", action) if action else None,
                "AEREL": _relationship(any(attribution.values())) if attribution else None,
                "AEOUT": ct.value("OUT", event["outcome"]) if event.get("outcome") else None,
                **_seriousness(event, ny),
                "AETOXGR": str(event["grade"]),
                "EPOCH": derive_var_epoch(
                    start, first_dose=subject.first_dose, end_of_treatment=subject.eot_date
                ),
                "AESTDTC": iso(start),
                "AEENDTC": iso(end),
                "AESTDY": derive_var_dy(start, rfstdt=subject.first_dose),
                "AEENDY": derive_var_dy(end, rfstdt=subject.first_dose),
                "AEENRTPT": ct.value("STENRF", "ONGOING") if end is None else None,
                "AEENTPT": iso(ctx.cut) if end is None else None,
            }
        )
        emergent = subject.first_dose is not None and start >= subject.first_dose
        supp.append(
            supp_row(ctx, "AE", subject.usubjid, "AESEQ", seq, "AETRTEM",
                     ny.term("Y" if emergent else "N").value, origin="Derived")
        )  # fmt: skip
        for drug, related in attribution.items():
            if drug in ctx.protocol.drugs:
                supp.append(
                    supp_row(ctx, "AE", subject.usubjid, "AESEQ", seq, f"AEREL{drug[:3].upper()}",
                             _relationship(bool(related)), origin="Collected",
                             evaluator=ct.value("EVAL", "INVESTIGATOR"))
                )  # fmt: skip
        for drug, value in actions.items():
            supp.append(
                supp_row(ctx, "AE", subject.usubjid, "AESEQ", seq, f"AEACN{drug[:3].upper()}",
                         ct.value("ACN", value), origin="Collected")
            )  # fmt: skip
    return rows, supp


# ICH E2A seriousness criteria: SDTM flag -> AdverseEvent field.
SERIOUSNESS_FLAGS = {
    "AESCONG": "sae_congenital_anomaly",
    "AESDISAB": "sae_disability",
    "AESDTH": "sae_death",
    "AESHOSP": "sae_hospitalization",
    "AESLIFE": "sae_life_threatening",
    "AESMIE": "sae_other_important",
}


def _seriousness(event: dict[str, Any], ny) -> dict[str, str | None]:
    """Y/N per ICH E2A criterion; empty for a serious event recorded before the criteria were
    collected (none flagged), where N would contradict AESER = Y."""
    flags = {name: bool(event.get(field)) for name, field in SERIOUSNESS_FLAGS.items()}
    if event["serious"] and not any(flags.values()):
        return dict.fromkeys(flags)
    return {name: ny.term("Y" if flag else "N").value for name, flag in flags.items()}


def _action(event: dict[str, Any], actions: dict[str, str]) -> str | None:
    """AEACN (MT.AEACN): the drugs' common action, MULTIPLE when they differ; else the form's
    single action of older records."""
    if actions:
        distinct = set(actions.values())
        return distinct.pop() if len(distinct) == 1 else "MULTIPLE"
    action = AE_ACTIONS_CDISC.get(event["action_taken"])
    if event["led_to_discontinuation"]:
        action = AE_ACTIONS_CDISC["treatment_discontinued"]
    return action
