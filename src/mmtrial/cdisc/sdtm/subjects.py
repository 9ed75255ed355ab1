"""The subjects of a package and the study facts every domain needs (a `StudyContext`).

A `Subject` joins the EDC's participant record (mmtrial.edc.selectors.export) with the
analysis facts of mmtrial.edc.selectors.analysis (first and last dose, death, last known alive
at the data cut), so DM, the other domains and ADSL tell the same dates.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from mmtrial.cdisc.ct import Terminology
from mmtrial.cdisc.findings import Findings
from mmtrial.protocol.models import Protocol

__all__ = ["StudyContext", "Subject", "derive_var_subjid", "derive_var_usubjid", "subjects_from"]


def derive_var_subjid(participant: dict[str, Any]) -> str:
    """SUBJID: the EDC subject ID; a screen failure (no subject ID) is site-screening number."""
    return (
        participant["subject_id"] or f"{participant['site_code']}-{participant['screening_number']}"
    )


def derive_var_usubjid(studyid: str, subjid: str) -> str:
    """USUBJID: STUDYID-SUBJID (unique across studies of the sponsor; SDTMIG 3.4 4.1.2.3)."""
    return f"{studyid}-{subjid}"


def _date(value: Any) -> dt.date | None:
    if value is None or value != value:  # None or NaN
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class Subject:
    pk: int
    usubjid: str
    subjid: str
    analysis_id: str | None  # the `usubjid` of the analysis frames (enrolled participants)
    site: str
    site_timezone: str
    sex: str
    year_of_birth: int
    race: str  # edc Race key; blank when not collected
    ethnicity: str  # edc Ethnicity key; blank when not collected
    status: str
    protocol_version: str
    consent: dt.date
    enrolled: dt.date | None
    first_dose: dt.date | None  # RFXSTDTC: C1D1 on or before the cut
    last_dose: dt.date | None  # RFXENDTC
    eot: dict[str, Any] | None  # end of treatment dated on or before the cut
    death: dict[str, Any] | None  # death dated on or before the cut
    last_alive: dt.date | None
    screening: dict[str, Any] | None

    @property
    def screen_failed(self) -> bool:
        return self.enrolled is None

    @property
    def eot_date(self) -> dt.date | None:
        return None if self.eot is None else self.eot["last_dose_date"]

    @property
    def death_date(self) -> dt.date | None:
        return None if self.death is None else self.death["death_date"]

    @property
    def screening_values(self) -> dict[str, Any]:
        return (self.screening or {}).get("values") or {}

    @property
    def screened_on(self) -> dt.date | None:
        return (self.screening or {}).get("screened_on")


@dataclass
class StudyContext:
    """Study-wide facts: protocol, data cut, terminology, findings of this export."""

    protocol: Protocol
    cut: dt.date
    ct: Terminology
    findings: Findings
    #: largest cycle and follow-up contact number among the visits written (for TV)
    max_cycle: int = 1
    max_follow_up: int = 0
    subjects: int = 0
    extras: dict[str, Any] = field(default_factory=dict)
    #: a randomized study: analysis id -> allocated arm id, for a reader who may see the arms;
    #: None while the export is blinded (DM then carries no arm)
    subject_arms: dict[str, str] | None = None

    @property
    def studyid(self) -> str:
        return self.protocol.identification.study_id

    @property
    def drugs(self) -> list[str]:
        return list(self.protocol.drugs)

    def drug_name(self, drug: str) -> str:
        return self.protocol.drugs[drug].name.upper()

    @property
    def armcd(self) -> str:
        """The arm code: the initials of the protocol's drugs (IRD for ixazomib, ...)."""
        return "".join(self.protocol.drugs[d].name[0].upper() for d in self.drugs)

    @property
    def arm(self) -> str:
        return " + ".join(self.protocol.drugs[d].name for d in self.drugs)

    @property
    def arms(self) -> list[tuple[str, str]]:
        """(ARMCD, ARM) of every planned arm: the protocol's arms, or the single regimen."""
        if self.protocol.arms:
            return [(a.id, a.name) for a in self.protocol.arms]
        return [(self.armcd, self.arm)]

    def subject_arm(self, analysis_id: str | None) -> tuple[str, str] | None:
        """The subject's (ARMCD, ARM): the single arm, or the allocated one when visible
        (`analysis_id`: the subject's id in the analysis frames, as `subject_arms` keys it)."""
        if not self.protocol.randomized:
            return self.armcd, self.arm
        arm_id = (self.subject_arms or {}).get(analysis_id or "")
        if arm_id is None:
            return None
        return arm_id, dict(self.arms)[arm_id]


def subjects_from(
    participants: list[dict[str, Any]],
    *,
    analysis_rows: dict[str, dict[str, Any]],
    studyid: str,
    cut: dt.date,
) -> list[Subject]:
    """Subjects ordered by USUBJID; `analysis_rows` = the analysis participants frame's rows by
    their usubjid (subject ID, else screening number)."""
    subjects = []
    for p in participants:
        subjid = derive_var_subjid(p)
        enrolled = p["enrolled_on"] if p["enrolled_on"] and p["enrolled_on"] <= cut else None
        analysis_id = (p["subject_id"] or p["screening_number"]) if enrolled else None
        facts = analysis_rows.get(analysis_id or "", {})
        eot = p["end_of_treatment"]
        death = p["death"]
        subjects.append(
            Subject(
                pk=p["pk"],
                usubjid=derive_var_usubjid(studyid, subjid),
                subjid=subjid,
                analysis_id=analysis_id,
                site=p["site_code"],
                site_timezone=p["site_timezone"],
                sex=p["sex"],
                year_of_birth=p["year_of_birth"],
                race=p.get("race", ""),
                ethnicity=p.get("ethnicity", ""),
                status=p["status"],
                protocol_version=p["protocol_version"],
                consent=p["consent_date"],
                enrolled=enrolled,
                first_dose=_date(facts.get("first_dose_date")),
                last_dose=_date(facts.get("last_dose_date")),
                eot=eot if eot and eot["last_dose_date"] <= cut else None,
                death=death if death and death["death_date"] <= cut else None,
                last_alive=_date(facts.get("last_known_alive_date")),
                screening=p["screening"],
            )
        )
    subjects.sort(key=lambda s: s.usubjid)
    return subjects
