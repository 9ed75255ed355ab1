"""What the API reads and writes, with units in the names (design rule 6).

Numbers stored as decimals are given as their exact text ("2.4000"), dates as ISO dates. Every
record carries its `version`: the `ETag` of its own URL is `"<version>"`, and a change sends it
back in `If-Match`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from django.utils.translation import gettext
from ninja import Schema
from pydantic import Field

from mmtrial.clinical.imwg_criteria import CRITERIA as IMWG_CRITERIA
from mmtrial.clinical.imwg_findings import confirmation_parameters, finding_parameters
from mmtrial.clinical.imwg_reasons import confirmation_phrase, finding_phrase, phrase_text

__all__ = [
    "AdverseEventIn",
    "AdverseEventOut",
    "AdverseEventUpdate",
    "AuditEventOut",
    "DiseaseAssessmentOut",
    "DoseOut",
    "DoseUpdate",
    "LabResultIn",
    "LabResultOut",
    "LabResultUpdate",
    "ParticipantOut",
    "QueryAnswerIn",
    "QueryOut",
    "ReasonOut",
    "ResponseOut",
    "SignatureOut",
    "SiteOut",
    "TimelineOut",
    "VisitOut",
    "VisitUpdate",
]

Text = Annotated[str, Field(max_length=4000)]
ShortText = Annotated[str, Field(max_length=200)]
Reason = Annotated[str, Field(max_length=500, description="reason for change (audit trail)")]
Day = dt.date
Mg = Annotated[Decimal, Field(ge=0, le=100000, max_digits=9, decimal_places=2)]
IMWG_SOURCE = IMWG_CRITERIA.reference


class SiteOut(Schema):
    id: int
    code: str
    name: str
    name_ja: str
    timezone: str
    active: bool


class ParticipantOut(Schema):
    id: int
    version: int
    site_code: str
    screening_number: str
    subject_id: str | None
    sex: str
    year_of_birth: int
    race: str
    ethnicity: str
    protocol_version: str
    status: str
    consent_date: dt.date
    enrolled_on: dt.date | None
    c1d1_date: dt.date | None
    locked: bool
    is_deleted: bool
    best_overall_response: str | None

    @staticmethod
    def resolve_site_code(obj) -> str:
        return obj.site.code

    @staticmethod
    def resolve_best_overall_response(obj) -> str | None:
        summary = getattr(obj, "response_summary", None)
        return None if summary is None or summary.is_deleted else summary.best_overall_response


class LabResultOut(Schema):
    id: int
    version: int
    participant_id: int
    visit_id: int | None
    analyte: str
    value: Decimal | None = Field(description="in `unit`, the analyte's canonical unit")
    value_text: str
    unit: str
    reported_value: str
    reported_unit: str
    collected_on: dt.date
    source: str
    accession: str
    is_deleted: bool


class LabResultIn(Schema):
    analyte: Annotated[str, Field(min_length=1, max_length=40)]
    value: Annotated[str, Field(min_length=1, max_length=40, description="as reported")]
    unit: Annotated[str, Field(max_length=20, description="as reported; converted on entry")] = ""
    collected_on: Day
    source: Annotated[str, Field(pattern="^(central|local)$")] = "local"
    accession: Annotated[str, Field(max_length=64)] = ""
    visit_id: Annotated[int, Field(ge=1, le=2**53)] | None = None


class LabResultUpdate(Schema):
    reason: Reason
    value: Annotated[str, Field(min_length=1, max_length=40)] | None = None
    unit: Annotated[str, Field(max_length=20)] | None = None
    collected_on: Day | None = None


class VisitOut(Schema):
    id: int
    version: int
    participant_id: int
    code: str
    kind: str
    cycle_number: int | None
    day: int | None
    planned_date: dt.date
    window_start: dt.date
    window_end: dt.date
    actual_date: dt.date | None
    status: str
    weight_kg: Decimal | None
    notes: str
    locked: bool
    is_deleted: bool


class VisitUpdate(Schema):
    """Record the visit as done on `actual_date` (in or out of its window), or as missed."""

    actual_date: Day | None = None
    missed: bool = False
    weight_kg: Annotated[Decimal, Field(gt=0, le=500, max_digits=5, decimal_places=1)] | None = None
    notes: Text = ""
    reason: Reason = ""


class DoseOut(Schema):
    id: int
    version: int
    participant_id: int
    cycle_number: int
    drug: str
    day: int
    date: dt.date
    planned_dose_mg: Decimal | None
    taken_dose_mg: Decimal | None
    status: str
    reason: str
    is_deleted: bool

    @staticmethod
    def resolve_participant_id(obj) -> int:
        return obj.cycle.participant_id

    @staticmethod
    def resolve_cycle_number(obj) -> int:
        return obj.cycle.number


class DoseUpdate(Schema):
    status: Annotated[str, Field(pattern="^(taken|reduced|held|missed)$")]
    taken_dose_mg: Mg | None = None
    reason: Reason = ""


class AdverseEventOut(Schema):
    id: int
    version: int
    participant_id: int
    term: str
    ctcae_term: str
    grade: int
    start_date: dt.date
    end_date: dt.date | None
    serious: bool
    nonhematologic: bool
    with_pain: bool
    attribution: dict[str, bool]
    action_taken: str
    led_to_discontinuation: bool
    is_deleted: bool


class AdverseEventIn(Schema):
    term: Annotated[str, Field(min_length=1, max_length=200)]
    grade: Annotated[int, Field(ge=1, le=5, description="CTCAE v5 grade")]
    start_date: Day
    end_date: Day | None = None
    serious: bool = False
    attribution: dict[Annotated[str, Field(max_length=32)], bool] = Field(default_factory=dict)
    action_taken: Annotated[str, Field(max_length=40)] = "none"
    ctcae_term: ShortText = ""
    nonhematologic: bool = True
    with_pain: bool = False
    led_to_discontinuation: bool = False


class AdverseEventUpdate(Schema):
    reason: Reason
    term: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    grade: Annotated[int, Field(ge=1, le=5)] | None = None
    start_date: Day | None = None
    end_date: Day | None = None
    serious: bool | None = None
    attribution: dict[Annotated[str, Field(max_length=32)], bool] | None = None
    action_taken: Annotated[str, Field(max_length=40)] | None = None
    ctcae_term: ShortText | None = None
    nonhematologic: bool | None = None
    with_pain: bool | None = None
    led_to_discontinuation: bool | None = None


class DiseaseAssessmentOut(Schema):
    id: int
    version: int
    participant_id: int
    visit_id: int | None
    assessed_on: dt.date
    serum_ife: str
    urine_ife: str
    bone_marrow_plasma_cells_pct: Decimal | None
    bone_marrow_clonal_cells: str
    plasmacytoma_spd_cm2: Decimal | None
    new_lesion: bool
    is_deleted: bool


class ReasonOut(Schema):
    """A reason as a code with its parameters, and its text in the requested language."""

    code: str
    parameters: dict[str, Any]
    text: str
    source: str = ""


def reason_out(reason: dict[str, Any] | str) -> dict[str, Any]:
    """A stored reason (clinical.dosing `Reason`: rule, source, text, values; or an IMWG
    finding already in words) as code, parameters and translated text."""
    if isinstance(reason, str):
        return {"code": "imwg_finding", "parameters": {}, "text": gettext(reason), "source": ""}
    return {
        "code": str(reason.get("rule") or reason.get("id") or reason.get("kind") or "reason"),
        "parameters": dict(reason.get("values") or {}),
        "text": gettext(str(reason.get("text") or "")),
        "source": str(reason.get("source") or ""),
    }


class ResponseOut(Schema):
    id: int
    version: int
    participant_id: int
    assessment_date: dt.date
    derived_response: str
    derived_confirmed: bool
    investigator_response: str
    engine_version: str
    reasons: list[ReasonOut]
    is_deleted: bool

    @staticmethod
    def resolve_reasons(obj) -> list[dict[str, Any]]:
        explanation = obj.findings or {}
        if explanation.get("findings"):
            return imwg_reasons_out(
                confirmed=obj.derived_confirmed,
                findings=explanation["findings"],
                confirmation=explanation.get("confirmation"),
            )
        # Derived before the findings were stored: the engine's English, until re-derivation.
        return [reason_out(r) for r in obj.reasons or []]


def imwg_reasons_out(
    *, confirmed: bool, findings: list, confirmation: list | None
) -> list[dict[str, Any]]:
    """Stored IMWG findings as codes with named parameters and their text in the requested
    language (the phrases of clinical.imwg_reasons through the catalogue)."""
    out = []
    for finding in findings:
        code, parameters = finding_parameters(finding)
        text = phrase_text(finding_phrase(finding), gettext)
        out.append({"code": code, "parameters": parameters, "text": text, "source": IMWG_SOURCE})
    confirmation_out = confirmation_parameters(confirmed, confirmation)
    if confirmation_out is not None:
        code, parameters = confirmation_out
        text = phrase_text(confirmation_phrase(confirmed, confirmation), gettext)
        out.append({"code": code, "parameters": parameters, "text": text, "source": IMWG_SOURCE})
    return out


class QueryOut(Schema):
    id: int
    version: int
    participant_id: int
    model: str
    object_pk: str
    field: str
    text: str
    status: str
    origin: str
    opened_at: dt.datetime


class QueryAnswerIn(Schema):
    text: Annotated[str, Field(min_length=1, max_length=4000)]


class SignatureOut(Schema):
    id: int
    participant_id: int
    signer_username: str
    printed_name: str
    meaning: str
    signed_at: dt.datetime
    content_sha256: str
    status: str
    invalidated_at: dt.datetime | None
    invalidated_reason: str

    @staticmethod
    def resolve_signer_username(obj) -> str:
        return obj.signer.username


class AuditEventOut(Schema):
    id: int = Field(description="the audit sequence: pass it as changed_since")
    occurred_at: dt.datetime
    actor_username: str
    action: str
    model: str
    object_pk: str
    site_code: str
    subject: str
    changes: dict[str, Any]
    reason: str
    context: dict[str, Any]


class DoseChangeOut(Schema):
    drug: str
    from_mg: Decimal | None
    to_mg: Decimal | None
    kind: str
    reason: ReasonOut


class DecisionOut(Schema):
    """The protocol's dose decision at the cycle's start (clinical.dosing) and why."""

    decision: str
    doses_mg: dict[str, Decimal | None]
    changes: list[DoseChangeOut]
    reasons: list[ReasonOut]
    criteria: list[ReasonOut]
    proposals: list[ReasonOut]
    investigator_review_required: bool


class CycleOut(Schema):
    id: int
    version: int
    number: int
    start_date: dt.date
    status: str
    planned_doses_mg: dict[str, Decimal | None]
    engine_version: str
    decision: DecisionOut | None


def decision_out(decision: dict[str, Any]) -> dict[str, Any] | None:
    if not decision:
        return None
    criteria = []
    for c in decision.get("cycle_start_criteria") or []:
        criteria.append(
            {
                "code": str(c.get("id") or "criterion"),
                "parameters": {"value": c.get("value"), "threshold": c.get("threshold")},
                "text": gettext(str(c.get("text") or "")),
                "source": str(c.get("source") or ""),
                "met": c.get("met"),
            }
        )
    return {
        "decision": str(decision.get("decision") or ""),
        "doses_mg": decision.get("doses_mg") or {},
        "changes": [
            {
                "drug": c.get("drug", ""),
                "from_mg": c.get("from_mg"),
                "to_mg": c.get("to_mg"),
                "kind": c.get("kind", ""),
                "reason": reason_out(c),
            }
            for c in decision.get("changes") or []
        ],
        "reasons": [reason_out(r) for r in decision.get("reasons") or []],
        "criteria": criteria,
        "proposals": [reason_out(p) for p in decision.get("proposals") or []],
        "investigator_review_required": bool(decision.get("investigator_review_required")),
    }


class TimelineOut(Schema):
    participant: ParticipantOut
    cycles: list[CycleOut]
    doses: list[DoseOut]
    visits: list[VisitOut]
    labs: list[LabResultOut]
    disease_assessments: list[DiseaseAssessmentOut]
    responses: list[ResponseOut]
    best_overall_response: str | None
    adverse_events: list[AdverseEventOut]
    queries: list[QueryOut]
