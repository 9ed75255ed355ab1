"""Electronic signatures over a participant's data (21 CFR 11.50, 11.70, 11.100, 11.200).

An investigator signs with password re-entry, a stated meaning and an explicit confirmation
that the e-signature is the equivalent of a handwritten one. The signature stores the printed
name, UTC time, meaning, the confirmation text version and a SHA-256 of the participant's
canonical data; `_records.invalidate_signatures` voids it when that data later changes and
`signature_verify` recomputes the hashes to discern records altered behind the services' back.

Two components (11.200(a)(1)): the first signing in a session needs user name and password;
later signings in the same session need the password only. `session_state` is the web session
(or any dict the caller keeps for the session): logout or expiry clears it, so both components
are needed again.

Password checks go through `django.contrib.auth.authenticate` with django-axes in front of it:
a wrong signing password counts toward the same lockout as a wrong login password, and a
locked-out account cannot sign (11.300(d); compliance KF-2). The check runs before the signing
transaction so that a failed attempt stays recorded when the signing is refused.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

from django.apps import apps
from django.contrib.auth import authenticate
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from mmtrial.edc.audit import EventSpec, audit_record, current_actor, to_jsonable
from mmtrial.edc.models import Participant, Query, Signature
from mmtrial.edc.models.base import ClinicalRecord
from mmtrial.edc.models.imports import without_staged
from mmtrial.edc.models.trust import QueryStatus, SignatureStatus
from mmtrial.edc.permissions import ACTION_DENIED, Action, authorize, can, scope_to_sites
from mmtrial.edc.services._acting import actor_for
from mmtrial.edc.services._records import subject_label
from mmtrial.errors import InputError, PermissionDenied, ProtocolViolation

SIGNATURE_MEANINGS = ("Approval", "Review", "Authorship", "Responsibility")
CONFIRMATION_TEXT_VERSION = "1"
CONFIRMATION_TEXT = (
    "I confirm that my electronic signature is the legally binding equivalent of my "
    "handwritten signature (21 CFR 11.100(c))."
)
SESSION_SIGNER_KEY = "mmtrial_esign_signer"
IMPERSONATION_SESSION_KEYS = ("_hijack_history", "mmtrial_impersonator")

SIGN_CONFIRMATION_REQUIRED = (
    "Confirm that your electronic signature is the equivalent of your handwritten signature."
)
SIGN_MEANING_INVALID = "Choose what the signature means: {choices}."
SIGN_IDENTITY_NOT_VERIFIED = (
    "Your identity has not been verified by another person yet, so you cannot sign. "
    "Ask the sponsor administrator to verify it."
)
SIGN_IMPERSONATION = "Signatures cannot be applied while acting as another user."
SIGN_USERNAME_REQUIRED = (
    "Enter your user name and password: this is your first signature since login."
)
SIGN_NOT_YOUR_USERNAME = "The user name entered is not yours; only the owner can apply a signature."
SIGN_PASSWORD_REQUIRED = "Enter your password to sign."
SIGN_WRONG_PASSWORD = "The password is not correct; the signature was not applied."
SIGN_LOCKED_OUT = (
    "Your account is locked after repeated failed passwords; ask an administrator to unlock it."
)
SIGN_OPEN_QUERIES = (
    "Participant {subject} has {count} unresolved quer{plural}; close them before signing."
)

# `lab_import_id` names the file a result came from: provenance, not signed content (and
# signatures made before results carried it still verify).
_SKIPPED_FIELDS = {"created_at", "updated_at", "locked", "lab_import_id"}


def _record_fields(instance) -> dict[str, Any]:
    return {
        f.attname: to_jsonable(getattr(instance, f.attname))
        for f in instance._meta.concrete_fields
        if f.attname not in _SKIPPED_FIELDS
    }


def _participant_models() -> list[tuple[str, Any, str]]:
    """Every clinical record type that belongs to a participant, with its lookup path."""
    found = []
    for model in apps.get_app_config("edc").get_models():
        if not issubclass(model, ClinicalRecord) or model is Participant:
            continue
        names = {f.name for f in model._meta.concrete_fields}
        if "participant" in names:
            found.append((model._meta.model_name, model, "participant"))
        elif "cycle" in names:
            found.append((model._meta.model_name, model, "cycle__participant"))
    return sorted(found, key=lambda item: item[0])


def participant_content(participant: Participant) -> dict[str, Any]:
    """The participant's data as canonical JSON-ready values: every record, ordered by id.

    Lock flags and bookkeeping timestamps are left out: locking signed data does not change it.
    Soft-deleted records stay in (their `is_deleted` flag is part of the content).
    """
    fresh = Participant.objects.get(pk=participant.pk)
    records = {}
    for name, model, path in _participant_models():
        rows = without_staged(model.objects.filter(**{path: participant.pk})).order_by("pk")
        records[name] = [_record_fields(row) for row in rows]
    return {"participant": _record_fields(fresh), "records": records}


def participant_content_sha256(participant: Participant) -> str:
    """SHA-256 of the participant's canonical data (sorted keys, compact separators, UTF-8)."""
    payload = json.dumps(
        participant_content(participant),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _impersonating(session_state: MutableMapping) -> bool:
    return any(session_state.get(key) for key in IMPERSONATION_SESSION_KEYS)


def _signing_request(request: HttpRequest | None) -> HttpRequest:
    if request is not None:
        return request
    # A request object so that axes can count the attempt: CLI and service callers have none.
    synthetic = HttpRequest()
    synthetic.method = "POST"
    synthetic.path = synthetic.path_info = "/esign/"
    actor = current_actor()
    synthetic.META["REMOTE_ADDR"] = (actor.source_ip if actor else "") or "127.0.0.1"
    return synthetic


def _check_password(user, password: str, request: HttpRequest | None) -> None:
    signing_request = _signing_request(request)
    signing_request.mmtrial_channel = "esign"
    authenticated = authenticate(signing_request, username=user.username, password=password)
    if getattr(signing_request, "axes_locked_out", False):
        raise PermissionDenied(SIGN_LOCKED_OUT, {"field": "password"})
    if authenticated is None or authenticated.pk != user.pk:
        raise PermissionDenied(SIGN_WRONG_PASSWORD, {"field": "password"})


def participant_sign(
    *,
    user,
    participant: Participant,
    password: str,
    meaning: str,
    confirm: bool,
    session_state: MutableMapping,
    username: str = "",
    request: HttpRequest | None = None,
) -> Signature:
    """Apply `user`'s e-signature to all of `participant`'s data; returns the Signature.

    Refused unless the user holds SIGN at the participant's site, confirms the handwritten-
    equivalence statement, has had their identity verified by someone else, re-enters the
    password (and the user name on the first signing of the session), is not impersonated,
    and the participant has no unresolved query.
    """
    authorize(user, Action.SIGN, participant.site_id)
    if _impersonating(session_state):
        raise PermissionDenied(SIGN_IMPERSONATION)
    # What makes the participant unsignable is said before any password is checked.
    open_queries = _open_query_refusal(participant)
    if open_queries is not None:
        raise open_queries
    if not confirm:
        raise InputError(SIGN_CONFIRMATION_REQUIRED, {"field": "confirm"})
    if meaning not in SIGNATURE_MEANINGS:
        raise InputError.coded(
            SIGN_MEANING_INVALID, {"field": "meaning"}, choices=", ".join(SIGNATURE_MEANINGS)
        )
    if user.identity_verified_by_id is None or user.identity_verified_by_id == user.pk:
        raise PermissionDenied(SIGN_IDENTITY_NOT_VERIFIED)
    if session_state.get(SESSION_SIGNER_KEY) != user.pk:
        if not (username or "").strip():
            raise InputError(SIGN_USERNAME_REQUIRED, {"field": "username"})
        if username.strip().casefold() != user.username.casefold():
            raise PermissionDenied(SIGN_NOT_YOUR_USERNAME, {"field": "username"})
    if not password:
        raise InputError(SIGN_PASSWORD_REQUIRED, {"field": "password"})
    _check_password(user, password, request)
    signature = _sign(user=user, participant=participant, meaning=meaning)
    session_state[SESSION_SIGNER_KEY] = user.pk
    return signature


def _open_query_refusal(participant: Participant) -> ProtocolViolation | None:
    """The refusal to sign while queries are unresolved (open or answered), or None."""
    unresolved = Query.objects.filter(participant=participant).exclude(status=QueryStatus.CLOSED)
    count = unresolved.count()
    if not count:
        return None
    return ProtocolViolation.coded(
        SIGN_OPEN_QUERIES,
        {"open_queries": count},
        subject=subject_label(participant),
        count=count,
        plural="y" if count == 1 else "ies",
    )


def participant_sign_blockers(
    *, user, participant: Participant, session_state: MutableMapping
) -> list[str]:
    """Why `user` cannot sign `participant` now, before anything is typed: the messages
    `participant_sign` would refuse with whatever password is entered (empty: signable).
    One query (the unresolved queries' count)."""
    if not can(user, Action.SIGN, participant.site_id):
        return [ACTION_DENIED.format(action=Action.SIGN.value)]
    blockers = []
    if _impersonating(session_state):
        blockers.append(SIGN_IMPERSONATION)
    if user.identity_verified_by_id is None or user.identity_verified_by_id == user.pk:
        blockers.append(SIGN_IDENTITY_NOT_VERIFIED)
    open_queries = _open_query_refusal(participant)
    if open_queries is not None:
        blockers.append(open_queries.message)
    return blockers


@transaction.atomic
def _sign(*, user, participant: Participant, meaning: str) -> Signature:
    participant = (
        Participant.objects.select_for_update().select_related("site").get(pk=participant.pk)
    )
    # again under the participant's lock: a query opened since the first check still counts
    open_queries = _open_query_refusal(participant)
    if open_queries is not None:
        raise open_queries
    content_sha256 = participant_content_sha256(participant)
    signature = Signature.objects.create(
        participant=participant,
        signer=user,
        printed_name=user.printed_name,
        meaning=meaning,
        signed_at=timezone.now(),
        content_sha256=content_sha256,
        confirmation_text_version=CONFIRMATION_TEXT_VERSION,
    )
    audit_record(
        EventSpec(
            action="sign",
            model="signature",
            object_pk=str(signature.pk),
            site_code=participant.site.code,
            subject=subject_label(participant),
            changes={
                "status": {"old": None, "new": SignatureStatus.VALID},
                "meaning": {"old": None, "new": meaning},
                "content_sha256": {"old": None, "new": content_sha256},
            },
            context={
                "printed_name": signature.printed_name,
                "confirmation_text_version": CONFIRMATION_TEXT_VERSION,
            },
        ),
        actor=actor_for(user),
    )
    return signature


@dataclass(frozen=True)
class SignatureMismatch:
    signature_id: int
    participant_id: int
    subject: str
    signed_sha256: str
    current_sha256: str


@dataclass(frozen=True)
class SignatureVerifyReport:
    checked: int
    mismatches: list[SignatureMismatch] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


def signature_verify(*, participant: Participant | None = None, user=None) -> SignatureVerifyReport:
    """Recompute the content hash behind every valid signature and list those that differ.

    A mismatch means the data changed without passing through the services (which would have
    invalidated the signature), e.g. a direct SQL change. With `user`, only that user's
    audit-visible sites are checked.
    """
    signatures = Signature.objects.filter(status=SignatureStatus.VALID).select_related(
        "participant"
    )
    if participant is not None:
        signatures = signatures.filter(participant=participant)
    if user is not None:
        signatures = scope_to_sites(
            signatures, user, Action.VIEW_AUDIT, site_field="participant__site_id"
        )
    mismatches, checked, hashes = [], 0, {}
    for signature in signatures.order_by("pk"):
        checked += 1
        current = hashes.get(signature.participant_id)
        if current is None:
            current = hashes[signature.participant_id] = participant_content_sha256(
                signature.participant
            )
        if current != signature.content_sha256:
            mismatches.append(
                SignatureMismatch(
                    signature_id=signature.pk,
                    participant_id=signature.participant_id,
                    subject=subject_label(signature.participant),
                    signed_sha256=signature.content_sha256,
                    current_sha256=current,
                )
            )
    return SignatureVerifyReport(checked=checked, mismatches=mismatches)
