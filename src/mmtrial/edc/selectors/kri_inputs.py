"""Reading the study's operational data for central monitoring: the `analysis.kri` input frames
and the enrollment dates of the forecast, in a fixed number of queries whatever the study size.

The KRIs compare every site with the study, so the frames hold every active site; what a user
is shown is cut to their sites where the page renders (`kri_sites_visible`). Facts are read as
they stand (deleted records left out):

- exposure: enrollment to the end of treatment's last dose, or death, or the as-of date;
- discontinued: an end of treatment for a reason other than progression or death;
- labs: the counts the protocol grades for cytopenias (`dose_modification.cytopenias`), each
  graded by CTCAE v5.0 (`clinical.ctcae.grade_lab`); a value that cannot be graded is left out;
- entry lag: from a visit's date to the day its date was first entered (the audit event; in
  the demo, the study day the event stands for);
- data points and changes: the fields of the clinical records' create and update audit events;
- deviations: the deviation records (withdrawn ones left out: their fact no longer holds).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pandas as pd

from mmtrial.analysis.enrollment_forecast import (
    EnrollmentForecast,
    ForecastNotEstimable,
    forecast_enrollment,
)
from mmtrial.analysis.kri import KriInputs, KriReport, site_kris
from mmtrial.clinical.ctcae import CtcaeInputError, grade_lab
from mmtrial.edc.models import (
    AdverseEvent,
    AuditEvent,
    Death,
    EndOfTreatment,
    LabResult,
    Participant,
    Query,
    Screening,
    Site,
)
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.models.trust import QueryStatus
from mmtrial.edc.permissions import ALL_SITES, Action, sites_allowed
from mmtrial.protocol.models import Protocol

__all__ = [
    "EnrollmentInputs",
    "enrollment_inputs",
    "kri_inputs",
    "kri_sites_visible",
    "study_enrollment_forecast",
    "study_kris",
]

# An end of treatment for these reasons is the disease's course, not a discontinuation.
NOT_DISCONTINUATION = frozenset({"progression", "death"})
# The records whose fields are the study's data points (the audit trail's model labels).
DATA_MODELS = (
    "participant",
    "screening",
    "visit",
    "labresult",
    "adverseevent",
    "cycle",
    "doseadministration",
    "diseaseassessment",
    "endoftreatment",
    "followupcontact",
    "death",
)
# The lab analytes the EDC stores for the protocol's cytopenia variables (edc.services.treatment).
COUNT_ANALYTES = {"platelets": "platelets_per_mm3", "anc": "anc_per_mm3"}


def kri_sites_visible(user) -> set[str] | None:
    """The site codes whose KRIs `user` may see: None for every site (monitor, data manager,
    sponsor), else the user's own sites (site staff never see another site's indicators)."""
    allowed = sites_allowed(user, Action.VIEW)
    if allowed is ALL_SITES:
        return None
    return set(Site.objects.filter(id__in=allowed).values_list("code", flat=True))


def _grade(term: str, value, unit: str, protocol: Protocol) -> int | None:
    """The CTCAE grade of a count; the LLN is not stored with a result, so a count above every
    absolute threshold (grades 2 to 4) is graded as if at its LLN (grade 0): grades >= 3 never
    depend on the LLN. None when the value cannot be graded (an unknown unit, ...)."""
    for lln in (None, value):
        try:
            return grade_lab(term=term, value=value, unit=unit, protocol=protocol, lln=lln).grade
        except CtcaeInputError:
            continue
    return None


def _site_codes() -> dict[int, str]:
    return dict(Site.objects.filter(active=True).values_list("id", "code"))


def _entered_on(event_time: dt.datetime, context: dict, zone: str) -> dt.date:
    stands_for = (context or {}).get("stands_for")
    if stands_for:
        return dt.date.fromisoformat(stands_for)
    return event_time.astimezone(ZoneInfo(zone)).date()


def kri_inputs(*, protocol: Protocol, as_of: dt.date) -> tuple[KriInputs, list[str]]:
    """The KRI frames of every active site, and the site codes (eleven queries)."""
    codes = _site_codes()
    zones = dict(Site.objects.filter(active=True).values_list("code", "timezone"))
    people = list(
        Participant.objects.filter(is_deleted=False, site_id__in=codes).values_list(
            "id", "site_id", "status", "enrolled_on"
        )
    )
    site_of = {pid: codes[site_id] for pid, site_id, _, _ in people}
    screened = set(
        Screening.objects.filter(is_deleted=False, participant_id__in=site_of).values_list(
            "participant_id", flat=True
        )
    )
    ends, reasons = {}, {}
    for pid, last_dose, reason in EndOfTreatment.objects.filter(
        is_deleted=False, participant_id__in=site_of
    ).values_list("participant_id", "last_dose_date", "reason"):
        ends[pid], reasons[pid] = last_dose, reason
    deaths = dict(
        Death.objects.filter(is_deleted=False, participant_id__in=site_of).values_list(
            "participant_id", "death_date"
        )
    )
    participants = pd.DataFrame(
        [
            {
                "site": site_of[pid],
                "participant_id": pid,
                "screened": pid in screened or status == ParticipantStatus.SCREEN_FAILED,
                "screen_failed": status == ParticipantStatus.SCREEN_FAILED,
                "enrolled_on": enrolled_on,
                "off_study_on": min(
                    (d for d in (ends.get(pid), deaths.get(pid)) if d is not None), default=None
                ),
                "discontinued": reasons.get(pid, "progression") not in NOT_DISCONTINUATION,
            }
            for pid, _site, status, enrolled_on in people
        ],
        columns=[
            "site", "participant_id", "screened", "screen_failed", "enrolled_on",
            "off_study_on", "discontinued",
        ],
    )  # fmt: skip
    adverse_events = pd.DataFrame(
        [
            {"site": site_of[pid], "grade": grade, "serious": serious}
            for pid, grade, serious in AdverseEvent.objects.filter(
                is_deleted=False, participant_id__in=site_of, start_date__lte=as_of
            ).values_list("participant_id", "grade", "serious")
        ],
        columns=["site", "grade", "serious"],
    )
    terms = {
        analyte: protocol.dose_modification.cytopenias[variable].ctcae_term
        for analyte, variable in COUNT_ANALYTES.items()
        if variable in protocol.dose_modification.cytopenias
    }
    lab_rows = []
    for pid, analyte, value, unit in LabResult.objects.filter(
        is_deleted=False,
        participant_id__in=site_of,
        analyte__in=list(terms),
        value__isnull=False,
        collected_on__lte=as_of,
    ).values_list("participant_id", "analyte", "value", "unit"):
        grade = _grade(terms[analyte], value, unit, protocol)
        if grade is not None:
            lab_rows.append({"site": site_of[pid], "grade": grade})
    labs = pd.DataFrame(lab_rows, columns=["site", "grade"])
    queries = pd.DataFrame(
        [
            {
                "site": site_of[pid],
                "opened_on": opened_at.astimezone(ZoneInfo(zones[site_of[pid]])).date(),
                "open": status != QueryStatus.CLOSED,
            }
            for pid, opened_at, status in Query.objects.filter(
                participant_id__in=site_of
            ).values_list("participant_id", "opened_at", "status")
        ],
        columns=["site", "opened_on", "open"],
    )
    from mmtrial.edc.models import Deviation
    from mmtrial.edc.models.deviations import DeviationStatus

    deviations = pd.DataFrame(
        [
            {"site": site_of[pid], "important": important}
            for pid, important in Deviation.objects.filter(
                participant_id__in=site_of, detected_on__lte=as_of
            )
            .exclude(status=DeviationStatus.WITHDRAWN)
            .values_list("participant_id", "important")
        ],
        columns=["site", "important"],
    )
    visits, points = _from_audit(site_of, zones)
    inputs = KriInputs(
        deviations=deviations,
        participants=participants,
        adverse_events=adverse_events,
        labs=labs,
        queries=queries,
        visits=visits,
        data_points=points,
    )
    return inputs, sorted(codes.values())


def _from_audit(site_of: dict[int, str], zones: dict[str, str]):
    """Visit entry dates and data points / changes per site, from the audit trail (one query,
    streamed)."""
    from mmtrial.edc.models import Visit

    visit_dates = {
        str(pk): (pid, actual)
        for pk, pid, actual in Visit.objects.filter(
            is_deleted=False, participant_id__in=site_of, actual_date__isnull=False
        ).values_list("id", "participant_id", "actual_date")
    }
    first_entry: dict[str, dt.date] = {}
    created: dict[str, int] = defaultdict(int)
    changed: dict[str, int] = defaultdict(int)
    events = AuditEvent.objects.filter(
        model__in=DATA_MODELS, action__in=("create", "update")
    ).values_list("model", "object_pk", "action", "site_code", "changes", "occurred_at", "context")
    for model, pk, action, site_code, changes, occurred_at, context in events.iterator(
        chunk_size=5000
    ):
        if site_code not in zones:
            continue
        fields = len(changes or {})
        (created if action == "create" else changed)[site_code] += fields
        if model == "visit" and pk in visit_dates and "actual_date" in (changes or {}):
            day = _entered_on(occurred_at, context, zones[site_code])
            if pk not in first_entry or day < first_entry[pk]:
                first_entry[pk] = day
    visits = pd.DataFrame(
        [
            {"site": site_of[pid], "visit_date": actual, "entered_on": first_entry.get(pk)}
            for pk, (pid, actual) in visit_dates.items()
        ],
        columns=["site", "visit_date", "entered_on"],
    )
    points = pd.DataFrame(
        [
            {"site": code, "data_points": created.get(code, 0), "changes": changed.get(code, 0)}
            for code in sorted(set(created) | set(changed))
        ],
        columns=["site", "data_points", "changes"],
    )
    return visits, points


@dataclass(frozen=True)
class EnrollmentInputs:
    enrollment_dates: dict[str, list[dt.date]]
    site_opened: dict[str, dt.date]


def enrollment_inputs() -> EnrollmentInputs:
    """Every active site's enrollment dates (two queries). No site's opening date is kept, so
    the forecast counts every site as open from the study's first enrollment (a site's own
    first consent would start its clock at its first participant and overstate its rate)."""
    codes = _site_codes()
    dates: dict[str, list[dt.date]] = {code: [] for code in codes.values()}
    for site_id, enrolled_on in Participant.objects.filter(
        is_deleted=False, site_id__in=codes, enrolled_on__isnull=False
    ).values_list("site_id", "enrolled_on"):
        dates[codes[site_id]].append(enrolled_on)
    return EnrollmentInputs(enrollment_dates=dates, site_opened={})


# The forecast's simulation seed: the same data give the same forecast on every page.
FORECAST_SEED = 15


def study_kris(*, protocol: Protocol, as_of: dt.date) -> KriReport | None:
    """Every site's KRIs as of `as_of`; None when the protocol file sets no central monitoring."""
    if protocol.central_monitoring is None:
        return None
    inputs, sites = kri_inputs(protocol=protocol, as_of=as_of)
    return site_kris(inputs, settings=protocol.central_monitoring, as_of=as_of, sites=sites)


def study_enrollment_forecast(*, protocol: Protocol, as_of: dt.date) -> EnrollmentForecast | None:
    """The enrollment forecast as of `as_of`; None without a planned sample size in the protocol
    file, before the first enrollment, or when enrollment is too slow for a forecast."""
    if protocol.enrollment is None:
        return None
    inputs = enrollment_inputs()
    if not any(inputs.enrollment_dates.values()):
        return None
    try:
        return forecast_enrollment(
            enrollment_dates=inputs.enrollment_dates,
            planned=protocol.enrollment.planned_participants,
            closure_months=protocol.study_closure.months_after_last_enrollment,
            as_of=as_of,
            site_opened=inputs.site_opened,
            seed=FORECAST_SEED,
        )
    except ForecastNotEstimable:
        return None


def study_operations(*, protocol: Protocol, as_of: dt.date):
    """The report's central monitoring input (`analysis.report_kri.OperationsInput`)."""
    from mmtrial.analysis.report_kri import OperationsInput

    return OperationsInput(
        kris=study_kris(protocol=protocol, as_of=as_of),
        settings=protocol.central_monitoring,
        forecast=study_enrollment_forecast(protocol=protocol, as_of=as_of),
    )
