"""Benchmark: the full study report (PDF) for 1,000 participants.

Goal (issue 7): <= 15 s and <= 1 GB peak memory for `mmtrial report --adam DIR --out report.pdf`,
run as a separate process (peak memory = its maximum resident set size, from
`resource.getrusage(RUSAGE_CHILDREN)`). The ADaM datasets are generated beforehand (not timed).
The process is single-threaded, so the time goal is checked on its CPU time (user + system),
which other jobs sharing the machine do not inflate; the wall time is printed beside it.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mmtrial.analysis.fixtures import random_study, write_adam_dir

N_PARTICIPANTS = 1000
GOAL_SECONDS = 15.0
GOAL_PEAK_MB = 1024.0


def run_report(adam_dir: Path, out: Path, *extra: str) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds and peak RSS (MB) of one `mmtrial report` process."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "mmtrial",
            "report",
            "--adam",
            str(adam_dir),
            "--out",
            str(out),
            *extra,
        ],
        check=True,
        capture_output=True,
    )
    seconds = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    # ru_maxrss of children is the maximum over all children waited for so far; the report is
    # the only child of this process, so it is the report's peak.
    return (
        seconds,
        usage.ru_utime + usage.ru_stime - cpu_before,
        max(usage.ru_maxrss, before) / 1024,
    )


def main() -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        folder = write_adam_dir(
            random_study(n_participants=N_PARTICIPANTS, seed=7), Path(tmp) / "adam"
        )
        seconds, cpu, peak_mb = run_report(folder, Path(tmp) / "report.pdf")
        pages = Path(tmp, "report.pdf").stat().st_size
    ok = cpu <= GOAL_SECONDS and peak_mb <= GOAL_PEAK_MB
    print(
        f"report for {N_PARTICIPANTS} participants: {seconds:.1f} s wall, {cpu:.1f} s CPU "
        f"(goal <= {GOAL_SECONDS:.0f} s), "
        f"peak memory {peak_mb:.0f} MB (goal <= {GOAL_PEAK_MB:.0f} MB), PDF {pages / 1024:.0f} KiB"
        f" -> {'OK' if ok else 'GOAL MISSED'}"
    )
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
