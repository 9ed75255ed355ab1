"""`mmtrial imwg assess FILE|-`: one participant's IMWG 2016 response derivation, JSON in and out.

Contract: contracts/imwg.md. Bad input (invalid JSON, unknown field, wrong type, negative value,
unsorted or duplicate dates, date not ISO 8601) exits 2 with one line on standard error.
"""

from __future__ import annotations

import typer

from mmtrial.commands._io import fail, print_json, read_json

app = typer.Typer(
    help="IMWG 2016 response derivation from central lab values.", no_args_is_help=True
)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="imwg")


@app.command("assess")
def assess(
    source: str = typer.Argument(..., metavar="FILE|-", help="Input JSON file, or - for stdin."),
) -> None:
    """Derive each assessment's response, confirmation, best overall response and dates."""
    from mmtrial.clinical import imwg
    from mmtrial.errors import InputError

    data = read_json(source)
    try:
        result = imwg.assess(data)
    except InputError as exc:
        fail(exc.message)
    print_json(result.to_dict())
