"""DM: one record per subject (enrolled participants and screen failures)."""

from __future__ import annotations

from typing import Any

from mmtrial.cdisc.sdtm.subjects import StudyContext, Subject
from mmtrial.cdisc.sdtm.timing import iso

__all__ = ["SEX_CDISC", "build_dm", "derive_var_country"]

#: EDC sex -> CDISC SEX (C66731)
SEX_CDISC = {"female": "F", "male": "M"}
ARMNRS_SCREEN_FAILURE = "SCREEN FAILURE"
ARMNRS_NOT_TREATED = "ASSIGNED, NOT TREATED"


def _coded(ct, codelist: str, key: str) -> str | None:
    """The EDC's key (`asian`, `not_hispanic_or_latino`) as the codelist's submission value
    (ASIAN, NOT HISPANIC OR LATINO); None when not collected."""
    return ct.value(codelist, key.replace("_", " ").upper()) if key else None


def derive_var_country(subject: Subject, ctx: StudyContext) -> str | None:
    """COUNTRY: the site's time zone mapped to ISO 3166-1 alpha-3 (MT.COUNTRY); a zone without a
    mapping leaves COUNTRY empty and is reported."""
    country = ctx.ct.site_time_zone_country.get(subject.site_timezone)
    if country is None:
        ctx.findings.add(
            "MMT-DATA-001",
            f"site time zone {subject.site_timezone!r} has no country mapping: COUNTRY left empty",
            dataset="DM",
            variable="COUNTRY",
            usubjid=subject.usubjid,
            fix="add the zone to site_time_zone_country in controlled_terminology.yaml",
        )
    return country


def _age(subject: Subject) -> int | None:
    value = subject.screening_values.get("age_years")
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def build_dm(subjects: list[Subject], ctx: StudyContext) -> list[dict[str, Any]]:
    """DM rows. Rules in sdtm_spec.yaml (MT.ARM, MT.RFXENDTC, MT.RFPENDTC, MT.AGE)."""
    ct = ctx.ct
    names = dict(ctx.arms)
    rows = []
    for s in subjects:
        dosed = s.first_dose is not None
        if s.screen_failed:
            arm = actarm = None
            armnrs = ARMNRS_SCREEN_FAILURE
            end_of_participation = s.screened_on or s.consent
        else:
            planned = ctx.subject_arm(s.analysis_id)  # None: a blinded export of a randomized study
            arm = planned[0] if planned else None
            actarm = arm if dosed else None
            armnrs = None if dosed or planned is None else ARMNRS_NOT_TREATED
            end_of_participation = s.death_date or s.last_alive
        rows.append(
            {
                "STUDYID": ctx.studyid,
                "DOMAIN": "DM",
                "USUBJID": s.usubjid,
                "SUBJID": s.subjid,
                "RFSTDTC": iso(s.first_dose),
                "RFENDTC": iso(s.last_dose if dosed else None),
                "RFXSTDTC": iso(s.first_dose),
                "RFXENDTC": iso(s.last_dose if dosed else None),
                "RFICDTC": iso(s.consent),
                "RFPENDTC": iso(end_of_participation),
                "DTHDTC": iso(s.death_date),
                "DTHFL": ct.value("NY", "Y") if s.death_date else None,
                "SITEID": s.site,
                "BRTHDTC": str(s.year_of_birth),
                "AGE": _age(s),
                "AGEU": ct.value("AGEU", "YEARS") if _age(s) is not None else None,
                "SEX": ct.value("SEX", SEX_CDISC[s.sex]) if s.sex in SEX_CDISC else None,
                "RACE": _coded(ct, "RACE", s.race),
                "ETHNIC": _coded(ct, "ETHNIC", s.ethnicity),
                "ARMCD": arm,
                "ARM": names.get(arm),
                "ACTARMCD": actarm,
                "ACTARM": names.get(actarm),
                "ARMNRS": ct.value("ARMNRS", armnrs) if armnrs else None,
                "ACTARMUD": None,
                "COUNTRY": derive_var_country(s, ctx),
            }
        )
    return rows
