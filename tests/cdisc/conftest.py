"""The demo study, seeded once for the tests of mmtrial.cdisc, and its two packages.

Seeding goes through the EDC services (mmtrial.sim.demo), inside one transaction that is rolled
back when the last test of this folder has run; each test also runs in its own transaction.
The packages are exported once into a temporary folder, from the database, as the command does.
"""

from __future__ import annotations

import io

import pytest
from django.db import transaction
from django.test import override_settings

FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="package")
def demo_study(django_db_setup, django_db_blocker):
    from mmtrial.sim.demo import seed_demo_study

    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=FAST_HASHER),
        transaction.atomic(),
    ):
        seed_demo_study(stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture(scope="package")
def sdtm_dir(demo_study, tmp_path_factory):
    from mmtrial.cdisc.sdtm.export import export_sdtm

    out = tmp_path_factory.mktemp("sdtm")
    export_sdtm(out)
    return out


@pytest.fixture(scope="package")
def adam_dir(demo_study, tmp_path_factory):
    from mmtrial.cdisc.adam.export import export_adam

    out = tmp_path_factory.mktemp("adam")
    export_adam(out)
    return out
