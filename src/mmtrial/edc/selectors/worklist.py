"""A site's worklist: the visits, response assessments and follow-up contacts due this week,
next week (or the coming month) and overdue, each with its window, across the participants of
the sites the user may see.

Where each comes from (nothing is planned here):
- treatment, end-of-treatment and follow-up visits: the planned visits stored from
  `clinical.schedule` (`services.visits.visits_regenerate`) still due; a follow-up contact is
  done when a contact is recorded in its window;
- response assessments: `clinical.schedule` for each participant from the stored cycles, end
  of treatment, progression and death; done when a response is derived in its window;
- windows and the overdue / week rule: `clinical.due_dates` and the protocol file.

A fixed number of queries whatever the number of participants: the memberships, the due
visits, and the participants still followed with their cycles, responses and contacts.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass, field

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch

from mmtrial.clinical.due_dates import (
    DuePlace,
    assessment_window,
    due_place,
    week_start,
)
from mmtrial.clinical.study_days import add_calendar_months
from mmtrial.edc.models import Cycle, FollowUpContact, Participant, ResponseAssessment, Visit
from mmtrial.edc.models.people import ParticipantStatus
from mmtrial.edc.models.treatment import VisitKind, VisitStatus
from mmtrial.edc.permissions import ALL_SITES, Action, sites_allowed
from mmtrial.edc.selectors.timeline import calendar_for
from mmtrial.errors import InputError, NotFound
from mmtrial.protocol.loader import load_protocol

__all__ = ["VIEWS", "Worklist", "WorklistItem", "worklist"]

SITE_NOT_FOUND = "Site {site} was not found among the sites you may see."
VIEWS = ("week", "month")
# Participants who still have visits, assessments or contacts ahead of them.
FOLLOWED = (
    ParticipantStatus.ON_TREATMENT,
    ParticipantStatus.OFF_TREATMENT,
    ParticipantStatus.FOLLOW_UP,
)
ASSESSMENT = "response_assessment"


@dataclass(frozen=True)
class WorklistItem:
    """One thing to do: `kind` is a visit kind (treatment, end_of_treatment, follow_up) or
    `response_assessment`; `code` the visit code (C3D1, EOT, FU02) or the assessment's
    number from C1D1 (1, 2, ...)."""

    kind: str
    code: str
    participant_id: int
    subject: str
    site_code: str
    planned: dt.date
    window_start: dt.date
    window_end: dt.date
    place: DuePlace
    visit_id: int | None = None


@dataclass
class Worklist:
    today: dt.date
    view: str
    site_codes: list[str]
    weeks: list[tuple[dt.date, dt.date]]  # (Monday, Sunday) of week 0, 1, ...
    overdue: list[WorklistItem] = field(default_factory=list)
    by_week: list[list[WorklistItem]] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.overdue) + sum(len(items) for items in self.by_week)


def _week_count(view: str, today: dt.date) -> int:
    if view == "week":
        return 2  # this week and next week
    last = add_calendar_months(today, months=1)
    return (week_start(last) - week_start(today)).days // 7 + 1


def _subject(participant: Participant) -> str:
    return participant.subject_id or participant.screening_number


def _optional(participant: Participant, name: str):
    try:
        value = getattr(participant, name)
    except ObjectDoesNotExist:
        return None
    return None if value is None or getattr(value, "is_deleted", False) else value


def _done(dates: list[dt.date], start: dt.date) -> bool:
    """Something is recorded in the window (from `start`) or after it: done, or missed and
    followed by a later one (clinical.due_dates)."""
    return bisect.bisect_left(dates, start) < len(dates)


def worklist(*, user, today: dt.date, site_id: int | None = None, view: str = "week") -> Worklist:
    """The worklist of the user's sites (or one of them) on `today` (module docstring)."""
    if view not in VIEWS:
        raise InputError(f"view: {view!r} must be one of {', '.join(VIEWS)}", {"field": "view"})
    allowed = sites_allowed(user, Action.VIEW)
    if site_id is not None and (allowed is not ALL_SITES and site_id not in allowed):
        raise NotFound.coded(SITE_NOT_FOUND, {"site_id": site_id}, site=site_id)
    weeks = _week_count(view, today)
    monday = week_start(today)
    horizon = monday + dt.timedelta(days=7 * weeks - 1)
    people = Participant.objects.filter(is_deleted=False, status__in=FOLLOWED)
    if site_id is not None:
        people = people.filter(site_id=site_id)
    elif allowed is not ALL_SITES:
        people = people.filter(site_id__in=list(allowed))
    visits = (
        Visit.objects.filter(
            is_deleted=False,
            status=VisitStatus.DUE,
            planned_date__lte=horizon,
            participant__in=people,
        )
        .select_related("participant__site")
        .order_by("planned_date", "code")
    )
    followed = (
        people.select_related("site", "response_summary", "end_of_treatment", "death")
        .prefetch_related(
            Prefetch(
                "cycles",
                queryset=Cycle.objects.filter(is_deleted=False).order_by("number"),
                to_attr="worklist_cycles",
            ),
            Prefetch(
                "responses",
                queryset=ResponseAssessment.objects.filter(is_deleted=False).only(
                    "id", "participant_id", "assessment_date"
                ),
                to_attr="worklist_responses",
            ),
            Prefetch(
                "follow_up_contacts",
                queryset=FollowUpContact.objects.filter(is_deleted=False).only(
                    "id", "participant_id", "contact_date"
                ),
                to_attr="worklist_contacts",
            ),
        )
        .order_by("site__code", "subject_id", "screening_number")
    )
    items: list[WorklistItem] = []
    contacts: dict[int, list[dt.date]] = {}
    codes: set[str] = set()
    for participant in followed:
        codes.add(participant.site.code)
        contacts[participant.pk] = sorted(c.contact_date for c in participant.worklist_contacts)
        items.extend(_assessments(participant, today=today, horizon=horizon))
    for visit in visits:
        participant = visit.participant
        if visit.kind == VisitKind.FOLLOW_UP and _done(
            contacts.get(participant.pk, []), visit.window_start
        ):
            continue
        items.append(
            WorklistItem(
                kind=visit.kind,
                code=visit.code,
                participant_id=participant.pk,
                subject=_subject(participant),
                site_code=participant.site.code,
                planned=visit.planned_date,
                window_start=visit.window_start,
                window_end=visit.window_end,
                place=due_place(
                    planned=visit.planned_date, window_end=visit.window_end, today=today
                ),
                visit_id=visit.pk,
            )
        )
    result = Worklist(
        today=today,
        view=view,
        site_codes=sorted(codes),
        weeks=[
            (monday + dt.timedelta(days=7 * k), monday + dt.timedelta(days=7 * k + 6))
            for k in range(weeks)
        ],
        by_week=[[] for _ in range(weeks)],
    )
    for item in sorted(items, key=lambda i: (i.planned, i.site_code, i.subject, i.code)):
        if item.place.overdue:
            result.overdue.append(item)
        elif item.place.week < weeks:
            result.by_week[item.place.week].append(item)
    return result


def _assessments(participant: Participant, *, today: dt.date, horizon: dt.date):
    """The participant's response assessments not done, up to `horizon`."""
    calendar = calendar_for(
        participant,
        participant.worklist_cycles,
        eot=_optional(participant, "end_of_treatment"),
        death=_optional(participant, "death"),
        summary=_optional(participant, "response_summary"),
    )
    if calendar is None:
        return
    protocol = load_protocol(participant.protocol_version)
    done = sorted(r.assessment_date for r in participant.worklist_responses)
    for number, iso in enumerate(calendar["response_assessments"], start=1):
        planned = dt.date.fromisoformat(iso)
        if planned > horizon:
            break
        start, end = assessment_window(planned, protocol=protocol)
        if _done(done, start):
            continue
        yield WorklistItem(
            kind=ASSESSMENT,
            code=str(number),
            participant_id=participant.pk,
            subject=_subject(participant),
            site_code=participant.site.code,
            planned=planned,
            window_start=start,
            window_end=end,
            place=due_place(planned=planned, window_end=end, today=today),
        )
