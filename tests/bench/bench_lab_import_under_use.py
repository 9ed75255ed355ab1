"""A large central lab import while 16 users save data, on SQLite and PostgreSQL (issue 11
item 3), and the peak memory of checking a large file.

Goals: no 5xx, no lost or duplicated save; PostgreSQL: lab-entry POST p95 <= 1 s during the
import; SQLite (one writer at a time): no save fails and none waits more than 5 s. Checking a
200 MB file: peak RSS <= 500 MB.

Steps, each in its own process as in production:
1. seed a fresh database (`bench_web._seed`: 16 sites, 1,000 participants, 60 treated) and a
   data manager who imports;
2. serve it with `mmtrial serve` (gunicorn, as `bench_web`);
3. start `mmtrial lab import` of ROWS rows (default 400,000; MMTRIAL_BENCH_IMPORT_ROWS) for the
   treated participants, and at the same moment 16 client threads that, until the import ends,
   each open the lab-entry form and POST one value (a pause of THINK_MEAN_S on average between
   saves); latencies measured at the client;
4. after: every 302 answered save is stored once (lost = answered - stored, duplicated =
   stored - answered), the file is visible whole, `mmtrial audit verify` passes;
5. in another process, check (no writes) a file of CHECK_MB megabytes (default 200;
   MMTRIAL_BENCH_CHECK_MB) and report that process's peak RSS.
SQLite in a temporary directory by default; DATABASE_URL (PostgreSQL) selects a database created
on that server for the run. Run alone: `.venv/bin/python -m tests.bench.bench_lab_import_under_use`.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from tests.bench.bench_web import PASSWORD, Browser, _free_port, _p95, _serve_args

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = 16
THINK_MEAN_S = 1.0
GOAL_PG_P95_S = 1.0
GOAL_SQLITE_MAX_S = 5.0
GOAL_CHECK_RSS_MB = 500
IMPORTER = "bench_dm"
ANALYTES = [
    ("serum_m_protein", "g/dL", "{:.1f}", 2.4),
    ("urine_m_protein", "mg/24h", "{:.0f}", 300),
    ("kappa_flc", "mg/L", "{:.0f}", 120),
    ("lambda_flc", "mg/L", "{:.0f}", 12),
]


def _seed() -> None:
    """Runs in a child process: the web bench's study, a data manager, the treated subjects."""
    from tests.bench.bench_web import _seed as web_seed

    web_seed()
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from mmtrial.edc.models import Membership, Participant, User

    user = User.objects.create(
        username=IMPORTER,
        password=make_password(PASSWORD),
        full_name="Bench data manager",
        password_changed_at=timezone.now(),
    )
    Membership.objects.create(user=user, site=None, role="data_manager")
    subjects = (
        Participant.objects.exclude(subject_id__isnull=True)
        .exclude(subject_id="")
        .values_list("subject_id", flat=True)
    )
    Path(os.environ["MMTRIAL_BENCH_SUBJECTS"]).write_text("\n".join(sorted(subjects)))


def _write_csv(path: Path, subjects: list[str], *, rows: int = 0, megabytes: int = 0) -> int:
    """A central lab file: `rows` rows, or as many as make `megabytes`; returns the rows."""
    today = dt.date.today()
    rng = random.Random(7)
    n = 0
    with path.open("w") as out:
        out.write("subject_id,accession,collected_on,analyte,value,unit\n")
        while (rows and n < rows) or (megabytes and out.tell() < megabytes * 1_000_000):
            subject = subjects[n % len(subjects)]
            analyte, unit, shape, typical = ANALYTES[(n // len(subjects)) % len(ANALYTES)]
            day = today - dt.timedelta(days=rng.randint(1, 25))
            value = shape.format(typical * rng.uniform(0.5, 1.5))
            out.write(f"{subject},X{n:09d},{day.isoformat()},{analyte},{value},{unit}\n")
            n += 1
    return n


def _check_memory(path: str) -> None:
    """Runs in a child process: check a file (nothing written), print the peak RSS in MB."""
    import django

    django.setup()
    from mmtrial.edc.lab_import_check import check_stream
    from mmtrial.edc.lab_import_scratch import Scratch
    from mmtrial.edc.models import User

    user = User.objects.get(username=IMPORTER)
    start = time.perf_counter()
    with open(path, "rb") as handle, Scratch() as scratch:
        found = check_stream(user, handle, Path(path).name, dt.date.today(), scratch)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{found.rows} {peak_mb:.0f} {time.perf_counter() - start:.1f}")


# The import as a user runs it (`mmtrial lab import`), reporting its own peak RSS at the end.
_IMPORT = """
import resource, runpy, sys
sys.argv = ["mmtrial", "lab", "import", sys.argv[1], "--user", sys.argv[2], "--password-stdin"]
try:
    runpy.run_module("mmtrial", run_name="__main__")
finally:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    sys.stderr.write(f"import peak RSS {rss:.0f} MB\\n")
"""


def _saves(base: str, treated: list[tuple[int, str]], running: threading.Event):
    """16 clients saving lab values until `running` is cleared: (latencies s, statuses)."""
    by_user: dict[str, list[int]] = {}
    for pk, username in treated:
        by_user.setdefault(username, []).append(pk)
    users = sorted(by_user)
    latencies: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    today = dt.date.today()

    def client(index: int) -> None:
        rng = random.Random(index)
        username = users[index % len(users)]
        browser = Browser(base, username)
        mine = by_user[username]
        while running.is_set():
            time.sleep(rng.expovariate(1 / THINK_MEAN_S))
            pk = rng.choice(mine)
            _status, page = browser.get(f"/participants/{pk}/labs/new/")
            data = {
                "collected_on": (today - dt.timedelta(days=rng.randint(1, 25))).isoformat(),
                "source": "local",
                "value_hemoglobin": f"{rng.uniform(9, 14):.1f}",
                "unit_hemoglobin": "g/dL",
            }
            start = time.perf_counter()
            status = browser.post(f"/participants/{pk}/labs/new/", data, page=page)
            with lock:
                latencies.append(time.perf_counter() - start)
                statuses.append(status)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    return threads, latencies, statuses


def _stored_saves(env: dict) -> int:
    code = (
        "import django; django.setup()\n"
        "from mmtrial.edc.models import LabResult\n"
        "print(LabResult.objects.filter(analyte='hemoglobin', source='local').count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    return int(done.stdout.strip())


def _visible_central(env: dict) -> int:
    code = (
        "import django; django.setup()\n"
        "from mmtrial.edc.models import LabResult\n"
        "print(LabResult.objects.filter(source='central', is_deleted=False).count())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True
    )
    return int(done.stdout.strip())


def _run(env: dict, tmp: Path, rows: int, check_mb: int) -> bool:
    vendor = "postgresql" if env.get("DATABASE_URL", "").startswith("postgres") else "sqlite"
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", "from tests.bench.bench_lab_import_under_use import _seed; _seed()"],
        env=env,
        check=True,
        cwd=ROOT,
    )
    subjects = Path(env["MMTRIAL_BENCH_SUBJECTS"]).read_text().split()
    treated = [
        (int(pk), username)
        for pk, username in (
            line.split() for line in Path(env["MMTRIAL_BENCH_TREATED"]).read_text().splitlines()
        )
    ]
    csv_path = tmp / "central.csv"
    written = _write_csv(csv_path, subjects, rows=rows)
    size_mb = csv_path.stat().st_size / 1e6
    print(
        f"database {vendor}; seeded in {time.perf_counter() - started:.0f} s; import file "
        f"{written} rows ({size_mb:.0f} MB) for {len(subjects)} participants"
    )
    port = _free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "mmtrial", "serve", "--port", str(port), "--no-migrate"),
            *_serve_args(),
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/login/", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        running = threading.Event()
        running.set()
        threads, latencies, statuses = _saves(base, treated, running)
        load_before = os.getloadavg()[0]
        began = time.perf_counter()
        importing = subprocess.run(
            [sys.executable, "-c", _IMPORT, str(csv_path), IMPORTER],
            env=env,
            cwd=ROOT,
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
        )
        import_s = time.perf_counter() - began
        running.clear()
        for thread in threads:
            thread.join()
        load_after = os.getloadavg()[0]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
    answered = sum(1 for s in statuses if s == 302)
    errors_5xx = sum(1 for s in statuses if s >= 500)
    failed = len(statuses) - answered
    stored = _stored_saves(env)
    visible = _visible_central(env)
    verify = subprocess.run(
        [sys.executable, "-m", "mmtrial", "audit", "verify"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    rss = [line for line in importing.stderr.splitlines() if "peak RSS" in line]
    print(
        f"import: exit {importing.returncode}, {import_s:.0f} s wall, "
        f"{rss[0] if rss else 'peak RSS unknown'}; {visible} results visible after"
    )
    if importing.returncode:
        print(importing.stderr[-2000:])
    p95 = _p95(latencies) if latencies else float("nan")
    worst = max(latencies) if latencies else float("nan")
    median = statistics.median(latencies) if latencies else float("nan")
    print(
        f"saves during the import ({CLIENTS} clients, mean pause {THINK_MEAN_S} s): "
        f"{len(statuses)} POSTs, median {median * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {worst * 1000:.0f} ms; {errors_5xx} 5xx, {failed} not saved; "
        f"answered {answered}, stored {stored}: lost {max(0, answered - stored)}, "
        f"duplicated {max(0, stored - answered)}"
    )
    print(
        f"audit verify: exit {verify.returncode} ({verify.stdout.strip().splitlines()[-1:]}); "
        f"load average {load_before:.1f} before, {load_after:.1f} after"
    )
    ok = (
        importing.returncode == 0
        and visible == written
        and verify.returncode == 0
        and errors_5xx == 0
        and failed == 0
        and stored == answered
    )
    ok = ok and (p95 <= GOAL_PG_P95_S if vendor == "postgresql" else worst <= GOAL_SQLITE_MAX_S)
    if check_mb:
        big = tmp / "large.csv"
        big_rows = _write_csv(big, subjects, megabytes=check_mb)
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from tests.bench.bench_lab_import_under_use import _check_memory; "
                "_check_memory(sys.argv[1])",
                str(big),
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode:
            print(done.stderr[-2000:])
            return False
        checked, peak_mb, seconds = done.stdout.split()
        print(
            f"checking a {big.stat().st_size / 1e6:.0f} MB file ({big_rows} rows; {checked} "
            f"checked) in {seconds} s: peak RSS {peak_mb} MB (goal <= {GOAL_CHECK_RSS_MB})"
        )
        ok = ok and float(peak_mb) <= GOAL_CHECK_RSS_MB
        big.unlink()
    return ok


def main(rows: int | None = None, check_mb: int | None = None) -> bool:
    rows = rows or int(os.environ.get("MMTRIAL_BENCH_IMPORT_ROWS", "400000"))
    check_mb = (
        check_mb if check_mb is not None else int(os.environ.get("MMTRIAL_BENCH_CHECK_MB", "200"))
    )
    admin_url = os.environ.get("DATABASE_URL", "")
    name = f"mmtrial_bench_use_{os.getpid()}"
    # The caller's PYTHONPATH is kept so that a worktree's `src` is what the children run.
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "mmtrial.settings", "PYTHONPATH": path}
    if admin_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        env["DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        with tempfile.TemporaryDirectory(prefix="mmtrial-bench-use-") as tmp:
            env["MMTRIAL_DATA_DIR"] = tmp
            env["MMTRIAL_BENCH_TREATED"] = str(Path(tmp) / "treated.txt")
            env["MMTRIAL_BENCH_SUBJECTS"] = str(Path(tmp) / "subjects.txt")
            return _run(env, Path(tmp), rows, check_mb)
    finally:
        if admin_url.startswith("postgres"):
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    arguments = [int(a) for a in sys.argv[1:]]
    sys.exit(0 if main(*arguments) else 1)
