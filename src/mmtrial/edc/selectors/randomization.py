"""The arms and strata of a randomized study for its two-arm analysis: only for a user who may
see the allocation (`services.randomization.arms_for_analysis`), keyed as the analysis datasets
are (USUBJID = subject id). Two queries whatever the number of participants."""

from __future__ import annotations

from dataclasses import dataclass

from mmtrial.edc.models import Allocation, Unblinding
from mmtrial.edc.permissions import Action, can
from mmtrial.edc.services.randomization import allocated_arm, arms_for_analysis

__all__ = ["allocation_list", "allocation_view", "arms_and_strata"]


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


@dataclass(frozen=True)
class AllocationRow:
    subject: str
    site: str
    stratum_key: str
    position: int
    kit_code: str
    allocated_on: str
    arm_id: str


def allocation_list(*, user) -> list[AllocationRow]:
    """Every allocation made so far, with its arm: the randomization administrator's and the
    unblinded statistician's view (PermissionDenied for a blinded role). Slots not yet used are
    not listed: the block sizes stay concealed even from the screen of an unblinded role."""
    arms_by_pk = arms_for_analysis(user=user)
    rows = Allocation.objects.filter(is_deleted=False).select_related("participant__site")
    return [
        AllocationRow(
            subject=a.participant.subject_id or a.participant.screening_number,
            site=a.participant.site.code,
            stratum_key=a.stratum_key,
            position=a.position,
            kit_code=a.kit_code,
            allocated_on=a.allocated_on.isoformat(),
            arm_id=arms_by_pk[a.participant_id],
        )
        for a in rows.order_by("stratum_key", "position")
    ]


@dataclass(frozen=True)
class AllocationView:
    """What the participant page shows of the allocation to this user."""

    kit_code: str
    allocated_on: str
    stratum: list[str]  # the frozen strata values, in words (the audit reason)
    arm_id: str | None  # None: blinded for this user
    unblindings: list[Unblinding]
    may_unblind: bool


def allocation_view(*, user, participant, protocol) -> AllocationView | None:
    """None for an unrandomized protocol or participant; else the kit code for everyone and the
    arm only for a user who may see it (three queries)."""
    if not protocol.randomized:
        return None
    allocation = Allocation.objects.filter(participant=participant, is_deleted=False).first()
    if allocation is None:
        return None
    names = {s.id: s.name for s in protocol.randomization.strata}
    levels = {
        (s.id, level.id): level.name for s in protocol.randomization.strata for level in s.levels
    }
    stratum = []
    for part in allocation.stratum_key.split("|"):
        sid, lid = part.split("=", 1)
        stratum.append(f"{names.get(sid, sid)}: {levels.get((sid, lid), lid)}")
    blinded = protocol.double_blind
    return AllocationView(
        kit_code=allocation.kit_code,
        allocated_on=allocation.allocated_on.isoformat(),
        stratum=stratum,
        arm_id=allocated_arm(user=user, participant=participant),
        unblindings=list(
            Unblinding.objects.filter(participant=participant, kind="emergency").order_by("at")
        ),
        may_unblind=blinded and can(user, Action.EMERGENCY_UNBLIND, participant.site_id),
    )
