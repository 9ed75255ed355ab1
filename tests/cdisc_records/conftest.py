"""A small demo study for the records exports, seeded once per module through the services,
with a signature over one participant's data and a later change (with a reason) that
invalidates it; rolled back at the end of the module."""

from __future__ import annotations

import io

import pytest
from django.db import transaction
from django.test import override_settings

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]
PASSWORD = "correct-horse-battery-9"
CHANGE_REASON = "transcription error: value re-read from the source document"


def _sign_and_change() -> None:
    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.models import LabResult, Participant, Query, Signature
    from mmtrial.edc.models.trust import QueryStatus
    from mmtrial.edc.services._records import record_update
    from mmtrial.edc.services.signatures import participant_sign
    from tests.edc.factories import make_user

    open_ = Query.objects.exclude(status=QueryStatus.CLOSED).values("participant_id")
    signed = (
        Participant.objects.filter(subject_id__isnull=False, locked=False)
        .exclude(pk__in=open_)
        .exclude(pk__in=Signature.objects.values("participant_id"))
        .order_by("pk")
        .first()
    )
    investigator = make_user(role="investigator", site=signed.site, username="dr.export")
    investigator.identity_verified_by = make_user(role="sponsor_admin", site=None)
    investigator.save(update_fields=["identity_verified_by"])
    participant_sign(
        user=investigator,
        participant=signed,
        username="dr.export",
        password=PASSWORD,
        meaning="Approval",
        confirm=True,
        session_state={},
    )
    lab = LabResult.objects.filter(participant=signed, value__isnull=False).order_by("pk").first()
    with audit_actor(investigator, via="test"):
        record_update(
            lab,
            expected_version=lab.version,
            values={"value": lab.value + 1},
            reason=CHANGE_REASON,
        )


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    from mmtrial.sim.demo import seed_demo_study

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER),
        transaction.atomic(),
    ):
        seed_demo_study(participants=5, stdout=io.StringIO())
        _sign_and_change()
        yield
        transaction.set_rollback(True)
