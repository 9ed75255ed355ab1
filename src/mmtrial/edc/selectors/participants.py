"""Reading participants, scoped to the sites the user may see (E6 4.3.8(b); compliance KF-1).

A participant at a site the user may not see is reported exactly like one that does not exist
(NotFound, same message), so an id from another site leaks nothing.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from mmtrial.edc.models import Participant, ResponseAssessment
from mmtrial.edc.permissions import Action, scope_to_sites
from mmtrial.errors import InputError, NotFound

PARTICIPANT_NOT_FOUND = "No participant {ref} at the sites you can see."
PARTICIPANT_REF_REQUIRED = "Give a participant id, subject id or screening number."
PARTICIPANT_AMBIGUOUS = (
    "{ref} is a screening number at more than one of your sites; use the participant id."
)
SEARCH_MAX_LENGTH = 32


def participant_list(
    *,
    user,
    search: str = "",
    site_code: str | None = None,
    status: str | None = None,
    response: str | None = None,
    include_deleted: bool = False,
    action: Action = Action.VIEW,
) -> QuerySet[Participant]:
    """Participants at the user's sites, ordered by site and screening number, with their site
    and response summary (`participant.response_summary`) read in the same query, and
    `participant.has_response_assessment`: whether any response was assessed yet (before the
    first assessment the summary's NE means "not yet assessed", not "not evaluable").

    `search` matches part of the subject id or the screening number, case-insensitively, only
    among the participants the user may see. `response` keeps those whose confirmed best
    overall response (ResponseSummary, derived by `clinical.imwg`) is that category.
    """
    assessed = ResponseAssessment.objects.filter(participant=OuterRef("pk"), is_deleted=False)
    queryset = scope_to_sites(
        Participant.objects.select_related("site", "response_summary").annotate(
            has_response_assessment=Exists(assessed)
        ),
        user,
        action,
        site_field="site_id",
    )
    if not include_deleted:
        queryset = queryset.filter(is_deleted=False)
    search = (search or "").strip()[:SEARCH_MAX_LENGTH]
    if search:
        queryset = queryset.filter(
            Q(subject_id__icontains=search) | Q(screening_number__icontains=search)
        )
    if site_code:
        queryset = queryset.filter(site__code=site_code)
    if status:
        queryset = queryset.filter(status=status)
    if response:
        queryset = queryset.filter(
            response_summary__best_overall_response=response,
            response_summary__is_deleted=False,
        )
    return queryset.order_by("site__code", "screening_number", "pk")


def participant_get(
    *,
    user,
    pk: int | str | None = None,
    subject: str | None = None,
    action: Action = Action.VIEW,
) -> Participant:
    """One participant the user may see, by primary key or by subject id / screening number.

    Raises NotFound (the same message whether the participant is at another site or nowhere).
    """
    if pk in (None, "") and not subject:
        raise InputError(PARTICIPANT_REF_REQUIRED, {"field": "participant"})
    queryset = scope_to_sites(Participant.objects.select_related("site"), user, action)
    if pk not in (None, ""):
        try:
            pk_int = int(pk)
        except (TypeError, ValueError):
            raise NotFound.coded(PARTICIPANT_NOT_FOUND, {"participant": str(pk)}, ref=pk) from None
        found = queryset.filter(pk=pk_int).first()
        ref = pk
    else:
        matches = list(
            queryset.filter(Q(subject_id=subject) | Q(screening_number=subject)).order_by("pk")[:2]
        )
        if len(matches) > 1:
            raise InputError.coded(
                PARTICIPANT_AMBIGUOUS, {"participant": str(subject)}, ref=subject
            )
        found = matches[0] if matches else None
        ref = subject
    if found is None:
        raise NotFound.coded(PARTICIPANT_NOT_FOUND, {"participant": str(ref)}, ref=ref)
    return found
