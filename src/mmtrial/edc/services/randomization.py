"""Randomization at enrollment, the arm shown only to those who may see it, and unblinding.

- `randomization_key_create`: the randomization administrator generates the study's secret seed
  once; the audit trail keeps its SHA-256 (a commitment: the lists cannot be changed later).
- `allocate` (called by `participant_enroll` for a randomized protocol): the stratum from the
  screening values, frozen; the next slot of the stratum's list; its kit code. Audited without
  the arm (the audit trail is read by blinded roles).
- `allocated_arm`: the arm, for a role that may see allocations (unblinded statistician,
  randomization administrator) or once the study is unblinded; None otherwise.
- `emergency_unblind`: the participant's investigator, with a reason, sees the arm; the act is
  audited and the sponsor told (a record listed for the sponsor).
- `study_unblind`: the audited act after which every role may see the arms.
Source: ICH E9 2.3; TOURMALINE-MM1 double-blind design [pub]; the roles are the protocol file's
`blinding.unblinded_roles`.
"""

from __future__ import annotations

import secrets

from django.utils import timezone

from mmtrial.clinical.minimisation import replay
from mmtrial.clinical.randomization import (
    allocation_slots,
    kit_code,
    seed_commitment,
    stratum_of,
)
from mmtrial.edc.audit import EventSpec
from mmtrial.edc.models import Allocation, Participant, RandomizationKey, Screening, Unblinding
from mmtrial.edc.permissions import Action, authorize, can
from mmtrial.edc.services._acting import actor_for
from mmtrial.edc.services.deviations import deviation_record_unblinding
from mmtrial.edc.services.participants import acting, participant_for, protocol_of
from mmtrial.edc.unit_of_work import UnitOfWork, record_event, subject_label, writes
from mmtrial.errors import InputError, PermissionDenied, ProtocolViolation
from mmtrial.protocol.loader import load_protocol

__all__ = [
    "allocate",
    "allocated_arm",
    "emergency_unblind",
    "randomization_key_create",
    "study_is_unblinded",
    "study_unblind",
]

KEY_EXISTS = (
    "The randomization lists already exist (generated {at} by {by}); they are never made again."
)
NO_KEY = (
    "The randomization lists have not been generated yet: the randomization administrator "
    "generates them (mmtrial randomization generate) before the first enrollment."
)
NOT_RANDOMIZED = "Participant {subject} has not been randomized."
UNBLIND_REASON_REQUIRED = "Say why the allocation must be revealed: the audit trail keeps it."
NOT_DOUBLE_BLIND = "This study is not blinded: there is nothing to unblind."
ALREADY_UNBLINDED = "The study was unblinded on {at}."


@writes
def randomization_key_create(*, user, seed: str | None = None) -> str:
    """Generate the study's secret seed once; returns its public commitment (SHA-256).

    `seed`: a seed chosen by the caller, for a simulated study that must come out the same every
    time it is seeded (the demo); a real study lets the service draw one.
    """
    authorize(user, Action.MANAGE_RANDOMIZATION)
    existing = RandomizationKey.objects.select_related("created_by").first()
    if existing is not None:
        raise ProtocolViolation.coded(
            KEY_EXISTS, at=existing.created_at.date(), by=existing.created_by.username
        )
    seed = seed or secrets.token_hex(32)
    key = RandomizationKey.objects.create(
        seed=seed, commitment=seed_commitment(seed), created_at=timezone.now(), created_by=user
    )
    record_event(
        EventSpec(
            action="randomization_key_create",
            model="randomizationkey",
            object_pk=str(key.pk),
            changes={"commitment": {"old": None, "new": key.commitment}},
        ),
        actor=actor_for(user),
    )
    return key.commitment


def allocate(uow: UnitOfWork, participant: Participant, *, on, protocol) -> Allocation:
    """The participant's slot in their stratum's list (module docstring), in `uow`."""
    key = RandomizationKey.objects.select_for_update().first()  # one allocation at a time
    if key is None:
        raise ProtocolViolation(NO_KEY)
    screening = Screening.objects.filter(participant=participant, is_deleted=False).first()
    values = dict(screening.values) if screening else {}
    stratum = stratum_of(values, protocol=protocol)
    if protocol.randomization.method == "minimisation":
        # one sequence over the study: each allocation depends on every earlier one
        taken = Allocation.objects.count()
    else:
        taken = Allocation.objects.filter(stratum_key=stratum.key).count()
    position = taken + 1
    return uow.create(
        Allocation(
            participant=participant,
            stratum_key=stratum.key,
            strata_values=stratum.values,
            position=position,
            kit_code=kit_code(seed=key.seed, stratum_key=stratum.key, position=position),
            allocated_on=on,
        ),
        reason="; ".join(stratum.reasons),
    )


def study_is_unblinded() -> bool:
    return Unblinding.objects.filter(kind="study").exists()


def _levels(stratum_key: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in stratum_key.split("|") if part)


def _minimisation_arms(protocol, upto: int | None = None) -> dict[int, str]:
    """{participant pk: arm id} of the allocations (up to sequence `upto`), replayed from the
    seed in sequence order (clinical.minimisation)."""
    key = RandomizationKey.objects.get()
    rows = Allocation.objects.order_by("position").values_list(
        "participant_id", "position", "stratum_key"
    )
    if upto is not None:
        rows = rows.filter(position__lte=upto)
    rows = list(rows)
    r = protocol.randomization
    arms = replay(
        seed=key.seed,
        allocations=[(position, _levels(stratum_key)) for _pk, position, stratum_key in rows],
        arms=[arm.id for arm in protocol.arms],
        weights=r.weights(),
        probability_best=r.probability_best,
    )
    return {pk: arm for (pk, _position, _key), arm in zip(rows, arms, strict=True)}


def _arm_of(allocation: Allocation, protocol) -> str:
    if protocol.randomization.method == "minimisation":
        return _minimisation_arms(protocol, upto=allocation.position)[allocation.participant_id]
    key = RandomizationKey.objects.get()
    slots = allocation_slots(
        seed=key.seed,
        stratum_key=allocation.stratum_key,
        upto=allocation.position,
        protocol=protocol,
    )
    return slots[allocation.position - 1].arm_id


def may_see_arms(user, site_id: int | None = None) -> bool:
    return study_is_unblinded() or can(user, Action.VIEW_ALLOCATION, site_id)


def allocated_arm(*, user, participant: Participant) -> str | None:
    """The arm id of the participant for a user who may see it, else None (blinded).

    The investigator who unblinded this participant in an emergency keeps seeing the arm (they
    may need it again to treat); nobody else learns it from that act."""
    allocation = Allocation.objects.filter(participant=participant, is_deleted=False).first()
    if allocation is None:
        return None
    if not may_see_arms(user, participant.site_id) and not _unblinded_for(user, participant):
        return None
    return _arm_of(allocation, protocol_of(participant))


def _unblinded_for(user, participant: Participant) -> bool:
    return Unblinding.objects.filter(
        kind="emergency", participant=participant, by=user.get_username()
    ).exists()


def arms_for_analysis(*, user) -> dict[int, str]:
    """Every allocated participant's arm, for the two-arm analysis; refused while blinded."""
    if not may_see_arms(user):
        raise PermissionDenied(
            "The arms are hidden until the study is unblinded: only the unblinded statistician "
            "and the randomization administrator see them.",
            {"action": Action.VIEW_ALLOCATION.value},
        )
    protocol = load_protocol()
    if protocol.randomized and protocol.randomization.method == "minimisation":
        every = _minimisation_arms(protocol)  # one replay, not one per participant
        kept = Allocation.objects.filter(is_deleted=False).values_list("participant_id", flat=True)
        return {pk: every[pk] for pk in kept}
    out = {}
    for allocation in Allocation.objects.filter(is_deleted=False).select_related("participant"):
        out[allocation.participant_id] = _arm_of(allocation, protocol_of(allocation.participant))
    return out


@acting
@writes
def emergency_unblind(*, user, participant_id: int, reason: str) -> str:
    """The participant's investigator sees the arm in an emergency; audited, sponsor told."""
    participant = participant_for(
        user=user, participant_id=participant_id, action=Action.EMERGENCY_UNBLIND
    )
    protocol = protocol_of(participant)
    if not protocol.double_blind:
        raise ProtocolViolation(NOT_DOUBLE_BLIND)
    rule = protocol.blinding.emergency_unblinding
    if rule is not None and rule.reason_required and not (reason or "").strip():
        raise InputError(UNBLIND_REASON_REQUIRED, {"field": "reason"})
    allocation = Allocation.objects.filter(participant=participant, is_deleted=False).first()
    if allocation is None:
        raise ProtocolViolation.coded(NOT_RANDOMIZED, subject=subject_label(participant))
    record = Unblinding.objects.create(
        participant=participant,
        kind="emergency",
        reason=reason.strip(),
        by=user.get_username(),
        at=timezone.now(),
        notified=list(rule.notify if rule else []),
    )
    record_event(
        EventSpec(
            action="emergency_unblind",
            model="unblinding",
            object_pk=str(record.pk),
            site_code=participant.site.code,
            subject=subject_label(participant),
            changes={"notified": {"old": None, "new": record.notified}},
            reason=record.reason,
        ),
        actor=actor_for(user),
    )
    # Issue 16: an emergency unblinding is also kept as a deviation-class record.
    deviation_record_unblinding(unblinding=record, participant=participant)
    return _arm_of(allocation, protocol)


@writes
def study_unblind(*, user, reason: str) -> Unblinding:
    """Unblind the whole study (after the database lock, as the protocol says); audited."""
    authorize(user, Action.MANAGE_RANDOMIZATION)
    if not (reason or "").strip():
        raise InputError(UNBLIND_REASON_REQUIRED, {"field": "reason"})
    done = Unblinding.objects.filter(kind="study").first()
    if done is not None:
        raise ProtocolViolation.coded(ALREADY_UNBLINDED, at=done.at.date())
    record = Unblinding.objects.create(
        kind="study", reason=reason.strip(), by=user.get_username(), at=timezone.now()
    )
    record_event(
        EventSpec(
            action="study_unblind",
            model="unblinding",
            object_pk=str(record.pk),
            changes={"kind": {"old": None, "new": "study"}},
            reason=reason.strip(),
        ),
        actor=actor_for(user),
    )
    return record
