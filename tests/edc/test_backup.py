"""`mmtrial backup` / `mmtrial restore`: the restored copy is the database, exactly (A11-7.2).

Each database is its own: a file-based SQLite data directory, or, in the `-m database` run on
PostgreSQL, a database created on that server for the test (as tests/edc/test_lab_import_crash).
The commands run as subprocesses, as an operator would run them. Every table's row count and
content hash is compared between the original and the restored copy, and `audit verify` /
`signature verify` print the same counts on both.
"""

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.database  # also run on PostgreSQL by `make test-postgres`

BIN = Path(sys.executable).parent
ROOT = Path(__file__).parents[2]
DM = "dm.backup"
DM_PASSWORD = "dm-backup-pass-17"
SEED = f"""
import django
django.setup()
from freezegun import freeze_time
freeze_time("2030-01-01 09:00:00", tick=True).start()  # the test study is dated 2027
from django.utils import timezone
from mmtrial.edc.models import User
from mmtrial.edc.services.signatures import participant_sign
from tests.edc.builders import Study
from tests.edc.factories import make_participant
from tests.edc.trust_builders import PASSWORD, make_lab, make_verified_investigator

study = Study("BK")
dm = study.data_manager
dm.username = "{DM}"
dm.set_password("{DM_PASSWORD}")
dm.password_changed_at = timezone.now()
dm.save()
study.coordinator.username = "crc.backup"
study.coordinator.set_password("{DM_PASSWORD}")
study.coordinator.password_changed_at = timezone.now()
study.coordinator.save()
participant = make_participant(study.site)
make_lab(participant)
make_lab(participant, analyte="AST", value="31.5")
investigator = make_verified_investigator(study.site, username="dr.backup")
participant_sign(
    user=investigator, participant=participant, username="dr.backup", password=PASSWORD,
    meaning="Approval", confirm=True, session_state={{}},
)
"""


def _snapshot_rows(execute, tables):
    result = {}
    for table in tables:
        rows = execute(f'SELECT * FROM "{table}" ORDER BY 1')
        result[table] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return result


class Database:
    """One study database of the test's own, with the environment that selects it."""

    def __init__(self, tmp_path: Path, name: str) -> None:
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MMTRIAL_USER")},
            "MMTRIAL_DATA_DIR": str(self.dir),
            "MMTRIAL_TOKEN_FILE": str(self.dir / "no-token"),
            "DJANGO_SETTINGS_MODULE": "mmtrial.settings",
        }
        url = os.environ.get("DATABASE_URL", "")
        self.pg_admin = url if url.startswith("postgres") else ""
        self.sqlite = self.dir / "mmtrial.sqlite3"
        if self.pg_admin:
            import psycopg

            self.name = f"mmtrial_backup_{name}_{os.getpid()}"
            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}"')
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = self.pg_admin.rsplit("/", 1)[0] + "/" + self.name
            self.env["DATABASE_URL"] = self.url

    def run(self, *args, stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [str(BIN / "mmtrial"), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        assert "Traceback" not in done.stderr, done.stderr
        return done

    def seed(self) -> None:
        subprocess.run(
            [str(BIN / "mmtrial"), "manage", "migrate", "-v", "0"], env=self.env, check=True
        )
        subprocess.run([sys.executable, "-c", SEED], env=self.env, check=True, cwd=ROOT)

    def tables(self) -> list[str]:
        return sorted(self.snapshot())

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
                return _snapshot_rows(lambda sql: conn.execute(sql).fetchall(), tables)
        if not self.sqlite.exists():
            return {}
        with sqlite3.connect(f"file:{self.sqlite}?mode=ro", uri=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' ORDER BY name"
                )
            ]
            return _snapshot_rows(lambda sql: conn.execute(sql).fetchall(), tables)

    def drop(self) -> None:
        if self.pg_admin:
            import psycopg

            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A seeded database and its backup, taken once for the module by the data manager."""
    tmp = tmp_path_factory.mktemp("backup")
    original = Database(tmp, "original")
    original.seed()
    out = tmp / "study.backup"
    done = original.run("backup", str(out), "--by", DM, "--password-stdin", stdin=DM_PASSWORD)
    assert done.returncode == 0, done.stderr
    yield original, out
    original.drop()


@pytest.fixture
def backed_up(seeded, tmp_path):
    """The seeded database and a copy of its backup (and manifest) for this test to use."""
    original, out = seeded
    copy = tmp_path / out.name
    for suffix in ("", ".manifest.json"):
        shutil.copyfile(out.with_name(out.name + suffix), copy.with_name(copy.name + suffix))
    return original, copy


@pytest.fixture
def databases(tmp_path):
    made = []

    def make(name: str) -> Database:
        made.append(Database(tmp_path, name))
        return made[-1]

    yield make
    for db in made:
        db.drop()


def _manifest(out: Path) -> dict:
    return json.loads(out.with_name(out.name + ".manifest.json").read_text())


@pytest.mark.req("A11-7.2")
def test_a_restore_into_an_empty_database_reproduces_every_table_and_verifies(backed_up, databases):
    original, out = backed_up
    manifest = _manifest(out)
    before = original.snapshot()
    # the manifest describes the file and the database it was taken from
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert manifest["bytes"] == out.stat().st_size
    assert manifest["vendor"] == ("postgresql" if original.pg_admin else "sqlite")
    assert manifest["audit"]["events"] == before["edc_auditevent"][0]
    assert manifest["audit"]["last_id"] == manifest["audit"]["events"]
    assert manifest["signatures"]["valid"] == 1
    assert {t: e["rows"] for t, e in manifest["tables"].items() if t in before} == {
        t: rows for t, (rows, _) in before.items() if t in manifest["tables"]
    }
    # the backup is audited, and the copy holds the record of its own making
    assert manifest["backup_event_id"] == manifest["audit"]["last_id"]

    restored = databases("restored")
    done = restored.run("restore", str(out))
    assert done.returncode == 0, done.stderr
    events = manifest["audit"]["events"]
    assert f"{events} events, chain intact; 1 valid signatures, 0 mismatches" in done.stdout

    assert restored.snapshot() == before  # every table, audit, signatures and users included
    for command in (["audit", "verify"], ["signature", "verify"]):
        here, there = original.run(*command), restored.run(*command)
        assert (here.returncode, there.returncode) == (0, 0), there.stderr
        assert here.stdout == there.stdout
    assert restored.run("audit", "verify").stdout.strip() == f"{events} events, chain intact"


def test_the_backup_event_names_the_data_manager_and_the_os_account(backed_up, databases):
    _, out = backed_up
    restored = databases("restored")
    assert restored.run("restore", str(out)).returncode == 0
    check = (
        "import django, getpass; django.setup()\n"
        "from mmtrial.edc.models import AuditEvent\n"
        "e = AuditEvent.objects.get(action='backup')\n"
        "print(e.actor_username, e.context['os_account'] == getpass.getuser(), "
        "e.context['auth'], e.context['file'])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", check], env=restored.env, capture_output=True, text=True, cwd=ROOT
    )
    assert done.stdout.split() == [DM, "True", "password", "study.backup"], done.stderr


def test_restore_into_a_database_that_is_not_empty_is_refused_in_one_line(backed_up):
    original, out = backed_up
    before = original.snapshot()
    done = original.run("restore", str(out))
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "is not empty" in done.stderr
    assert original.snapshot() == before


def test_a_damaged_backup_file_is_refused_and_nothing_is_restored(backed_up, databases):
    _, out = backed_up
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0xFF
    out.write_bytes(bytes(data))
    restored = databases("restored")
    done = restored.run("restore", str(out))
    assert done.returncode == 1
    assert "SHA-256" in done.stderr and done.stderr.count("\n") == 1
    assert restored.snapshot() == {}


def test_a_copy_that_does_not_verify_is_removed_again(backed_up, databases):
    """The restored copy is checked through the application; when it does not hold what the
    manifest says (here: one audit event more than the copy has), the target is left empty."""
    _, out = backed_up
    manifest_path = out.with_name(out.name + ".manifest.json")
    manifest = json.loads(manifest_path.read_text())
    manifest["audit"]["events"] += 1
    manifest["audit"]["last_id"] += 1
    manifest_path.write_text(json.dumps(manifest))
    restored = databases("restored")
    done = restored.run("restore", str(out))
    assert done.returncode == 1, done.stderr
    assert "left as it was (empty)" in done.stderr
    assert "audit chain" in done.stderr
    assert restored.snapshot() == {}
    # and the target takes the right manifest afterwards
    manifest["audit"]["events"] -= 1
    manifest["audit"]["last_id"] -= 1
    manifest_path.write_text(json.dumps(manifest))
    assert restored.run("restore", str(out)).returncode == 0


def test_a_backup_needs_an_authenticated_data_manager_and_a_new_file(backed_up, tmp_path):
    original, out = backed_up
    before = original.snapshot()
    refused = [
        original.run("backup", str(tmp_path / "x.backup"), "--by", DM),  # no password
        original.run(
            "backup", str(tmp_path / "x.backup"), "--by", "crc.backup", "--password-stdin",
            stdin=DM_PASSWORD,
        ),  # a coordinator may not
        original.run("backup", str(out), "--by", DM, "--password-stdin", stdin=DM_PASSWORD),
    ]  # fmt: skip
    for done in refused:
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1
    assert "sponsor administrator or a data manager" in refused[1].stderr
    assert "never overwritten" in refused[2].stderr
    assert not (tmp_path / "x.backup").exists()
    assert original.snapshot() == before  # no backup event for a refused backup
