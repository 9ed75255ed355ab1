"""Pages of a casebook: lines of text laid out on A4 portrait, drawn with matplotlib.

A casebook is a long run of headings, label/value rows and history lines. `Line`s are wrapped to
the width they have (CJK characters count as two narrow ones), paginated so that a heading never
ends a page, and drawn one page at a time into a PdfPages file with a running header and a
"page n of N" footer.
"""

from __future__ import annotations

import textwrap
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

PAGE_IN = (8.27, 11.69)  # A4 portrait
POINTS = 72
FONT_PT = 7.5
PITCH_PT = 10.5
TOP_PT, BOTTOM_PT = 56, 46
LEFT_PT, RIGHT_PT = 40, 40
LABEL_PT = 150  # width of the label column
#: Average advance of a narrow character, in em (generous, so wrapped lines never overflow).
NARROW_EM = 0.62

SIZES = {
    "h1": (12, 2.2),
    "h2": (9.5, 1.8),
    "h3": (8, 1.4),
    "field": (FONT_PT, 1),
    "text": (FONT_PT, 1),
}


@dataclass(frozen=True)
class Line:
    """One row: a heading (h1-h3), a label/value field, or plain text, indented by `indent`."""

    kind: str
    text: str = ""
    label: str = ""
    indent: int = 0
    mark: str = ""  # shown before the label (e.g. "*" for a value changed after first entry)


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, width_pt: float, size_pt: float = FONT_PT) -> list[str]:
    """`text` broken into pieces that fit `width_pt` (breaking long words and CJK runs too)."""
    cells = max(8, int(width_pt / (size_pt * NARROW_EM)))
    out: list[str] = []
    for paragraph in str(text).split("\n") or [""]:
        if _cells(paragraph) <= cells:
            out.append(paragraph)
            continue
        if all(_cells(ch) == 1 for ch in paragraph):
            out.extend(textwrap.wrap(paragraph, cells, break_long_words=True) or [""])
            continue
        current, used = "", 0
        for ch in paragraph:
            width = _cells(ch)
            if used + width > cells:
                out.append(current)
                current, used = "", 0
            current, used = current + ch, used + width
        out.append(current)
    return out or [""]


@dataclass(frozen=True)
class _Row:
    kind: str
    x_pt: float
    text: str
    label: str = ""
    mark: str = ""
    height: float = 1.0  # in pitches


def _rows(line: Line) -> list[_Row]:
    x = LEFT_PT + line.indent * 12
    width = PAGE_IN[0] * POINTS - RIGHT_PT - x
    size, height = SIZES[line.kind]
    if line.kind == "field":
        values = wrap(line.text, width - LABEL_PT)
        labels = wrap(line.label, LABEL_PT - 8)
        count = max(len(values), len(labels))
        values += [""] * (count - len(values))
        labels += [""] * (count - len(labels))
        return [
            _Row("field", x, v, label=lab, mark=line.mark if i == 0 else "")
            for i, (lab, v) in enumerate(zip(labels, values, strict=True))
        ]
    return [
        _Row(line.kind, x, piece, height=height if i == 0 else 1.0)
        for i, piece in enumerate(wrap(line.text, width, size))
    ]


def paginate(lines: list[Line]) -> list[list[_Row]]:
    """Rows per page; a heading is moved to the next page when nothing fits under it."""
    body = (PAGE_IN[1] * POINTS - TOP_PT - BOTTOM_PT) / PITCH_PT
    pages: list[list[_Row]] = [[]]
    used = 0.0
    for line in lines:
        rows = _rows(line)
        needed = sum(r.height for r in rows) + (2 if line.kind.startswith("h") else 0)
        if used and used + needed > body:
            pages.append([])
            used = 0.0
        for row in rows:
            if used + row.height > body:
                pages.append([])
                used = 0.0
            pages[-1].append(row)
            used += row.height
    return pages


def draw(
    pdf: PdfPages, pages: list[list[_Row]], *, header: str, footer: str, page_word: str
) -> None:
    """Each page as a figure: header, rows, "page n of N" footer."""
    width_pt, height_pt = PAGE_IN[0] * POINTS, PAGE_IN[1] * POINTS
    total = len(pages)
    for number, rows in enumerate(pages, start=1):
        fig = Figure(figsize=PAGE_IN)

        def put(x_pt, y_pt, text, *, size=FONT_PT, bold=False, ha="left", fig=fig):
            fig.text(
                x_pt / width_pt,
                y_pt / height_pt,
                text,
                fontsize=size,
                fontweight="bold" if bold else "normal",
                ha=ha,
                va="baseline",
            )

        put(LEFT_PT, height_pt - 30, header, size=8)
        fig.add_artist(_rule(fig, (height_pt - 36) / height_pt))
        y = height_pt - TOP_PT
        for row in rows:
            size, _ = SIZES[row.kind]
            y -= PITCH_PT * row.height
            if row.kind == "field":
                if row.mark:
                    put(row.x_pt - 8, y, row.mark, bold=True)
                put(row.x_pt, y, row.label)
                put(row.x_pt + LABEL_PT, y, row.text)
            else:
                put(row.x_pt, y, row.text, size=size, bold=row.kind.startswith("h"))
        fig.add_artist(_rule(fig, (BOTTOM_PT - 14) / height_pt))
        put(LEFT_PT, BOTTOM_PT - 26, footer, size=7)
        put(
            width_pt - RIGHT_PT,
            BOTTOM_PT - 26,
            f"{page_word} {number} / {total}",
            size=7,
            ha="right",
        )
        pdf.savefig(fig)


def _rule(fig: Figure, y: float):
    from matplotlib.lines import Line2D

    left = LEFT_PT / (PAGE_IN[0] * POINTS)
    return Line2D([left, 1 - left], [y, y], transform=fig.transFigure, color="#999999", lw=0.5)


def iter_rows(pages: list[list[_Row]]) -> Iterator[_Row]:
    for rows in pages:
        yield from rows
