"""Run every benchmark module in tests/bench (files named bench_*.py with a `main()`)."""

from __future__ import annotations

import importlib
import pkgutil
import platform
import sys
from pathlib import Path

import tests.bench


def main() -> int:
    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")
    folder = Path(tests.bench.__file__).parent
    modules = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    if not modules:
        print("no benchmarks yet")
    failures = 0
    for name in modules:
        module = importlib.import_module(f"tests.bench.{name}")
        print(f"== {name}")
        failures += 0 if module.main() else 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
