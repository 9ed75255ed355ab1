"""Web latency under load: the participant timeline (GET) and a data-entry POST, with 1,000
participants in the database and 16 concurrent logged-in clients against a real HTTP server.

Goal (issue 6): timeline p95 <= 100 ms and data-entry POST p95 <= 150 ms on this 2-core machine.

Steps, each in its own process so that the server runs as it does for users:
1. seed a fresh database (SQLite in a temporary directory, or DATABASE_URL when set) through the
   services: 16 sites, 1,000 participants, of which TREATED have cycle 1 started with labs;
2. serve it with `mmtrial serve --workers N` (gunicorn, N worker processes; N defaults to what
   `mmtrial serve` picks for this machine, MMTRIAL_BENCH_WORKERS overrides it, and
   MMTRIAL_BENCH_SERVE_ARGS replaces the options, e.g. "--dev" for Django's development server);
3. 16 client threads log in, then each GETs random treated participants' timelines and POSTs
   lab values (the lab-entry form) to them; latencies are measured at the client. First closed
   loop (each client sends its next request as soon as the last one is answered: the goal's
   test), then paced (a random pause of THINK_MEAN_S on average before each request).
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import os
import random
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

PARTICIPANTS = 1000
TREATED = 60
SITES = 16
CLIENTS = 16
GETS_PER_CLIENT = 40
POSTS_PER_CLIENT = 12
# The paced run: each client pauses a random time (exponential, this mean) before each request,
# still far busier than a person at a keyboard; the closed-loop run (no pause) is the goal's test.
THINK_MEAN_S = 0.5
GOAL_TIMELINE_P95_MS = 100
GOAL_POST_P95_MS = 150
PASSWORD = "bench password 2026"
ROOT = Path(__file__).resolve().parents[2]


def _seed() -> None:
    """Runs in a child process with DJANGO_SETTINGS_MODULE set."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils import timezone

    from mmtrial.edc.audit import audit_actor
    from mmtrial.edc.models import Membership, Site, User
    from mmtrial.edc.services.labs import lab_result_record
    from mmtrial.edc.services.participants import (
        participant_enroll,
        participant_register,
        screening_record,
    )
    from mmtrial.edc.services.treatment import cycle_start
    from tests.web.flow import ELIGIBLE_ANSWERS, ELIGIBLE_VALUES

    call_command("migrate", interactive=False, verbosity=0)
    hashed = make_password(PASSWORD)
    sites = [
        Site.objects.create(code=f"JP{n:02d}", name=f"Site {n}", timezone="Asia/Tokyo")
        for n in range(1, SITES + 1)
    ]
    coordinators = []
    for site in sites:
        user = User.objects.create(
            username=f"coord_{site.code.lower()}",
            password=hashed,
            full_name=f"Coord {site.code}",
            password_changed_at=timezone.now(),
        )
        Membership.objects.create(user=user, site=site, role="coordinator")
        coordinators.append(user)
    # only an investigator answers the criteria the investigator judges
    investigators = []
    for site in sites:
        user = User.objects.create(
            username=f"inv_{site.code.lower()}",
            password=hashed,
            full_name=f"Investigator {site.code}",
            password_changed_at=timezone.now(),
        )
        Membership.objects.create(user=user, site=site, role="investigator")
        investigators.append(user)
    today = dt.date.today()
    consent, c1d1 = today - dt.timedelta(days=40), today - dt.timedelta(days=30)
    treated = []
    for n in range(PARTICIPANTS):
        site, user = sites[n % SITES], coordinators[n % SITES]
        with audit_actor(user, via="bench"):
            p = participant_register(
                user=user,
                site_id=site.pk,
                screening_number=f"SCR-{n:04d}",
                sex="female" if n % 2 else "male",
                year_of_birth=1950 + n % 20,
                consent_date=consent,
            )
            if n < TREATED:
                screening_record(
                    user=investigators[n % SITES],
                    participant_id=p.pk,
                    screened_on=consent + dt.timedelta(days=1),
                    values=ELIGIBLE_VALUES,
                    answers=ELIGIBLE_ANSWERS,
                )
                p.refresh_from_db()
                participant_enroll(
                    user=user,
                    participant_id=p.pk,
                    enrolled_on=consent + dt.timedelta(days=2),
                    expected_version=p.version,
                )
                for analyte, value, unit in (
                    ("creatinine", "1.0", "mg/dL"),
                    ("anc", "1500", "/mm3"),
                    ("platelets", "150000", "/mm3"),
                    ("serum_m_protein", "2.4", "g/dL"),
                ):
                    lab_result_record(
                        user=user,
                        participant_id=p.pk,
                        analyte=analyte,
                        value=value,
                        unit=unit,
                        collected_on=c1d1,
                    )
                cycle_start(user=user, participant_id=p.pk, start_date=c1d1)
                treated.append((p.pk, user.username))
    with open(os.environ["MMTRIAL_BENCH_TREATED"], "w") as handle:
        handle.write("\n".join(f"{pk} {username}" for pk, username in treated))


def _serve_args() -> list[str]:
    """The `mmtrial serve` options of this run (see the module docstring)."""
    if "MMTRIAL_BENCH_SERVE_ARGS" in os.environ:
        return shlex.split(os.environ["MMTRIAL_BENCH_SERVE_ARGS"])
    from mmtrial.commands._serving import default_workers

    workers = os.environ.get("MMTRIAL_BENCH_WORKERS") or default_workers(cpu_count=os.cpu_count())
    return ["--workers", str(workers)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Browser:
    """A logged-in client with its own cookies (session and CSRF token)."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )
        page = self.opener.open(base + "/login/").read().decode()
        self.post("/login/", {"username": username, "password": PASSWORD}, page=page)

    def _token(self, page: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def get(self, path: str) -> tuple[int, str]:
        response = self.opener.open(self.base + path)
        return response.status, response.read().decode()

    def post(self, path: str, data: dict, *, page: str) -> int:
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self._token(page)}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + path}
        )
        try:
            return self.opener.open(request).status
        except urllib.error.HTTPError as exc:
            return exc.code


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 20 else max(values)


def _load(
    base: str, treated: list[tuple[int, str]], *, think_mean_s: float = 0.0
) -> tuple[list[float], list[float], int]:
    gets: list[float] = []
    posts: list[float] = []
    errors = 0
    lock = threading.Lock()
    by_user: dict[str, list[int]] = {}
    for pk, username in treated:
        by_user.setdefault(username, []).append(pk)
    users = sorted(by_user)
    today = dt.date.today()

    def client(index: int) -> None:
        nonlocal errors
        username = users[index % len(users)]
        rng = random.Random(index)
        browser = Browser(base, username)
        mine = by_user[username]
        local_gets, local_posts, local_errors = [], [], 0

        def think() -> None:
            if think_mean_s:
                time.sleep(rng.expovariate(1 / think_mean_s))

        for _ in range(GETS_PER_CLIENT):
            think()
            pk = rng.choice(mine)
            start = time.perf_counter()
            status, _body = browser.get(f"/participants/{pk}/")
            local_gets.append((time.perf_counter() - start) * 1000)
            local_errors += status != 200
        for _ in range(POSTS_PER_CLIENT):
            think()
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
            local_posts.append((time.perf_counter() - start) * 1000)
            local_errors += status != 302
        with lock:
            gets.extend(local_gets)
            posts.extend(local_posts)
            errors += local_errors

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return gets, posts, errors


def main() -> bool:
    with tempfile.TemporaryDirectory(prefix="mmtrial-bench-web-") as tmp:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "mmtrial.settings",
            "MMTRIAL_DATA_DIR": tmp,
            "MMTRIAL_BENCH_TREATED": str(Path(tmp) / "treated.txt"),
            "PYTHONPATH": str(ROOT),
        }
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", "from tests.bench.bench_web import _seed; _seed()"],
            env=env,
            check=True,
            cwd=ROOT,
        )
        print(
            f"seeded {PARTICIPANTS} participants ({TREATED} treated) in "
            f"{time.perf_counter() - started:.0f} s"
        )
        treated = [
            (int(pk), username)
            for pk, username in (
                line.split() for line in Path(env["MMTRIAL_BENCH_TREATED"]).read_text().splitlines()
            )
        ]
        port = _free_port()
        serve_args = _serve_args()
        print(f"server: mmtrial serve {' '.join(serve_args)}")
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mmtrial",
                "serve",
                "--port",
                str(port),
                "--no-migrate",
                *serve_args,
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    urllib.request.urlopen(base + "/login/", timeout=1)
                    break
                except OSError:
                    time.sleep(0.2)
            single = Browser(base, treated[0][1])
            for _ in range(20):  # warm up: every worker has loaded its templates
                single.get(f"/participants/{treated[0][0]}/")
            alone = []
            for _ in range(40):  # one client alone: the service time of a timeline
                start = time.perf_counter()
                single.get(f"/participants/{treated[0][0]}/")
                alone.append((time.perf_counter() - start) * 1000)
            load_before = os.getloadavg()[0]
            gets, posts, errors = _load(base, treated)
            paced_gets, paced_posts, paced_errors = _load(base, treated, think_mean_s=THINK_MEAN_S)
            errors += paced_errors
        finally:
            # The server's own process group: gunicorn's master and its workers.
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=5)
    timeline_p95, post_p95 = _p95(gets), _p95(posts)
    print(
        f"timeline GET: {len(gets)} requests, median {statistics.median(gets):.0f} ms, "
        f"p95 {timeline_p95:.0f} ms (goal <= {GOAL_TIMELINE_P95_MS})"
    )
    print(
        f"lab entry POST: {len(posts)} requests, median {statistics.median(posts):.0f} ms, "
        f"p95 {post_p95:.0f} ms (goal <= {GOAL_POST_P95_MS})"
    )
    print(
        f"timeline GET, one client alone: median {statistics.median(alone):.0f} ms, "
        f"p95 {_p95(alone):.0f} ms"
    )
    print(
        f"paced ({CLIENTS} clients, mean pause {THINK_MEAN_S} s): timeline GET median "
        f"{statistics.median(paced_gets):.0f} ms, p95 {_p95(paced_gets):.0f} ms; lab entry POST "
        f"median {statistics.median(paced_posts):.0f} ms, p95 {_p95(paced_posts):.0f} ms"
    )
    print(
        f"errors: {errors}; {CLIENTS} clients; machine {os.uname().machine}, {os.cpu_count()} "
        f"CPUs, load average {load_before:.1f} before the load, {os.getloadavg()[0]:.1f} after"
    )
    return errors == 0 and timeline_p95 <= GOAL_TIMELINE_P95_MS and post_p95 <= GOAL_POST_P95_MS


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
