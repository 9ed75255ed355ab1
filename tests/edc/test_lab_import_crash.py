"""A lab import killed with SIGKILL half-way leaves no result visible; the next import cleans up
what it staged and runs to the end (E6-4.2.5; issue 11: all or nothing per file, without holding
the write lock for the whole file).

The import runs as `mmtrial lab import` in a subprocess on its own database: a file-based SQLite
database, or, when DATABASE_URL names PostgreSQL (the `-m database` run), a database created on
that server for the test. The test hook MMTRIAL_LAB_IMPORT_PAUSE_S makes the import pause after
each staged batch (committed invisible), where the test kills it. Every table but the staging
ones (lab results, import records, audit trail) is compared before and after by row count and
content hash; the audit chain verifies throughout.
"""

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.database  # also run on PostgreSQL by `make test-postgres`

BIN = Path(sys.executable).parent
SEED = """
import django, datetime as dt
django.setup()
from tests.edc.builders import Study
study = Study("K1")
from django.utils import timezone
study.data_manager.username = "importer"
study.data_manager.set_password("importer-pass-long-1")
study.data_manager.password_changed_at = timezone.now()
study.data_manager.save(update_fields=["username", "password", "password_changed_at"])
for n in range(3):
    study.enrolled(f"SCR-{n}", consent_date=dt.date(2026, 1, 5))
"""

# The importer authenticates at the command line (the password on standard input).
IMPORTER = ["--user", "importer", "--password-stdin"]
IMPORTER_PASSWORD = "importer-pass-long-1\n"


def _hash_tables(execute, tables: list[str]) -> dict[str, tuple[int, str]]:
    result = {}
    for table in tables:
        rows = execute(f'SELECT * FROM "{table}" ORDER BY 1')
        result[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return result


class Database:
    """The subprocess's own database: its environment and a content snapshot."""

    def __init__(self, tmp_path: Path) -> None:
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
            "MMTRIAL_DATA_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "mmtrial.settings",
        }
        url = os.environ.get("DATABASE_URL", "")
        self.pg_admin = url if url.startswith("postgres") else ""
        self.sqlite = tmp_path / "mmtrial.sqlite3"
        if self.pg_admin:
            import psycopg

            self.name = f"mmtrial_crash_{os.getpid()}"
            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = self.pg_admin.rsplit("/", 1)[0] + "/" + self.name
            self.env["DATABASE_URL"] = self.url

    def snapshot(self) -> dict[str, tuple[int, str]]:
        if self.pg_admin:
            import psycopg

            with psycopg.connect(self.url) as conn:
                tables = [
                    r[0]
                    for r in conn.execute(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                        "ORDER BY tablename"
                    )
                ]
                return _hash_tables(lambda sql: conn.execute(sql).fetchall(), tables)
        with sqlite3.connect(f"file:{self.sqlite}?mode=ro", uri=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
                )
            ]
            return _hash_tables(lambda sql: conn.execute(sql).fetchall(), tables)

    def scalar(self, sql: str):
        if self.pg_admin:
            import psycopg

            with psycopg.connect(self.url) as conn:
                return conn.execute(sql).fetchone()[0]
        with sqlite3.connect(f"file:{self.sqlite}?mode=ro", uri=True) as conn:
            return conn.execute(sql).fetchone()[0]

    def drop(self) -> None:
        if self.pg_admin:
            import psycopg

            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture
def database(tmp_path):
    db = Database(tmp_path)
    yield db
    db.drop()


@pytest.mark.req("E6-4.2.5")
def test_sigkill_in_the_middle_of_an_import_leaves_no_result_visible_and_is_cleaned_up(
    tmp_path, database
):
    env = database.env
    subprocess.run([str(BIN / "mmtrial"), "manage", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([sys.executable, "-c", SEED], env=env, check=True, cwd=Path(__file__).parents[2])
    rows = ["subject_id,accession,collected_on,analyte,value,unit"]
    for i in range(3000):
        rows.append(f"K1-00{i % 3 + 1},ACC{i:06d},2026-06-01,serum_m_protein,{1 + i % 7 / 10},g/dL")
    csv_path = tmp_path / "big.csv"
    csv_path.write_text("\n".join(rows) + "\n")
    before = database.snapshot()

    process = subprocess.Popen(
        [str(BIN / "mmtrial"), "lab", "import", str(csv_path), *IMPORTER],
        env={**env, "MMTRIAL_LAB_IMPORT_PAUSE_S": "60", "MMTRIAL_LAB_IMPORT_BATCH_ROWS": "1000"},
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    process.stdin.write(IMPORTER_PASSWORD)
    process.stdin.close()
    try:
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if "rows written" in line or not line:
                break
        assert "1000 of 3000 rows written" in line, line
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == -signal.SIGKILL
    after = database.snapshot()
    # The import stages its rows in short transactions (issue 11: it must not hold the write
    # lock for the whole file), so what the killed process committed is there, but invisible:
    # no result is visible, and nothing else of the study changed.
    staging = {"edc_labresult", "edc_labimport", "edc_auditevent", "edc_auditchainhead"}
    staging.add("sqlite_sequence")
    assert {t: v for t, v in after.items() if t not in staging} == {
        t: v for t, v in before.items() if t not in staging
    }
    assert before["edc_labresult"][0] == 0
    assert database.scalar("SELECT count(*) FROM edc_labresult WHERE NOT is_deleted") == 0
    assert database.scalar("SELECT count(*) FROM edc_labresult") == 1000  # staged, invisible
    assert database.scalar("SELECT status FROM edc_labimport") == "staging"
    verify = [str(BIN / "mmtrial"), "audit", "verify"]
    assert subprocess.run(verify, env=env, capture_output=True).returncode == 0

    # The database is intact and usable: the next import cleans up the interrupted one (its
    # staged rows removed, its abandonment audited) and runs to the end.
    done = subprocess.run(
        [str(BIN / "mmtrial"), "lab", "import", str(csv_path), *IMPORTER, "--json"],
        env=env,
        input=IMPORTER_PASSWORD,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert database.snapshot()["edc_labresult"][0] == 3000
    assert database.scalar("SELECT count(*) FROM edc_labresult WHERE NOT is_deleted") == 3000
    assert (
        database.scalar(
            "SELECT count(*) FROM edc_labimport WHERE status = 'abandoned' AND staged_rows = 0"
        )
        == 1
    )
    assert (
        database.scalar("SELECT count(*) FROM edc_auditevent WHERE action = 'lab_import_abandon'")
        == 1
    )
    assert subprocess.run(verify, env=env, capture_output=True).returncode == 0
