"""The arms and strata of a randomized study for its two-arm analysis: only for a user who may
see the allocation (`services.randomization.arms_for_analysis`), keyed as the analysis datasets
are (USUBJID = subject id). Two queries whatever the number of participants."""

from __future__ import annotations

from mmtrial.edc.models import Allocation
from mmtrial.edc.services.randomization import arms_for_analysis

__all__ = ["arms_and_strata"]


def arms_and_strata(*, user) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """({USUBJID: arm id}, {USUBJID: {stratum id: level id}}); PermissionDenied while blinded."""
    arms_by_pk = arms_for_analysis(user=user)
    arms: dict[str, str] = {}
    strata: dict[str, dict[str, str]] = {}
    for allocation in Allocation.objects.filter(is_deleted=False).select_related("participant"):
        p = allocation.participant
        usubjid = p.subject_id or p.screening_number
        arms[usubjid] = arms_by_pk[p.pk]
        strata[usubjid] = dict(part.split("=", 1) for part in allocation.stratum_key.split("|"))
    return arms, strata
