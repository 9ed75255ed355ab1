"""Reading a participant's e-signatures (21 CFR 11.50: printed name, date and time, meaning),
newest first, with the signer read in the same query. Scoped to the user's sites: another
site's participant is NotFound, exactly like one that does not exist."""

from __future__ import annotations

from django.db.models import QuerySet

from mmtrial.edc.models import Participant, Signature
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.errors import NotFound

__all__ = ["signature_list"]

NOT_FOUND = "Participant {pid} was not found among the participants you may see."


def signature_list(*, user, participant_id: int) -> QuerySet[Signature]:
    """Every signature over the participant's data, valid and invalidated, newest first."""
    visible = scope_to_sites(Participant.objects.filter(is_deleted=False), user, Action.VIEW)
    if not visible.filter(pk=participant_id).exists():
        raise NotFound.coded(NOT_FOUND, {"id": participant_id}, pid=participant_id)
    return (
        Signature.objects.filter(participant_id=participant_id)
        .select_related("signer")
        .order_by("-signed_at", "-id")
    )
