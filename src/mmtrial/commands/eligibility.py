"""`mmtrial eligibility check FILE|-`: every eligibility criterion evaluated, JSON in and out."""

from __future__ import annotations

import typer

from mmtrial.commands._io import fail, print_json, read_json

app = typer.Typer(help="Evaluate a candidate's eligibility criteria.", no_args_is_help=True)

INPUT_KEYS = ("values", "answers")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="eligibility")


def _protocol(version: str | None):
    from mmtrial.protocol import ProtocolError, load_protocol

    try:
        return load_protocol(version)
    except ProtocolError as exc:
        fail(str(exc))


@app.command("check")
def check(
    source: str = typer.Argument(
        ..., help='JSON file ({"values": {...}, "answers": {...}}), or \'-\'.'
    ),
    version: str | None = typer.Option(
        None, "--protocol-version", help="A bundled protocol version (default: newest)."
    ),
) -> None:
    """Evaluate each criterion to met / not_met / missing and print the result as JSON."""
    from mmtrial.clinical.eligibility import evaluate
    from mmtrial.errors import MmtrialError

    data = read_json(source)
    if not isinstance(data, dict):
        fail('input: expected a JSON object {"values": {...}, "answers": {...}}')
    for key in data:
        if key not in INPUT_KEYS:
            fail(f"{key}: unknown field (expected: {', '.join(INPUT_KEYS)})")
    protocol = _protocol(version)
    try:
        result = evaluate(
            values=data["values"] if data.get("values") is not None else {},
            answers=data.get("answers"),
            protocol=protocol,
        )
    except MmtrialError as exc:
        fail(str(exc))
    print_json(result.model_dump(mode="json"))


@app.command("variables")
def variables(
    version: str | None = typer.Option(
        None, "--protocol-version", help="A bundled protocol version (default: newest)."
    ),
) -> None:
    """List the variables and free-text criteria the check reads, as JSON."""
    from mmtrial.clinical.eligibility import known_variables

    protocol = _protocol(version)
    print_json(
        {
            "values": known_variables(protocol),
            "answers": [c.id for c in protocol.eligibility if c.free_text],
        }
    )
