"""`mmtrial analyze` (efficacy summary, contracts/analyze.md) and `mmtrial report` (PDF / HTML)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import typer

from mmtrial.commands._io import fail, print_json
from mmtrial.errors import MmtrialError

NO_DATABASE_SOURCE = (
    "the study database cannot be analysed yet: mmtrial.edc provides no analysis data "
    "(selector analysis_source); pass --adam DIR with adsl, adrs and adtte datasets"
)
EMPTY_DATABASE = (
    "the study database has no participants to analyse yet; pass --adam DIR with adsl, adrs "
    "and adtte datasets"
)


def register(root: typer.Typer) -> None:
    root.command("analyze")(analyze)
    root.command("report")(report)


def _adam_from_database(data_cut: date | None = None) -> Any:
    """Thin adapter: the EDC's plain per-participant frames -> ADaM frames via `derive_*`.

    The EDC lead wires `mmtrial.edc.selectors.analysis_source()` returning a
    `mmtrial.analysis.derive.StudySource`; until then this exits 2 with a clear message.
    """
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmtrial.settings")
    try:
        import django

        django.setup()
        from mmtrial.edc import selectors  # type: ignore[attr-defined]

        source_fn = selectors.analysis_source
    except Exception as exc:  # no EDC selector yet, or Django cannot start: same answer
        raise MmtrialError(NO_DATABASE_SOURCE) from exc
    from mmtrial.analysis.adam_io import AdamDatasets, check_adrs, check_adsl, check_adtte
    from mmtrial.analysis.derive import derive_adlb, derive_adrs, derive_adsl, derive_adtte

    if data_cut is not None and data_cut > date.today():
        raise MmtrialError.coded(DATA_CUT_IN_FUTURE, cut=data_cut, today=date.today())
    try:
        source = source_fn(data_cut_date=data_cut)
        if data_cut is None and _latest_cut(source) > (today := date.today()):
            # The default cut is the latest recorded date; a date after today (a dose entered
            # with a future date) would report data that has not happened yet: cut at today.
            source = source_fn(data_cut_date=today)
    except Exception as exc:  # e.g. tables not migrated: the database cannot be read
        raise MmtrialError(
            f"the study database cannot be read ({exc}); pass --adam DIR with adsl, adrs and "
            "adtte datasets"
        ) from exc
    if source is None or len(source.participants) == 0:
        raise MmtrialError(EMPTY_DATABASE)
    adsl = derive_adsl(source.participants, responses=source.responses)
    adrs = derive_adrs(source.participants, responses=source.responses)
    adtte = derive_adtte(source.participants, responses=source.responses)
    optional = {}
    if source.imwg_inputs:
        optional["adlb"] = derive_adlb(source.participants, imwg_inputs=source.imwg_inputs)
    if source.adverse_events is not None:
        optional["adae"] = source.adverse_events
    if source.exposure is not None:
        optional["adex"] = source.exposure
    return AdamDatasets(
        adsl=check_adsl(adsl),
        adrs=check_adrs(adrs),
        adtte=check_adtte(adtte),
        optional=optional,
        files={},
    )


DATA_CUT_WITH_ADAM = "--data-cut applies to the study database; ADaM datasets carry their own cut"


DATA_CUT_IN_FUTURE = "--data-cut: {cut} is after today ({today}): a data cut-off is never later than the day the report is made"


def _latest_cut(source: Any) -> date:
    cuts = [d for d in source.participants.get("data_cut_date", []) if d is not None]
    return max(cuts, default=date.min)


def _data_cut(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        cut = date.fromisoformat(text)
    except ValueError:
        fail(f"--data-cut: {text!r} is not a date (YYYY-MM-DD)")
    return cut


def load_adam(adam: Path | None, data_cut: date | None = None) -> Any:
    from mmtrial.analysis.adam_io import read_adam_dir

    if adam is not None:
        if data_cut is not None:
            fail(DATA_CUT_WITH_ADAM)
        return read_adam_dir(adam)
    return _adam_from_database(data_cut)


DATA_CUT_OPTION = typer.Option(
    None,
    "--data-cut",
    help="Data cut-off date (YYYY-MM-DD) for the study database: later data are left out.",
)


def _fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _fmt_months(value: float | None) -> str:
    return "NR" if value is None else f"{value:.1f}"


def render_summary(summary: dict[str, Any]) -> None:
    """The efficacy summary as readable tables (one decimal, NR = not reached)."""
    from rich.console import Console
    from rich.table import Table

    from mmtrial.analysis.codelists import TTE_LABELS_EN

    console = Console()
    pops = summary["populations"]
    table = Table(title="Analysis populations")
    for col in ("Enrolled", "Safety", "Response-evaluable"):
        table.add_column(col, justify="right")
    table.add_row(str(pops["enrolled"]), str(pops["safety"]), str(pops["response_evaluable"]))
    console.print(table)

    best = summary["best_response"]
    table = Table(title=f"Confirmed best overall response (response-evaluable, N = {best['n']})")
    table.add_column("Response")
    table.add_column("n", justify="right")
    table.add_column("%", justify="right")
    for category, count in best["counts"].items():
        pct = count / best["n"] * 100 if best["n"] else None
        table.add_row(category, str(count), _fmt_pct(pct))
    console.print(table)

    table = Table(title="Response rates (exact Clopper-Pearson 95% CI)")
    for col in ("Endpoint", "n/N", "%", "95% CI"):
        table.add_column(col, justify="right" if col != "Endpoint" else "left")
    labels = {
        "orr": "ORR (PR or better)",
        "vgpr_or_better": "VGPR or better",
        "cr_or_better": "CR or better",
    }
    for key, label in labels.items():
        rate = summary[key]
        low, high = rate["ci95"]
        table.add_row(
            label,
            f"{rate['responders']}/{rate['n']}",
            _fmt_pct(rate["percent"]),
            f"{_fmt_pct(low)} - {_fmt_pct(high)}",
        )
    console.print(table)

    table = Table(title="Time to event (Kaplan-Meier; Brookmeyer-Crowley log(-log) 95% CI)")
    for col in ("Endpoint", "N", "Events", "Median (months)", "95% CI (months)"):
        table.add_column(col, justify="right" if col != "Endpoint" else "left")
    for paramcd, entry in summary["time_to_event"].items():
        low, high = entry["ci95_months"]
        table.add_row(
            f"{TTE_LABELS_EN.get(paramcd, paramcd)} ({paramcd})",
            str(entry["n"]),
            str(entry["events"]),
            _fmt_months(entry["median_months"]),
            f"{_fmt_months(low)} - {_fmt_months(high)}",
        )
    if not summary["time_to_event"]:
        table.add_row("(no time-to-event records)", "", "", "", "")
    console.print(table)


def analyze(
    adam: Path | None = typer.Option(
        None,
        "--adam",
        help="Directory with adsl, adrs, adtte as CSV or SAS XPT v5 (lower-case file names). "
        "Without it, the datasets are derived from the study database.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    data_cut: str | None = DATA_CUT_OPTION,
    by: str | None = typer.Option(
        None,
        "--by",
        help="A randomized, blinded study: the unblinded statistician (authenticated) for whom "
        "the arms are compared; without it, or while the study is blinded, the pooled summary.",
    ),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read --by's password."),
) -> None:
    """Efficacy summary: populations, best response, ORR / VGPR+ / CR+ with exact CIs, KM medians;
    for a randomized study, the arms compared (stratified log-rank and Cox) when allowed."""
    from mmtrial.analysis.summary import efficacy_summary

    try:
        data = load_adam(adam, _data_cut(data_cut))
        summary = efficacy_summary(data.adsl, adrs=data.adrs, adtte=data.adtte)
        if adam is None:
            compared = _two_arm(data, by=by, password_stdin=password_stdin)
            if compared is not None:
                summary["two_arm"] = compared
    except (MmtrialError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json(summary)
    else:
        render_summary(summary)
        if "two_arm" in summary:
            render_two_arm(summary["two_arm"])


BLINDED_NOTE = (
    "blinded study: the summary pools both arms; the arms are compared for the unblinded "
    "statistician (--by) or once the study is unblinded"
)


def _arms_allowed(*, by: str | None, password_stdin: bool) -> Any:
    """(arms, strata, protocol) of a randomized study for a user who may see them, else None."""
    from mmtrial.protocol import load_protocol

    protocol = load_protocol()
    if not protocol.randomized:
        return None
    from mmtrial.edc.selectors.randomization import arms_and_strata
    from mmtrial.edc.services.randomization import study_is_unblinded
    from mmtrial.errors import PermissionDenied

    user = None
    if by is not None:
        from mmtrial.commands._auth import authenticated_user

        user, _method = authenticated_user(by, password_stdin=password_stdin)
    if user is None and not study_is_unblinded():
        typer.echo(f"note: {BLINDED_NOTE}", err=True)
        return None
    try:
        arms, strata = arms_and_strata(user=user)
    except PermissionDenied as exc:
        raise MmtrialError(str(exc)) from None
    return arms, strata, protocol


def _two_arm(data: Any, *, by: str | None, password_stdin: bool) -> dict[str, Any] | None:
    """The arms compared, for a randomized protocol and a user who may see them."""
    two = _arms_of(data, by=by, password_stdin=password_stdin)
    if two is None:
        return None
    from mmtrial.analysis.two_arm import two_arm_summary

    return two_arm_summary(
        two.adsl, adrs=data.adrs, adtte=data.adtte, arms=two.arms, strata=two.strata
    )


def _arms_of(data: Any, *, by: str | None, password_stdin: bool) -> Any:
    """The datasets' subjects with their arms and strata (TwoArmInput), or None (blinded)."""
    found = _arms_allowed(by=by, password_stdin=password_stdin)
    if found is None:
        return None
    from mmtrial.analysis.report_two_arm import TwoArmInput
    from mmtrial.analysis.two_arm import with_arms

    arms, strata, protocol = found
    return TwoArmInput(
        adsl=with_arms(data.adsl, arms=arms, strata=strata),
        arms=[(a.id, a.name) for a in protocol.arms],
        strata=[s.id for s in protocol.randomization.strata],
        level_names={
            (s.id, level.id): f"{s.name}: {level.name}"
            for s in protocol.randomization.strata
            for level in s.levels
        },
    )


def render_two_arm(compared: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from mmtrial.analysis.report_two_arm import format_hr, format_p

    console = Console()
    names = {a["id"]: a["name"] for a in compared["arms"]}
    first, second = (a["id"] for a in compared["arms"][:2])
    table = Table(title=f"By arm: {names[first]} vs {names[second]}")
    for col in ("Endpoint", names[first], names[second], "Difference / HR (95% CI)", "p"):
        table.add_column(col)
    for key, label in (("orr", "ORR"), ("vgpr_or_better", "VGPR or better")):
        entry = compared["rates"][key]
        cells = []
        for arm in (first, second):
            rate = entry["by_arm"][arm]
            cells.append(f"{rate['responders']}/{rate['n']} {_fmt_pct(rate['percent'])}%")
        diff = entry.get("difference")
        text = (
            f"{diff['percent']:+.1f} ({diff['ci95'][0]:.1f} to {diff['ci95'][1]:.1f})"
            if diff
            else "-"
        )
        table.add_row(label, *cells, text, "")
    for paramcd, entry in compared["time_to_event"].items():
        medians = []
        for arm in (first, second):
            km = entry["km_by_arm"].get(arm)
            medians.append(f"median {_fmt_months(km['median_months'])} mo" if km else "-")
        table.add_row(
            paramcd,
            *medians,
            f"HR {format_hr(entry['stratified_cox'], 'en')}",
            format_p(entry["stratified_logrank"]["p_value"], "en"),
        )
    console.print(table)


def _operations():
    """Central monitoring and the enrollment forecast, read from the study database today."""
    from django.utils import timezone

    from mmtrial.edc.selectors.kri_inputs import study_operations
    from mmtrial.protocol.loader import load_protocol

    return study_operations(protocol=load_protocol(), as_of=timezone.localdate())


def report(
    out: Path | None = typer.Option(None, "--out", help="Write the report as PDF to this file."),
    html: Path | None = typer.Option(None, "--html", help="Write the report as HTML to this file."),
    adam: Path | None = typer.Option(
        None, "--adam", help="ADaM directory (as for analyze); default: the study database."
    ),
    lang: str = typer.Option("en", "--lang", help="Report language: en or ja."),
    data_cut: str | None = DATA_CUT_OPTION,
    by: str | None = typer.Option(
        None,
        "--by",
        help="A randomized, blinded study: the unblinded statistician (authenticated) for whom "
        "the arms are compared; without it, or while the study is blinded, the pooled report.",
    ),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read --by's password."),
) -> None:
    """Study report: populations, response and survival tables, safety, exposure and plots;
    for a randomized study, the arms compared (KM by arm, forest plot) when allowed."""
    if lang not in ("en", "ja"):
        fail(f"--lang must be en or ja, not {lang!r}")
    if out is None and html is None:
        fail("give --out REPORT.pdf and/or --html REPORT.html")
    try:
        data = load_adam(adam, _data_cut(data_cut))
        from mmtrial.analysis.report import build_report

        two_arm = operations = None
        if adam is None:
            two_arm = _arms_of(data, by=by, password_stdin=password_stdin)
            operations = _operations()
        build_report(
            data, pdf_path=out, html_path=html, lang=lang, progress=True, two_arm=two_arm,
            operations=operations,
        )  # fmt: skip
    except (MmtrialError, ValueError) as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write the report: {exc.strerror or exc}")
    for path in (out, html):
        if path is not None:
            typer.echo(f"wrote {path}")
