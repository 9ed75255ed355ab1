"""Two fresh seedings with the same seed give the same study (a few participants, for speed)."""

import io

from django.db import transaction

from mmtrial.edc.audit import audit_verify
from mmtrial.edc.models import Cycle, Participant, ResponseAssessment, ResponseSummary, Site
from mmtrial.sim.demo import seed_demo_study

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# The first three participants in consent order: two progressions, a death, a lock.
FEW = 3


def _snapshot() -> dict:
    return {
        "participants": sorted(
            Participant.objects.values_list(
                "site__code", "screening_number", "subject_id", "status"
            )
        ),
        "cycles": sorted(
            (c.participant.subject_id, c.number, c.start_date, sorted(c.planned_doses_mg.items()))
            for c in Cycle.objects.select_related("participant")
        ),
        "responses": sorted(
            ResponseAssessment.objects.values_list(
                "participant__subject_id",
                "assessment_date",
                "derived_response",
                "derived_confirmed",
                "investigator_response",
            )
        ),
        "best": sorted(
            ResponseSummary.objects.values_list(
                "participant__subject_id", "best_overall_response", "progression_date"
            )
        ),
    }


def test_two_fresh_seeds_give_the_same_subject_ids_doses_and_responses(db, settings):
    settings.PASSWORD_HASHERS = FAST_HASHER
    with transaction.atomic():
        seed_demo_study(stdout=io.StringIO(), participants=FEW)
        first = _snapshot()
        transaction.set_rollback(True)
    assert not Site.objects.exists()
    summary = seed_demo_study(stdout=io.StringIO(), participants=FEW)
    assert summary.seeded and summary.problems == []
    assert _snapshot() == first
    assert len(first["participants"]) == FEW and any(r[2] == "PD" for r in first["responses"])
    assert audit_verify().ok
