"""Two lab imports at once, as two real processes (issue 11 item 3): the second is refused at
once with one line on standard error and exit status 2, never a deadlock or a traceback; the
first runs to the end. On SQLite (a file database) and, with DATABASE_URL naming PostgreSQL
(`-m database`), on a database created on that server for the test."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.edc.test_lab_import_crash import (
    BIN,
    IMPORTER,
    IMPORTER_PASSWORD,
    SEED,
    database,  # noqa: F401 - the fixture
)

pytestmark = pytest.mark.database


def test_a_second_import_while_one_runs_is_refused_at_once_with_one_line(tmp_path, database):  # noqa: F811
    env = database.env
    subprocess.run([str(BIN / "mmtrial"), "manage", "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([sys.executable, "-c", SEED], env=env, check=True, cwd=Path(__file__).parents[2])
    rows = ["subject_id,accession,collected_on,analyte,value,unit"]
    for i in range(3000):
        rows.append(f"K1-00{i % 3 + 1},ACC{i:06d},2026-06-01,serum_m_protein,{1 + i % 7 / 10},g/dL")
    first = tmp_path / "first.csv"
    first.write_text("\n".join(rows) + "\n")
    second = tmp_path / "second.csv"
    second.write_text(rows[0] + "\nK1-001,OTHER1,2026-06-02,serum_m_protein,1.1,g/dL\n")
    command = [str(BIN / "mmtrial"), "lab", "import"]
    running = subprocess.Popen(
        [*command, str(first), *IMPORTER],
        env={**env, "MMTRIAL_LAB_IMPORT_PAUSE_S": "2", "MMTRIAL_LAB_IMPORT_BATCH_ROWS": "1000"},
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    running.stdin.write(IMPORTER_PASSWORD)
    running.stdin.close()
    try:
        line = running.stderr.readline()
        assert "1000 of 3000 rows written" in line, line
        started = time.monotonic()
        refused = subprocess.run(
            [*command, str(second), *IMPORTER],
            env=env,
            input=IMPORTER_PASSWORD,
            capture_output=True,
            text=True,
            timeout=60,
        )
        waited_s = time.monotonic() - started
        running.wait(timeout=120)
        out, err = running.stdout.read(), running.stderr.read()
    finally:
        if running.poll() is None:
            running.kill()
    assert refused.returncode == 2, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("error: Another central laboratory import is running")
    assert "first.csv" in lines[0] and "by importer" in lines[0]
    assert "Traceback" not in refused.stderr + refused.stdout
    assert waited_s < 15  # refused at once (the time is the command's start-up)
    # the first ran to the end, untroubled
    assert running.returncode == 0, err
    assert "3000 new" in out
    assert database.scalar("SELECT count(*) FROM edc_labresult WHERE NOT is_deleted") == 3000
    verify = subprocess.run(
        [str(BIN / "mmtrial"), "audit", "verify"], env=env, capture_output=True, text=True
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    # once it has finished, the refused file imports
    again = subprocess.run(
        [*command, str(second), *IMPORTER],
        env=env,
        input=IMPORTER_PASSWORD,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 0, again.stderr
    assert database.scalar("SELECT count(*) FROM edc_labresult WHERE NOT is_deleted") == 3001
