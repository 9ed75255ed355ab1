"""The study report: the PDF opens, every page renders, each table and plot is present."""

from __future__ import annotations

import shutil
import subprocess
import warnings

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from mmtrial.analysis.adam_io import read_adam_dir
from mmtrial.analysis.fixtures import DATA_CUT, write_adam_dir
from mmtrial.analysis.report import build_report
from mmtrial.cli import app

EXPECTED_TITLES_EN = [
    "IRd-J study: efficacy and safety report",
    "Efficacy: populations, best overall response and response rates",
    "Time-to-event endpoints",
    "Kaplan-Meier plot: Progression-free survival",
    "Kaplan-Meier plot: Overall survival",
    "Swimmer plot",
    "Waterfall plot",
    "Spider plot",
    "Adverse events (CTCAE v5)",
    "Exposure and dose modifications",
]


@pytest.fixture(scope="module")
def english_pdf(tmp_path_factory, published_frames):
    folder = write_adam_dir(published_frames, tmp_path_factory.mktemp("adam"))
    out = tmp_path_factory.mktemp("report") / "report.pdf"
    html = out.with_suffix(".html")
    titles = build_report(read_adam_dir(folder), pdf_path=out, html_path=html, lang="en")
    return out, html, titles


def _page_texts(path):
    return [" ".join(page.extract_text().split()) for page in PdfReader(path).pages]


def test_every_page_has_its_title_in_order(english_pdf):
    pdf, _html, titles = english_pdf
    texts = _page_texts(pdf)
    assert len(texts) == len(EXPECTED_TITLES_EN) == len(titles)
    for expected, page_text in zip(EXPECTED_TITLES_EN, texts, strict=True):
        assert expected in page_text


def test_title_page_states_populations_and_data_cut(english_pdf):
    first = _page_texts(english_pdf[0])[0]
    assert f"Data cut-off date: {DATA_CUT.isoformat()}" in first
    assert "Enrolled: 34" in first
    assert "Response-evaluable population: 32" in first


def test_tables_carry_the_published_figures(english_pdf):
    texts = _page_texts(english_pdf[0])
    assert "27/32 84.4 67.2 - 94.7" in texts[1]
    assert "16/32 50.0 31.9 - 68.1" in texts[1]
    assert "22.0 17.3 - NE" in texts[2]  # an unreached confidence limit: not estimable
    assert "Number at risk" in texts[3]
    assert "Median 22.0 months (95% CI 17.3 to NE)" in texts[3]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_pdftoppm_renders_every_page(english_pdf, tmp_path):
    pdf = english_pdf[0]
    result = subprocess.run(
        ["pdftoppm", "-r", "30", "-png", str(pdf), str(tmp_path / "page")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "Error" not in result.stderr
    pngs = sorted(tmp_path.glob("page-*.png"))
    assert len(pngs) == len(EXPECTED_TITLES_EN)
    assert all(p.stat().st_size > 2000 for p in pngs)


def test_html_report_has_tables_and_plots(english_pdf):
    html = english_pdf[1].read_text(encoding="utf-8")
    assert html.count("<table>") >= 5
    assert html.count("data:image/png;base64,") == 5  # KM PFS, KM OS, swimmer, waterfall, spider
    assert "67.2 - 94.7" in html


def test_japanese_report_renders_without_missing_glyphs(tmp_path, published_frames):
    folder = write_adam_dir(published_frames, tmp_path / "adam", fmt="xpt")
    out = tmp_path / "ja.pdf"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing from font(s)"
        build_report(read_adam_dir(folder), pdf_path=out, lang="ja")
    texts = _page_texts(out)
    assert "IRd-J試験：有効性・安全性報告書" in texts[0]
    assert "Kaplan-Meier曲線：無増悪生存期間" in texts[3]
    assert "スイマープロット" in texts[5]


def test_plots_without_their_data_become_a_note(tmp_path, published_frames):
    frames = {k: v for k, v in published_frames.items() if k not in ("adlb", "adae", "adex")}
    frames["adrs"] = frames["adrs"][frames["adrs"]["PARAMCD"] == "CBOR"]
    frames["adtte"] = frames["adtte"][frames["adtte"]["PARAMCD"] == "PFS"]
    folder = write_adam_dir(frames, tmp_path / "adam")
    out = tmp_path / "sparse.pdf"
    build_report(read_adam_dir(folder), pdf_path=out, lang="en")
    text = " ".join(_page_texts(out))
    assert "Kaplan-Meier plot: Overall survival not drawn: no OS records in ADTTE" in text
    assert "Swimmer plot: treatment duration with response and progression not drawn" in text
    assert "no M-protein data" in text
    assert "no adverse-event data" in text


def test_cli_report_writes_pdf_and_rejects_unknown_language(tmp_path, published_csv_dir):
    out = tmp_path / "cli.pdf"
    runner = CliRunner()
    result = runner.invoke(app, ["report", "--adam", str(published_csv_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF")
    bad = runner.invoke(
        app, ["report", "--adam", str(published_csv_dir), "--out", str(out), "--lang", "fr"]
    )
    assert bad.exit_code == 2
    assert "--lang" in bad.stderr


def test_japanese_without_a_cjk_font_is_refused_rather_than_drawn_as_boxes(monkeypatch):
    from mmtrial.analysis import report
    from mmtrial.errors import MmtrialError

    monkeypatch.setattr(report, "_font_available", lambda family: family == "DejaVu Sans")
    with pytest.raises(MmtrialError, match="fonts-noto-cjk"):
        report.font_settings("ja")
    assert report.font_settings("en")["font.sans-serif"] == ["DejaVu Sans"]


def test_title_page_names_the_study_of_the_protocol_file(tmp_path, published_frames):
    """The title comes from the protocol file's identification (acronym, subtitle), so the
    second study's report is not titled as IRd-J's."""
    from mmtrial.analysis.report import report_pages
    from mmtrial.protocol import load_protocol

    tmm1 = load_protocol(study_id="TMM1").identification
    data = read_adam_dir(write_adam_dir(published_frames, tmp_path / "adam"))
    en = report_pages(data, lang="en", study=tmm1)[0]
    ja = report_pages(data, lang="ja", study=tmm1)[0]
    assert en.title == "TOURMALINE-MM1 study: efficacy and safety report"
    assert "placebo" in en.subtitle and "double-blind" in en.subtitle
    assert ja.title == "TOURMALINE-MM1試験：有効性・安全性報告書"
    assert "プラセボ" in ja.subtitle
