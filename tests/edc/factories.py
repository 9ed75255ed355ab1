"""Small builders for EDC tests: they write through the audited record helpers."""

from __future__ import annotations

import datetime as dt
import itertools

from mmtrial.edc.models import Membership, Participant, Site, User
from mmtrial.edc.services._records import record_create

_counter = itertools.count(1)


def make_site(code: str | None = None) -> Site:
    n = next(_counter)
    return Site.objects.create(code=code or f"S{n:02d}", name=f"Site {n}")


def make_user(
    *,
    role: str,
    site: Site | None,
    username: str | None = None,
    password: str = "correct-horse-battery-9",
) -> User:
    user = User.objects.create_user(
        username=username or f"user{next(_counter)}", password=password, full_name="Test User"
    )
    Membership.objects.create(user=user, site=site, role=role)
    return user


def make_participant(site: Site, *, screening_number: str | None = None, **fields) -> Participant:
    defaults = dict(
        sex="female", year_of_birth=1955, protocol_version="1.0", consent_date=dt.date(2027, 1, 4)
    )
    defaults.update(fields)
    participant = Participant(
        site=site, screening_number=screening_number or f"SCR-{next(_counter):04d}", **defaults
    )
    return record_create(participant)
