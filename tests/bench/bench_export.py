"""Benchmark: the SDTM and ADaM packages (XPT v5, define.xml, conformance check) of a study of
about 1,000 enrolled participants.

Goal (issue 13): SDTM + ADaM + define.xml for 1,000 participants in <= 30 s and <= 1 GB. The
database is built first (not timed): a fresh SQLite database in a temporary folder, the demo
study seeded through the EDC services, then copied to 34 x 30 = 1,020 enrolled participants
(tests/cdisc/simulated.py). Each export runs as its own process, `mmtrial export sdtm|adam
--out DIR --no-progress`; as for the other benchmarks the goal is checked on CPU time (user +
system of the single-threaded process, which other jobs on the machine do not inflate as much
as wall time), with the wall time and the peak resident memory printed beside it.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COPIES = 33
GOAL_SECONDS = 30.0
GOAL_PEAK_MB = 1024.0

_SEED = f"""
import io, django
django.setup()
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
call_command("migrate", interactive=False, verbosity=0)
from mmtrial.sim.demo import seed_demo_study
from tests.cdisc.simulated import replicate_study
with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
    seed_demo_study(stdout=io.StringIO())
with transaction.atomic():
    replicate_study(copies={COPIES})
"""


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(MMTRIAL_DATA_DIR=str(data_dir), DJANGO_SETTINGS_MODULE="mmtrial.settings")
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _export(kind: str, out: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one export process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mmtrial", "export", kind, "--out", str(out), "--no-progress"],
        check=True, capture_output=True, env=env,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, after.ru_maxrss / 1024


def main() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        env = _env(data)
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", _SEED], check=True, env=env, cwd=ROOT)
        print(
            f"database: demo study copied to 1,020 enrolled participants in {time.perf_counter() - started:.0f} s"
        )
        total_cpu, peak = 0.0, 0.0
        for kind in ("sdtm", "adam"):
            out = Path(tmp) / kind
            wall, cpu, rss = _export(kind, out, env)
            total_cpu += cpu
            peak = max(peak, rss)
            size = sum(p.stat().st_size for p in out.iterdir()) / 2**20
            print(
                f"export {kind}: {wall:.1f} s wall, {cpu:.1f} s CPU, peak RSS <= {rss:.0f} MB, {size:.1f} MiB written"
            )
    ok = total_cpu <= GOAL_SECONDS and peak <= GOAL_PEAK_MB
    print(
        f"SDTM + ADaM + define.xml: {total_cpu:.1f} s CPU (goal <= {GOAL_SECONDS:.0f} s), peak "
        f"memory {peak:.0f} MB (goal <= {GOAL_PEAK_MB:.0f} MB) -> {'OK' if ok else 'GOAL MISSED'}"
    )
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
