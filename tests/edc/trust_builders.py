"""Builders for the trust tests (queries, signatures, locks, isolation): records via _records."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from mmtrial.edc.models import LabResult, Visit
from mmtrial.edc.services._records import record_create
from tests.edc.factories import make_user

PASSWORD = "correct-horse-battery-9"
_counter = itertools.count(1)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Argon2 costs about 0.2 s per user; these tests are about who may do what, not hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_visit(participant, *, code: str | None = None) -> Visit:
    planned = dt.date(2027, 1, 11)
    return record_create(
        Visit(
            participant=participant,
            code=code or f"C1D{next(_counter)}",
            kind="treatment",
            cycle_number=1,
            day=1,
            planned_date=planned,
            window_start=planned - dt.timedelta(days=2),
            window_end=planned + dt.timedelta(days=2),
        )
    )


def make_lab(participant, *, visit=None, value: str = "40", analyte: str = "ALT") -> LabResult:
    return record_create(
        LabResult(
            participant=participant,
            visit=visit,
            analyte=analyte,
            value=Decimal(value),
            unit="U/L",
            collected_on=dt.date(2027, 1, 11),
            source="local",
        )
    )


def make_verified_investigator(site, *, verifier_site=None, **kwargs):
    """An investigator whose identity a sponsor administrator has verified."""
    investigator = make_user(role="investigator", site=site, **kwargs)
    admin = make_user(role="sponsor_admin", site=None)
    investigator.identity_verified_by = admin
    investigator.save(update_fields=["identity_verified_by"])
    return investigator
