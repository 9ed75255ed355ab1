"""The study as plain frames for the analysis (`mmtrial analyze` / `mmtrial report` without
--adam, and the CDISC export): one `mmtrial.analysis.derive.StudySource`.

`analysis_source(user=..., data_cut_date=...)` reads every enrolled participant the user may
export (Action.EXPORT; `user=None` = the whole study, for a statistician's shell or a script that
already runs with database access) in a fixed number of queries, and hands over plain data. The
ADaM derivations (ADSL, ADRS, ADTTE, ADLB) are `mmtrial.analysis.derive`'s, not ours.

What each value is, and where it comes from (SAP, protocol section 11):

- The enrolled population: participants with an enrolment date (on or before the data cut);
  screen failures and participants still in screening are not in it. `usubjid` = subject id.
- `first_dose_date` = C1D1 (the start of cycle 1 is its first dose: study day 1).
- Doses: the EDC plans every dose of a started cycle and the site records the exceptions
  (taken reduced, held, missed). A planned dose dated on or before the data cut, the end of
  treatment (EOT last dose) and the death, and never recorded, counts as taken as planned; the
  exposure frame flags such cycles (`ASSUMFL = Y`). Doses after those dates are not exposure.
- `last_dose_date`: the EOT's last dose date when the EOT is dated on or before the cut; else
  the last dose given (as above).
- `on_treatment`: dosed, no EOT and no death on or before the cut.
- `death_date` (on or before the cut), `death_due_to_pd` = cause "progressive_disease".
- `last_known_alive_date`: the latest lab sample, visit, disease assessment, dose given or
  follow-up contact on or before the cut.
- `new_therapy_date`: the earliest new anticancer therapy reported at a follow-up contact
  (contact and start on or before the cut).
- Responses: the participant's IMWG input is gathered by the same builder that stores the
  responses (`edc.services.responses`), assessments after the cut are dropped, and
  `clinical.imwg.assess_many` derives the result (so a data cut re-derives confirmations as they
  stood; without a cut the result equals the stored ResponseSummary of the same engine version).
  `measurable_disease` = the engine followed at least one measurable parameter at baseline.
- The data cut: `data_cut_date`, else the latest date of any data recorded for the participants
  in scope (a snapshot of everything entered). It is every row's `data_cut_date` (ADSL DCUTDT).

Adverse events (ADAE-like, columns of `mmtrial.analysis.safety`): AEs starting on or before the
cut; AEDECOD = the CTCAE term (else the reported term); TRTEMFL = Y when starting on or after the
first dose; an end date after the cut is not yet known (AEENDT empty); AEACN in CDISC terms.
Exposure (EX-like, `mmtrial.analysis.exposure`): one row per participant, drug and cycle.
EXPLDOS = the mg planned for the cycle by the EDC (the cycle's dose level, after the dose rules),
so relative dose intensity measures doses given against the cycle's plan; DOSREDFL = Y when the
cycle's dose decision lowered the drug's dose level or a dose was taken reduced; HELDFL = Y when
a dose was held or missed.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Max, QuerySet

from mmtrial.clinical import imwg
from mmtrial.clinical.toxicity_terms import ctcae_term, normalize
from mmtrial.edc.models import (
    AdverseEvent,
    Cycle,
    DiseaseAssessment,
    DoseAdministration,
    FollowUpContact,
    LabResult,
    Participant,
    Visit,
)
from mmtrial.edc.models.treatment import CycleStatus, DoseStatus
from mmtrial.edc.permissions import Action, authorize, scope_to_sites

# The bulk form of the builder that `response_derive` stores responses from: one gathering rule.
from mmtrial.edc.services.responses import _inputs as imwg_inputs_build

if TYPE_CHECKING:
    from mmtrial.analysis.derive import StudySource

__all__ = ["AE_ACTIONS_CDISC", "analysis_source"]

DEATH_CAUSE_PD = "progressive_disease"
DOSE_DECISION_REDUCE = "reduce"  # clinical.dosing DoseChange.kind
#: dose rows fetched at a time: memory holds one batch, not the study's 1.4 M doses of 10,000
DOSE_CHUNK = 20000

#: EDC action taken -> CDISC AEACN (NCI C66767); "other" has no CDISC term and stays empty.
AE_ACTIONS_CDISC = {
    "none": "DOSE NOT CHANGED",
    "dose_held": "DRUG INTERRUPTED",
    "dose_reduced": "DOSE REDUCED",
    "drug_discontinued": "DRUG WITHDRAWN",
    "treatment_discontinued": "DRUG WITHDRAWN",
}
_GIVEN = (DoseStatus.TAKEN, DoseStatus.REDUCED)
_NOT_GIVEN = (DoseStatus.HELD, DoseStatus.MISSED)

PARTICIPANT_COLUMNS = [
    "usubjid",
    "site",
    "first_dose_date",
    "last_dose_date",
    "death_date",
    "death_due_to_pd",
    "last_known_alive_date",
    "new_therapy_date",
    "measurable_disease",
    "data_cut_date",
    "on_treatment",
]
AE_COLUMNS = [
    "USUBJID",
    "AETERM",
    "AEDECOD",
    "AETOXGR",
    "AESER",
    "AEACN",
    "AREL",
    "AESTDT",
    "AEENDT",
    "ASTDY",
    "TRTEMFL",
]
EXPOSURE_COLUMNS = [
    "USUBJID",
    "EXTRT",
    "CYCLE",
    "EXDOSE",
    "EXPLDOS",
    "EXDOSU",
    "EXSTDT",
    "EXENDT",
    "DOSREDFL",
    "HELDFL",
    "ASSUMFL",
]


def _one_to_one(participant: Participant, name: str):
    """The related record unless it is absent or soft-deleted."""
    try:
        record = getattr(participant, name)
    except ObjectDoesNotExist:
        return None
    return None if record is None or record.is_deleted else record


def _enrolled(user, data_cut_date: dt.date | None) -> QuerySet[Participant]:
    queryset = Participant.objects.filter(is_deleted=False, enrolled_on__isnull=False)
    if data_cut_date is not None:
        queryset = queryset.filter(enrolled_on__lte=data_cut_date)
    if user is not None:
        authorize(user, Action.EXPORT)
        queryset = scope_to_sites(queryset, user, Action.EXPORT)
    return queryset


def _latest_by_participant(
    model, date_field: str, enrolled, *, cut: dt.date | None, **filters
) -> dict[int, dt.date]:
    if cut is not None:
        filters[f"{date_field}__lte"] = cut
    rows = (
        model.objects.filter(participant__in=enrolled, is_deleted=False, **filters)
        .order_by()
        .values("participant_id")
        .annotate(latest=Max(date_field))
    )
    return {row["participant_id"]: row["latest"] for row in rows if row["latest"] is not None}


def _cap(*dates: dt.date | None) -> dt.date | None:
    known = [d for d in dates if d is not None]
    return min(known) if known else None


class _Gathered:
    """What the analysis reads, one query per table (dated maxima already limited to the cut)."""

    def __init__(self, enrolled: QuerySet[Participant], *, cut: dt.date | None) -> None:
        self.participants = list(
            enrolled.select_related("site", "end_of_treatment", "death").order_by(
                "subject_id", "pk"
            )
        )
        self.eot = {p.pk: _one_to_one(p, "end_of_treatment") for p in self.participants}
        self.death = {p.pk: _one_to_one(p, "death") for p in self.participants}
        # dose levels lowered by the cycle's dose decision (clinical.dosing), per drug
        self.reduced_at_start = {
            (pk, number, change.get("drug"))
            for pk, number, changes in Cycle.objects.filter(
                participant__in=enrolled,
                is_deleted=False,
                status__in=[CycleStatus.STARTED, CycleStatus.COMPLETED],
            ).values_list("participant_id", "number", "decision__changes")
            for change in changes or []
            if change.get("kind") == DOSE_DECISION_REDUCE
        }
        # streamed (`doses()`), never held in full: about 140 rows per participant, the largest table
        self._doses = DoseAdministration.objects.filter(
            cycle__participant__in=enrolled,
            is_deleted=False,
            cycle__is_deleted=False,
            cycle__status__in=[CycleStatus.STARTED, CycleStatus.COMPLETED],
        )
        self.labs = _latest_by_participant(LabResult, "collected_on", enrolled, cut=cut)
        self.visits = _latest_by_participant(
            Visit, "actual_date", enrolled, cut=cut, actual_date__isnull=False
        )
        self.diseases = _latest_by_participant(DiseaseAssessment, "assessed_on", enrolled, cut=cut)
        self.contacts = list(
            FollowUpContact.objects.filter(participant__in=enrolled, is_deleted=False).values_list(
                "participant_id",
                "contact_date",
                "new_anticancer_therapy",
                "new_therapy_start_date",
            )
        )
        self.adverse_events = list(
            AdverseEvent.objects.filter(participant__in=enrolled, is_deleted=False)
            .order_by("participant_id", "start_date", "pk")
            .values(
                "participant_id",
                "term",
                "ctcae_term",
                "grade",
                "serious",
                "action_taken",
                "led_to_discontinuation",
                "attribution",
                "start_date",
                "end_date",
                "meddra_code",
            )
        )

    def doses(self) -> Iterator[tuple]:
        """(participant, cycle number, drug, date, status, planned mg, taken mg) of each dose."""
        return self._doses.values_list(
            "cycle__participant_id",
            "cycle__number",
            "drug",
            "date",
            "status",
            "planned_dose_mg",
            "taken_dose_mg",
        ).iterator(chunk_size=DOSE_CHUNK)

    def latest_date(self) -> dt.date | None:
        """The latest date of anything recorded (planned, unrecorded doses do not count)."""
        dates = [*self.labs.values(), *self.visits.values(), *self.diseases.values()]
        recorded = self._doses.exclude(status=DoseStatus.PLANNED).aggregate(latest=Max("date"))
        dates.append(recorded["latest"])
        dates += [c[1] for c in self.contacts]
        dates += [ae["end_date"] or ae["start_date"] for ae in self.adverse_events]
        for p in self.participants:
            dates += [p.enrolled_on, p.c1d1_date]
            dates += [r.last_dose_date for r in (self.eot[p.pk],) if r is not None]
            dates += [r.death_date for r in (self.death[p.pk],) if r is not None]
        known = [d for d in dates if d is not None]
        return max(known) if known else None


def _dose_rows(gathered: _Gathered, *, first_dose, ends) -> list[dict[str, Any]]:
    """Per participant, drug and cycle: given and planned mg by the rule in the module doc."""
    cycles: dict[tuple, dict[str, Any]] = {}
    for pk, number, drug, day, status, planned, taken in gathered.doses():
        if first_dose.get(pk) is None or day > ends[pk]:
            continue
        planned_mg = planned or Decimal(0)
        if status in _GIVEN:
            given_mg = taken or Decimal(0)
        elif status in _NOT_GIVEN:
            given_mg = Decimal(0)
        else:  # planned, never recorded: taken as planned (exceptions are recorded)
            given_mg = planned_mg
        row = cycles.setdefault(
            (pk, drug, number),
            {"given": Decimal(0), "planned": Decimal(0), "dates": [], "flags": set()},
        )
        row["given"] += given_mg
        row["planned"] += planned_mg
        if given_mg > 0:
            row["dates"].append(day)
        row["flags"].add(status)
    return [
        {
            "pk": pk,
            "EXTRT": drug,
            "CYCLE": number,
            "EXDOSE": float(row["given"]),
            "EXPLDOS": float(row["planned"]),
            "EXDOSU": "mg",
            "EXSTDT": min(row["dates"], default=None),
            "EXENDT": max(row["dates"], default=None),
            "DOSREDFL": "Y"
            if DoseStatus.REDUCED in row["flags"] or (pk, number, drug) in gathered.reduced_at_start
            else "N",
            "HELDFL": "Y" if row["flags"] & set(_NOT_GIVEN) else "N",
            "ASSUMFL": "Y" if DoseStatus.PLANNED in row["flags"] else "N",
        }
        for (pk, drug, number), row in sorted(cycles.items(), key=lambda item: item[0])
    ]


def _responses(gathered: _Gathered, *, cut: dt.date, first_dose, usubjid):
    dosed = [p for p in gathered.participants if first_dose.get(p.pk) is not None]
    inputs = imwg_inputs_build(dosed)
    cut_iso = cut.isoformat()
    by_subject: dict[str, dict[str, Any]] = {}
    for p in dosed:
        data = inputs.get(p.pk)
        if data is None:
            continue
        assessments = [a for a in data["assessments"] if a["date"] <= cut_iso]
        by_subject[usubjid[p.pk]] = {**data, "assessments": assessments}
    return by_subject, imwg.assess_many(by_subject.items())


def _coded_term(ae: dict) -> str:
    """The CTCAE v5.0 term as CTCAE writes it ("platelet_count_decreased" and "Platelet count
    decreased" are one term); a term outside CTCAE as entered; the verbatim for an event
    recorded without a CTCAE term."""
    if not ae["ctcae_term"]:
        return ae["term"]
    coded = ctcae_term(normalize(ae["ctcae_term"]))
    return coded.term if coded is not None else ae["ctcae_term"]


def _adverse_events(gathered: _Gathered, *, cut: dt.date, first_dose, usubjid) -> list[dict]:
    rows = []
    for ae in gathered.adverse_events:
        start = ae["start_date"]
        if start > cut:
            continue
        pk = ae["participant_id"]
        first = first_dose.get(pk)
        attribution = ae["attribution"] or {}
        action = AE_ACTIONS_CDISC.get(ae["action_taken"])
        if ae["led_to_discontinuation"]:
            action = AE_ACTIONS_CDISC["treatment_discontinued"]
        day = None if first is None else (start - first).days
        rows.append(
            {
                "USUBJID": usubjid[pk],
                "AETERM": ae["term"],
                "AEDECOD": _coded_term(ae),
                "AETOXGR": ae["grade"],
                "AESER": "Y" if ae["serious"] else "N",
                "AEACN": action,
                "AREL": (
                    ("RELATED" if any(attribution.values()) else "NOT RELATED")
                    if attribution
                    else None
                ),
                "AESTDT": start,
                "AEENDT": ae["end_date"] if ae["end_date"] and ae["end_date"] <= cut else None,
                "ASTDY": None if day is None else (day + 1 if day >= 0 else day),
                "TRTEMFL": "Y" if first is not None and start >= first else "N",
            }
        )
    return rows


def analysis_source(*, user=None, data_cut_date: dt.date | None = None) -> StudySource:
    """The enrolled participants' data as a `StudySource`, as it stood at the data cut.

    `user`: scope to the sites where the user may export (PermissionDenied if nowhere);
    None = the whole study. `data_cut_date`: data after it is left out; None = no cut, and the
    cut reported is the latest date of any recorded data. Rules in the module docstring.
    A fixed number of queries whatever the number of participants (chunks of 500 for the IMWG
    inputs).
    """
    import pandas as pd

    from mmtrial.analysis.derive import StudySource

    gathered = _Gathered(_enrolled(user, data_cut_date), cut=data_cut_date)
    cut = data_cut_date or gathered.latest_date()
    participants = gathered.participants
    if cut is None:  # nobody enrolled
        return StudySource(participants=pd.DataFrame(columns=PARTICIPANT_COLUMNS))
    usubjid = {p.pk: p.subject_id or p.screening_number for p in participants}
    first_dose = {
        p.pk: p.c1d1_date if p.c1d1_date and p.c1d1_date <= cut else None for p in participants
    }
    death = {
        pk: d.death_date if d is not None and d.death_date <= cut else None
        for pk, d in gathered.death.items()
    }
    eot_last = {
        pk: e.last_dose_date if e is not None and e.last_dose_date <= cut else None
        for pk, e in gathered.eot.items()
    }
    ends = {p.pk: _cap(cut, eot_last[p.pk], death[p.pk]) for p in participants}
    doses = _dose_rows(gathered, first_dose=first_dose, ends=ends)
    last_given: dict[int, dt.date] = {}
    for row in doses:
        if row["EXENDT"] is not None:
            last_given[row["pk"]] = max(row["EXENDT"], last_given.get(row["pk"], row["EXENDT"]))
    alive: dict[int, list[dt.date]] = defaultdict(list)
    new_therapy: dict[int, dt.date] = {}
    for pk, contact_date, new, start in gathered.contacts:
        if contact_date > cut:
            continue
        alive[pk].append(contact_date)
        if new and start is not None and start <= cut:
            new_therapy[pk] = min(start, new_therapy.get(pk, start))
    inputs, results = _responses(gathered, cut=cut, first_dose=first_dose, usubjid=usubjid)
    rows = []
    for p in participants:
        pk = p.pk
        seen = alive[pk] + [
            latest[pk]
            for latest in (gathered.labs, gathered.visits, gathered.diseases, last_given)
            if pk in latest
        ]
        result = results.get(usubjid[pk])
        dosed = first_dose[pk] is not None
        cause = gathered.death[pk].cause if death[pk] else None
        rows.append(
            {
                "usubjid": usubjid[pk],
                "site": p.site.code,
                "first_dose_date": first_dose[pk],
                "last_dose_date": (eot_last[pk] or last_given.get(pk)) if dosed else None,
                "death_date": death[pk],
                "death_due_to_pd": cause == DEATH_CAUSE_PD,
                "last_known_alive_date": max(seen) if seen else None,
                "new_therapy_date": new_therapy.get(pk),
                "measurable_disease": bool(result.followed) if result is not None else None,
                "data_cut_date": cut,
                "on_treatment": dosed and eot_last[pk] is None and death[pk] is None,
            }
        )
    ae_rows = _adverse_events(gathered, cut=cut, first_dose=first_dose, usubjid=usubjid)
    exposure = pd.DataFrame(
        [{"USUBJID": usubjid[r.pop("pk")], **r} for r in doses], columns=EXPOSURE_COLUMNS
    )
    return StudySource(
        participants=pd.DataFrame(rows, columns=PARTICIPANT_COLUMNS),
        responses=results,
        imwg_inputs=inputs,
        adverse_events=pd.DataFrame(ae_rows, columns=AE_COLUMNS),
        exposure=exposure,
    )
