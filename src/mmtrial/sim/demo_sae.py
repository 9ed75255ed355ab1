"""The demo's serious adverse events: a coded SAE reported on time (initial and follow-up
reports) and one whose initial report is still due (or, when the demo is seeded days after its
cut-off, overdue: then the system query is opened and the monitor sees it).

Runs after the cohort, at the first demo site, through the EDC services as the site's
coordinator: the adverse event coded from CTCAE v5.0 (the term the participant's lab values
suggest, when one reaches grade 3, else febrile neutropenia), the ICH E2A criteria, the outcome
and the action per drug, then the reports.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from mmtrial.sim.demo_terms import verbatim_ja

__all__ = ["seed_demo_sae"]

REPORTED_DAYS_BEFORE_CUTOFF = 30
FOLLOW_UP_AFTER_DAYS = 7
FALLBACK_TERM = "Febrile neutropenia"
# The second SAE as its site writes it; coded as the CTCAE term Lung infection.
SECOND_VERBATIM = verbatim_ja("Pneumonia", admitted=True)
SECOND_TERM = "Lung infection"
FALLBACK_GRADE = 3
SEVERE = 3


def _participants(site):
    """Two participants on treatment whose data are neither signed nor locked (an entry would
    invalidate the demo's signature)."""
    from mmtrial.edc.models import Participant, Signature

    signed = Signature.objects.values("participant_id")
    return list(
        Participant.objects.filter(site=site, locked=False, status="on_treatment")
        .exclude(cycles=None)
        .exclude(pk__in=signed)
        .order_by("pk")[:2]
    )


def _coded(participant) -> tuple[str, int]:
    from mmtrial.edc.selectors.sae import ae_lab_suggestions

    for suggestion in ae_lab_suggestions(participant=participant):
        if suggestion.grade >= SEVERE:
            return suggestion.term, suggestion.grade
    return FALLBACK_TERM, FALLBACK_GRADE


def seed_demo_sae(*, cutoff: dt.date, now: dt.datetime | None = None) -> list[str]:
    """Enter the demo's two SAEs (as the coordinator, via the demo, each event dated the study
    day it stands for); returns what could not be entered (for the console)."""
    from django.utils import timezone

    from mmtrial.edc.audit import DEMO_VIA, audit_actor, audit_stands_for
    from mmtrial.edc.models import Membership, Site
    from mmtrial.edc.services.sae_reports import sae_overdue_queries, sae_report_record
    from mmtrial.sim.archetypes import SITES

    now = now or timezone.now()
    site = Site.objects.filter(code=SITES[0].code).first()
    if site is None:
        return ["demo SAE: the first demo site is missing"]
    membership = (
        Membership.objects.filter(site=site, role="coordinator").select_related("user").first()
    )
    participants = _participants(site)
    if membership is None or len(participants) < 2:
        return []  # a partial cohort (quick tests) has too few participants there: no SAE
    user = membership.user
    tz = ZoneInfo(site.timezone)
    reported_on = max(
        cutoff - dt.timedelta(days=REPORTED_DAYS_BEFORE_CUTOFF), participants[0].consent_date
    )
    term, grade = _coded(participants[0])
    # Aware late in the evening (Tokyo): the 24 hours run into the next local day.
    aware = dt.datetime.combine(reported_on, dt.time(21, 30), tzinfo=tz)
    with audit_actor(user, via=DEMO_VIA), audit_stands_for(reported_on):
        first = _first(user, participants[0], term, grade, reported_on, aware)
    with audit_actor(user, via=DEMO_VIA), audit_stands_for(reported_on + dt.timedelta(days=1)):
        sae_report_record(
            user=user,
            ae_id=first.pk,
            kind="initial",
            sent_at=aware + dt.timedelta(hours=18),
            summary="Initial SAE report: event, grade, hospitalisation, study drugs interrupted.",
        )
    follow_up = aware + dt.timedelta(days=FOLLOW_UP_AFTER_DAYS)
    with audit_actor(user, via=DEMO_VIA), audit_stands_for(follow_up.date()):
        sae_report_record(
            user=user,
            ae_id=first.pk,
            kind="follow_up",
            sent_at=follow_up,
            summary="Follow-up: counts recovering, discharged.",
        )
    # The second: aware on the cut-off day in the morning, or just now when that is later.
    aware_second = min(dt.datetime.combine(cutoff, dt.time(8, 0), tzinfo=tz), now)
    start_second = aware_second.astimezone(tz).date()
    with audit_actor(user, via=DEMO_VIA), audit_stands_for(start_second):
        _second(user, participants[1], start_second, aware_second)
    from mmtrial.edc.services._acting import SYSTEM_OPERATOR

    # the scheduler's step (`mmtrial safety sae-check`), attributed to the server's operator
    with audit_actor(SYSTEM_OPERATOR, via=DEMO_VIA):
        sae_overdue_queries(now=now)
    return []


def _first(user, participant, term, grade, start, aware):
    from mmtrial.edc.services.adverse_events import ae_record

    return ae_record(
        user=user,
        participant_id=participant.pk,
        term=verbatim_ja(term, admitted=True),
        ctcae_term=term,
        grade=grade,
        start_date=start,
        seriousness=["hospitalization"],
        aware_at=aware,
        outcome="RECOVERING/RESOLVING",
        attribution={"ixazomib": True, "lenalidomide": True, "dexamethasone": False},
        actions={
            "ixazomib": "DRUG INTERRUPTED",
            "lenalidomide": "DRUG INTERRUPTED",
            "dexamethasone": "DOSE NOT CHANGED",
        },
        action_taken="dose_held",
        nonhematologic=term == FALLBACK_TERM,
    )


def _second(user, participant, start, aware):
    from mmtrial.edc.services.adverse_events import ae_record

    return ae_record(
        user=user,
        participant_id=participant.pk,
        term=SECOND_VERBATIM,
        ctcae_term=SECOND_TERM,
        grade=SEVERE,
        start_date=start,
        seriousness=["hospitalization"],
        aware_at=aware,
        outcome="NOT RECOVERED/NOT RESOLVED",
        attribution={"ixazomib": False, "lenalidomide": True, "dexamethasone": True},
        actions={"lenalidomide": "DRUG INTERRUPTED", "dexamethasone": "DRUG INTERRUPTED"},
        action_taken="dose_held",
    )
