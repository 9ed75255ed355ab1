"""Protocol numbers live in the protocol file, never in Python code (design.md, rule 1).

Scans the syntax tree of every module for numeric literals that are this protocol's numbers.
The clinical core is held to the strict list; the rest of the code to the numbers that can only
mean this protocol.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mmtrial

SRC = Path(mmtrial.__file__).resolve().parent

# Cycle length, dosing days, doses, CrCl cut-offs, lab thresholds, intervals, formula constants.
# Outside the clinical core only numbers that cannot be a plot setting or a unit count.
STRICT = {28, 21, 22, 25, 60, 40, 75000, 30000, 1000, 500, 84, 2.3, 88.42, 0.85, 72, 140, 15, 8}
DISTINCTIVE = {28, 75000, 30000, 84, 2.3, 88.42}


def _literals(path: Path) -> list[tuple[int, float]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        is_number = isinstance(node, ast.Constant) and isinstance(node.value, int | float)
        if is_number and not isinstance(node.value, bool):
            found.append((node.lineno, node.value))
    return found


def _modules(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield path


def test_clinical_core_holds_no_protocol_number():
    offenders = [
        f"{path.relative_to(SRC)}:{line}: {value}"
        for path in _modules(SRC / "clinical")
        for line, value in _literals(path)
        if value in STRICT
    ]
    assert offenders == []


def test_no_module_holds_a_number_that_only_this_protocol_uses():
    offenders = [
        f"{path.relative_to(SRC)}:{line}: {value}"
        for path in _modules(SRC)
        for line, value in _literals(path)
        if value in DISTINCTIVE
    ]
    assert offenders == []
