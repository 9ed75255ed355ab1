"""Test setup shared by the whole suite.

- Tests that touch the database are marked `database` automatically; `make test` runs them again
  on PostgreSQL with `-m database` when MMTRIAL_TEST_POSTGRES is set.
- Under CI=true nothing that needs PostgreSQL or Chromium may skip: a missing service fails.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI") == "true"
CHROMIUM = "/usr/bin/chromium"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses_db = item.get_closest_marker("django_db") is not None or any(
            name in getattr(item, "fixturenames", ())
            for name in ("db", "transactional_db", "django_db_setup", "live_server")
        )
        if uses_db:
            item.add_marker(pytest.mark.database)


def _allow_test_flush_of_the_audit_table() -> None:
    """Transactional tests end with a flush (DELETE/TRUNCATE of every table), which the audit
    triggers rightly refuse. In the test process only, the flush drops the triggers first and
    reinstalls them after; the application itself has no such path."""
    from django.db.backends.postgresql.base import DatabaseOperations as PgOps
    from django.db.backends.sqlite3.base import DatabaseOperations as SqliteOps

    from mmtrial.edc import audit_triggers

    for ops_class, vendor in ((SqliteOps, "sqlite"), (PgOps, "postgresql")):
        original = ops_class.sql_flush

        def sql_flush(self, style, tables, *args, _original=original, _vendor=vendor, **kwargs):
            statements = _original(self, style, tables, *args, **kwargs)
            if audit_triggers.TABLE not in tables:
                return statements
            return [
                *audit_triggers.drop_sql(_vendor),
                *statements,
                *audit_triggers.install_sql(_vendor),
            ]

        ops_class.sql_flush = sql_flush


def pytest_configure(config: pytest.Config) -> None:
    _allow_test_flush_of_the_audit_table()


def pytest_sessionstart(session: pytest.Session) -> None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.OperationalError as exc:
            pytest.exit(f"PostgreSQL at {url} is not reachable: {exc}", returncode=1)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's Chromium; required under CI, skipped elsewhere when absent."""
    if shutil.which(CHROMIUM) is None:
        if IN_CI:
            pytest.fail(f"{CHROMIUM} is missing under CI=true: .ci/run must install it")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(autouse=True, scope="module")
def _study_clock(request):
    """Modules outside tests/edc that build the 2027 test study run on its clock."""
    from tests.study_clock import study_clock

    if request.module.__name__.startswith("tests.edc."):
        yield
        return
    with study_clock(request.module):
        yield
