"""`mmtrial crcl` (Cockcroft-Gault) and `mmtrial dose next|day` (the dose decisions as JSON).

Options are parsed here rather than by click so that every bad input is one line on standard
error with exit status 2, naming the field (click's usage errors span several lines).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

import typer
from typer.core import TyperCommand

try:  # typer >= 0.20 vendors click; its usage errors are typer's own classes
    from typer._click.exceptions import UsageError
except ImportError:  # pragma: no cover - older typer on plain click
    from click.exceptions import UsageError

from mmtrial.commands._io import fail, print_json, read_json


class _OneLineUsageErrors(TyperCommand):
    """Click's usage errors (missing argument, option without value) as one line, exit 2."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except UsageError as exc:
            fail(exc.format_message())


dose_app = typer.Typer(
    help="Dose decisions: the next cycle's doses, or a day's holds within a cycle.",
    no_args_is_help=True,
)


def register(root: typer.Typer) -> None:
    root.command(
        "crcl",
        cls=_OneLineUsageErrors,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )(crcl)
    root.add_typer(dose_app, name="dose")


def _protocol(version: str | None):
    from mmtrial.protocol import ProtocolError, load_protocol

    try:
        return load_protocol(version)
    except ProtocolError as exc:
        fail(str(exc))


def _number(option: str, text: str | None) -> Decimal:
    if text is None:
        fail(f"{option}: missing (required)")
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        fail(f"{option}: {text!r} is not a number")
    if not value.is_finite():
        fail(f"{option}: {text!r} is not a finite number")
    return value


def _fmt(value: float) -> str:
    return f"{value:.2f}"


def crcl(
    ctx: typer.Context,
    age: str | None = typer.Option(None, "--age", help="Age in years."),
    sex: str | None = typer.Option(None, "--sex", help="female or male."),
    weight_kg: str | None = typer.Option(None, "--weight-kg", help="Actual body weight in kg."),
    creatinine_mg_dl: str | None = typer.Option(
        None, "--creatinine-mg-dl", help="Serum creatinine in mg/dL."
    ),
    creatinine_umol_l: str | None = typer.Option(
        None, "--creatinine-umol-l", help="Serum creatinine in umol/L (instead of mg/dL)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON object."),
    version: str | None = typer.Option(
        None, "--protocol-version", help="A bundled protocol version."
    ),
) -> None:
    """Creatinine clearance by Cockcroft-Gault (constants and limits from the protocol file)."""
    from mmtrial.clinical.renal import creatinine_clearance, creatinine_clearance_umol_l
    from mmtrial.errors import InputError

    if ctx.args:
        fail(f"{ctx.args[0]}: unknown option or argument (see mmtrial crcl --help)")

    option_of = {
        "age_years": "--age",
        "sex": "--sex",
        "weight_kg": "--weight-kg",
        "creatinine_mg_dl": "--creatinine-mg-dl",
        "creatinine_umol_l": "--creatinine-umol-l",
    }
    if sex is None:
        fail("--sex: missing (required: female or male)")
    sex_value = sex.strip().lower()
    if sex_value not in ("female", "male"):
        fail(f"--sex: {sex!r} must be female or male")
    if (creatinine_mg_dl is None) == (creatinine_umol_l is None):
        fail("--creatinine-mg-dl / --creatinine-umol-l: give exactly one of them")
    age_value = _number("--age", age)
    weight_value = _number("--weight-kg", weight_kg)
    protocol = _protocol(version)
    try:
        if creatinine_umol_l is not None:
            result = creatinine_clearance_umol_l(
                age_years=age_value,
                sex=sex_value,
                weight_kg=weight_value,
                creatinine_umol_l=_number("--creatinine-umol-l", creatinine_umol_l),
                protocol=protocol,
            )
        else:
            result = creatinine_clearance(
                age_years=age_value,
                sex=sex_value,
                weight_kg=weight_value,
                creatinine_mg_dl=_number("--creatinine-mg-dl", creatinine_mg_dl),
                protocol=protocol,
            )
    except InputError as exc:
        option = option_of.get(exc.extra.get("field", ""))
        fail(f"{option}: {exc.extra.get('problem', exc.message)}" if option else exc.message)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        typer.echo(f"CrCl {_fmt(result.crcl_ml_min)} mL/min (Cockcroft-Gault: {result.formula})")


def _validation_message(exc: Any) -> str:
    """The first pydantic error as `field.path: problem`, in words."""
    item = exc.errors(include_url=False)[0]
    loc = ""
    for part in item["loc"]:
        loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
    kind = item["type"]
    if kind == "extra_forbidden":
        message = "unknown field"
    elif kind == "missing":
        message = "missing required field"
    else:
        message = item["msg"].removeprefix("Value error, ")
        value = item.get("input")
        if isinstance(value, Decimal):
            message = f"{value}: {message}"
        elif not isinstance(value, dict | list):
            message = f"{value!r}: {message}"
    return f"{loc or '(top level)'}: {message}"


def _decide(source: str, model: Any, decide: Any, version: str | None) -> None:
    from pydantic import ValidationError

    from mmtrial.errors import InputError

    data = read_json(source, decimals=True)
    try:
        facts = model.model_validate(data)
    except ValidationError as exc:
        fail(_validation_message(exc))
    protocol = _protocol(version)
    try:
        decision = decide(facts, protocol=protocol)
    except InputError as exc:
        fail(exc.message)
    print_json(decision.model_dump(mode="json"))


@dose_app.command("next", cls=_OneLineUsageErrors)
def dose_next(
    source: str = typer.Argument(..., metavar="FILE|-", help="CycleFacts JSON, or - for stdin."),
    version: str | None = typer.Option(
        None, "--protocol-version", help="A bundled protocol version."
    ),
) -> None:
    """The dose decision for the cycle about to start (CycleFacts JSON in, DoseDecision out)."""
    from mmtrial.clinical.dosing import CycleFacts, decide_next_cycle

    _decide(source, CycleFacts, decide_next_cycle, version)


@dose_app.command("day", cls=_OneLineUsageErrors)
def dose_day(
    source: str = typer.Argument(..., metavar="FILE|-", help="DayFacts JSON, or - for stdin."),
    version: str | None = typer.Option(
        None, "--protocol-version", help="A bundled protocol version."
    ),
) -> None:
    """Give or hold each drug on a day within a cycle (DayFacts JSON in, DayDecision out)."""
    from mmtrial.clinical.dosing import DayFacts, decide_day

    _decide(source, DayFacts, decide_day, version)
