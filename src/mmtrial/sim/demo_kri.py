"""The demo's central monitoring outlier: one site reports many more low-grade adverse events.

The cohort's adverse events are spread evenly, so no site would stand out on the KRI page. At
one site (OUTLIER_SITE) a coordinator records, for each participant on study, a mild adverse
event (grade 1: fatigue, nausea, diarrhea, constipation, insomnia, in turn, coded in CTCAE v5.0) every
`EVERY_DAYS` days from the first dose to the data cut-off, entered the day it started, through
the adverse event service like any other entry. Its AE rate is then several times the study's,
and the KRI page flags it.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError

from mmtrial.edc.audit import DEMO_VIA, audit_actor, audit_stands_for
from mmtrial.errors import MmtrialError
from mmtrial.sim.demo_terms import verbatim_ja

__all__ = ["add_kri_outlier"]

OUTLIER_SITE = "JP-03"
EVERY_DAYS = 10
# CTCAE v5.0 terms, chosen from the coded list as the AE form offers them.
MILD_TERMS = ("Fatigue", "Nausea", "Diarrhea", "Constipation", "Insomnia")


def add_kri_outlier(runner) -> None:
    """Record the extra adverse events at OUTLIER_SITE (the runner's plans, people and cut-off)."""
    from mmtrial.edc.services.adverse_events import ae_record

    for plan in runner.plans:
        if plan.site.code != OUTLIER_SITE or plan.index not in runner.participant_ids:
            continue
        start = getattr(plan, "c1d1_planned", None)
        if start is None:
            continue
        user = runner.staff[runner.coordinator_key(plan)]
        day, n = start + dt.timedelta(days=EVERY_DAYS), 0
        while day <= runner.cutoff:
            with audit_actor(user, via=DEMO_VIA), audit_stands_for(day):
                try:
                    ae_record(
                        user=user,
                        participant_id=runner.participant_ids[plan.index],
                        term=verbatim_ja(MILD_TERMS[n % len(MILD_TERMS)]),
                        ctcae_term=MILD_TERMS[n % len(MILD_TERMS)],
                        grade=1,
                        start_date=day,
                    )
                except (
                    MmtrialError,
                    ValidationError,
                ) as exc:  # the participant left the study: stop there
                    runner.problems.append(f"KRI outlier: {exc}")
                    break
            day, n = day + dt.timedelta(days=EVERY_DAYS), n + 1
