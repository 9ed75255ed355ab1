"""`mmtrial protocol show|validate|export`: the study protocol as readable tables, JSON or USDM."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from mmtrial.commands._io import EXIT_BAD_INPUT, print_json
from mmtrial.protocol import Protocol, ProtocolError, load_protocol, load_protocol_file

app = typer.Typer(help="Show or validate the study protocol file.", no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="protocol")


def _add(table: Table, *cells: str) -> None:
    """Add a row of plain text: sources such as [seed] are not rich markup."""
    table.add_row(*(Text(cell) for cell in cells))


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _day_list(days: list[int]) -> str:
    """1, 8, 15 or 1-21: consecutive runs are shown as ranges."""
    runs: list[str] = []
    start = prev = days[0]
    for day in [*days[1:], None]:
        if day is not None and day == prev + 1:
            prev = day
            continue
        runs.append(str(start) if start == prev else f"{start}-{prev}")
        if day is not None:
            start = prev = day
    return ", ".join(runs)


def _cycles(first: int, last: int | None) -> str:
    if last is None:
        return f"{first} and later"
    return str(first) if first == last else f"{first}-{last}"


def render(protocol: Protocol, console: Console) -> None:
    ident = protocol.identification
    console.print(Text(ident.title, style="bold"))
    console.print(
        f"{ident.study_id} · protocol version {ident.version} · effective {ident.effective_date}"
        f" · phase {ident.phase} · {ident.design}"
    )
    console.print(f"Cycle length: {protocol.cycle_length_days} days\n")

    renal = protocol.renal
    regimen = Table(title="Regimen")
    for col in ("Drug", "Dose", "Days of each cycle", "Route", "Frequency", "Source"):
        regimen.add_column(col)
    for key, entry in protocol.regimen.items():
        dose = f"{_fmt(entry.dose)} {entry.unit}"
        if key == renal.start.drug:
            dose += (
                f" ({_fmt(renal.start.dose)} {entry.unit} when CrCl < "
                f"{_fmt(renal.start.crcl_below_ml_min)} mL/min)"
            )
        _add(
            regimen,
            protocol.drugs[key].name,
            dose,
            _day_list(entry.days),
            entry.route,
            entry.frequency,
            entry.source,
        )
    console.print(regimen)

    levels = Table(title="Dose levels")
    levels.add_column("Drug")
    levels.add_column("Start, then one level down at a time")
    levels.add_column("Below the lowest")
    for key, ladder in protocol.dose_levels.items():
        unit = protocol.drugs[key].unit
        _add(
            levels,
            protocol.drugs[key].name,
            " -> ".join(f"{_fmt(level)} {unit}" for level in ladder.levels),
            ladder.below_lowest,
        )
    console.print(levels)

    renal_table = Table(title="Renal rule (Cockcroft-Gault)")
    renal_table.add_column("Rule")
    renal_table.add_column("Source")
    _add(
        renal_table,
        f"CrCl < {_fmt(renal.start.crcl_below_ml_min)} mL/min: start {renal.start.drug} at "
        f"{_fmt(renal.start.dose)} mg",
        renal.start.source,
    )
    for esc in renal.escalations:
        _add(renal_table, esc.text, esc.source)
    console.print(renal_table)

    visits = Table(title="Visit plan")
    visits.add_column("Cycles")
    visits.add_column("Visits per cycle")
    visits.add_column("Days")
    for plan in protocol.visits.treatment:
        _add(
            visits,
            _cycles(plan.cycles.first, plan.cycles.last),
            str(len(plan.days)),
            _day_list(plan.days),
        )
    console.print(visits)
    windows = Table(title="Visit windows")
    for col in ("Cycles", "Days", "Window"):
        windows.add_column(col)
    for window in protocol.visits.windows:
        _add(
            windows,
            _cycles(window.cycles.first, window.cycles.last),
            _day_list(window.days),
            f"-{window.before_days}/+{window.after_days} days",
        )
    eot = protocol.visits.end_of_treatment
    _add(
        windows,
        "End of treatment",
        f"{eot.days_after_end_of_treatment} days after the last dose",
        f"-{eot.before_days}/+{eot.after_days} days",
    )
    console.print(windows)

    schedule = Table(title="Assessments, follow-up and closure")
    schedule.add_column("What")
    schedule.add_column("Rule")
    ra = protocol.response_assessment
    _add(
        schedule,
        "Response assessment",
        f"{ra.criteria}, every {ra.interval_days} days from C1D1 until {ra.until}",
    )
    fu = protocol.follow_up
    _add(
        schedule,
        "Follow-up",
        f"contact every {fu.interval_days} days after {fu.starts_after} until {fu.until}",
    )
    _add(
        schedule,
        "Study closure",
        f"{protocol.study_closure.months_after_last_enrollment} "
        "months after the last participant's enrollment",
    )
    console.print(schedule)

    elig = Table(title="Eligibility")
    for col in ("Id", "Kind", "Criterion", "Check"):
        elig.add_column(col)
    for crit in protocol.eligibility:
        checks = crit.any_of or crit.all_of or ([crit.check] if crit.check else [])
        joiner = " or " if crit.any_of else " and "
        text = (
            joiner.join(
                f"{c.variable} {c.operator} {c.threshold}" + (f" {c.unit}" if c.unit else "")
                for c in checks
            )
            or "investigator's answer"
        )
        _add(elig, crit.id, crit.kind, crit.text, text)
    console.print(elig)
    if protocol.arms:
        _render_arms(protocol, console)


def _render_arms(protocol: Protocol, console: Console) -> None:
    """Arms, blinding and randomization of a version 2 file. The block sizes are not printed:
    whoever reads this may be blinded, and known block sizes let the last allocations of a
    block be guessed (ICH E9 2.3.1)."""
    arms = Table(title="Arms")
    for col in ("Arm", "Name", "What the blinded drugs hold", "Source"):
        arms.add_column(col)
    for arm in protocol.arms:
        fills = ", ".join(
            f"{protocol.drugs[drug].name}: {protocol.products[product].name}"
            for drug, product in arm.fills.items()
        )
        _add(arms, arm.id, arm.name, fills or "-", arm.source)
    console.print(arms)
    design = Table(title="Blinding and randomization")
    design.add_column("What")
    design.add_column("Rule")
    if protocol.blinding is not None:
        b = protocol.blinding
        _add(design, "Blinding", b.level.replace("_", "-"))
        _add(design, "Who sees the allocation", ", ".join(b.unblinded_roles))
        if b.emergency_unblinding is not None:
            e = b.emergency_unblinding
            reason = "with a reason" if e.reason_required else "without a reason"
            _add(
                design,
                "Emergency unblinding",
                f"the participant's {e.role}, {reason}; told: {', '.join(e.notify) or '-'}",
            )
    r = protocol.randomization
    if r is not None:
        _add(design, "Randomization", f"{r.ratio}, permuted blocks of concealed, varied size")
        for stratum in r.strata:
            levels = " vs ".join(level.name for level in stratum.levels)
            _add(design, f"Stratum: {stratum.name}", f"{levels} (from {stratum.variable})")
    console.print(design)


def protocol_as_json(protocol: Protocol) -> dict:
    """The validated model as JSON, without the randomization's block sizes (see
    `_render_arms`): they stay in the file, which only the deployment reads."""
    data = protocol.model_dump(mode="json")
    if data.get("randomization"):
        data["randomization"].pop("block_multiples", None)
    return data


@app.command("show")
def show(
    as_json: bool = typer.Option(False, "--json", help="Print the full validated model as JSON."),
    file: Path | None = typer.Option(
        None, "--file", help="A protocol file instead of the bundled one."
    ),
    version: str | None = typer.Option(
        None, "--protocol-version", help="A bundled protocol version."
    ),
) -> None:
    """Show the study protocol: regimen, dose levels, visit plan, eligibility."""
    protocol = load_protocol_file(file) if file else load_protocol(version)
    if as_json:
        print_json(protocol_as_json(protocol))
    else:
        render(protocol, Console())


@app.command("validate")
def validate(file: Path = typer.Argument(..., help="The protocol file to check.")) -> None:
    """Validate a protocol file: exit 0 with a summary, or exit 2 naming each problem's field."""
    try:
        protocol = load_protocol_file(file)
    except ProtocolError as exc:
        for problem in exc.problems:
            sys.stderr.write(f"{exc.source}: {problem}\n")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    ident = protocol.identification
    typer.echo(
        f"{file}: valid protocol {ident.study_id} version {ident.version} "
        f"({len(protocol.drugs)} drugs, {protocol.cycle_length_days}-day cycles, "
        f"{len(protocol.eligibility)} eligibility criteria)"
    )


USDM_UNEXPLAINED = "{path}: usdm4's rules found {count} problem(s) (listed above)"


@app.command("export")
def export(
    usdm: Path = typer.Option(..., "--usdm", help="Write the protocol as CDISC USDM v4 JSON here."),
    file: Path | None = typer.Option(
        None, "--file", help="A protocol file instead of the bundled one."
    ),
    version: str | None = typer.Option(
        None, "--protocol-version", help="A bundled protocol version."
    ),
    validate_usdm: bool = typer.Option(
        True, "--validate/--no-validate", help="Run usdm4's rules on the written file."
    ),
) -> None:
    """The protocol as CDISC USDM v4 (usdm4): arms, epochs, encounters, activities, schedule."""
    from mmtrial.protocol.usdm import KNOWN_FINDINGS, UsdmError, usdm_validate, write_usdm

    protocol = load_protocol_file(file) if file else load_protocol(version)
    if not usdm.parent.is_dir():
        sys.stderr.write(f"error: --usdm: the folder {usdm.parent} does not exist\n")
        raise typer.Exit(EXIT_BAD_INPUT)
    try:
        write_usdm(protocol, usdm)
    except UsdmError as exc:
        sys.stderr.write(f"error: {exc}\n")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    typer.echo(
        f"wrote {usdm}: USDM v4 of {protocol.identification.study_id} {protocol.identification.version}"
    )
    if not validate_usdm:
        return
    report = usdm_validate(usdm)
    typer.echo(
        f"usdm4 rules: {len(report.passed)} passed, {len(report.failed)} failed, "
        f"{len(report.exceptions)} raised, {len(report.not_implemented)} not implemented; "
        "CORE rules not run (they need the network; not counted)"
    )
    for rule in report.failed:
        if rule in KNOWN_FINDINGS:
            typer.echo(f"  {rule} (known, not the document's): {KNOWN_FINDINGS[rule]}")
    problems = report.unexplained()
    for problem in problems:
        sys.stderr.write(f"{problem['rule_id']}: {problem['message']} at {problem['path']}\n")
    for rule in report.exceptions:
        sys.stderr.write(f"{rule}: the rule raised an exception\n")
    if problems or report.exceptions:
        sys.stderr.write(
            USDM_UNEXPLAINED.format(path=usdm, count=len(problems) + len(report.exceptions)) + "\n"
        )
        raise typer.Exit(EXIT_BAD_INPUT)
