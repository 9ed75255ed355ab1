"""People and sites for the web tests: two sites, one user per role."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
from django.utils import timezone

import mmtrial.analysis.plots_kri  # noqa: F401  pandas and matplotlib, imported before the study clock (they hang under it)

PASSWORD = "correct horse battery staple"


@functools.cache
def password_hash() -> str:
    """The Argon2 hash of PASSWORD, computed once: hashing is slow by design."""
    from django.contrib.auth.hashers import make_password

    return make_password(PASSWORD)


def make_user(username: str, role: str, site=None, *, full_name: str = ""):
    from mmtrial.edc.models import Membership, User

    user = User.objects.create(
        username=username,
        password=password_hash(),
        full_name=full_name or username.title(),
        password_changed_at=timezone.now(),  # the owner chose it: no forced change at login
    )
    Membership.objects.create(user=user, site=site, role=role)
    return user


@pytest.fixture(autouse=True)
def _no_timeline_from_another_test():
    """Each test starts with no cached timeline: test databases reuse ids and, on the frozen
    clock, even audit hashes, for different data."""
    from django.core.cache import caches

    caches["timeline"].clear()


@pytest.fixture
def sites(db):
    from mmtrial.edc.models import Site

    return {
        "A": Site.objects.create(code="JP01", name="Site A Hospital", timezone="Asia/Tokyo"),
        "B": Site.objects.create(code="JP02", name="Site B Hospital", timezone="Asia/Tokyo"),
    }


@pytest.fixture
def users(sites):
    return {
        "coordinator": make_user("coord_a", "coordinator", sites["A"], full_name="Hanako Sato"),
        "coordinator_b": make_user("coord_b", "coordinator", sites["B"], full_name="Taro Ito"),
        "investigator": make_user("inv_a", "investigator", sites["A"], full_name="Dr Ken Mori"),
        "monitor": make_user("monitor", "monitor", None, full_name="Yui Monitor"),
        "data_manager": make_user("dm", "data_manager", None, full_name="Dana Manager"),
    }


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login


def register_participant(user, site, number: str, *, consent=dt.date(2027, 1, 4)):
    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.services.participants import participant_register

    with audit_actor(user, via="test"):
        return participant_register(
            user=user,
            site_id=site.pk,
            screening_number=number,
            sex="female",
            year_of_birth=1955,
            consent_date=consent,
        )
