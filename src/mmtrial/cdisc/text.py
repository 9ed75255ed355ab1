"""Free text on its way into an XPT file: ASCII, never mangled, never dropped silently.

PMDA and FDA take datasets in English (ASCII). A value typed in Japanese (an AE verbatim, a
dose-change reason) is not transliterated or cut: `english_text` returns the value itself when
it is ASCII (after Unicode NFKC, which only folds full-width letters, digits and spaces to their
ASCII forms), else the coded English value the EDC holds beside it (noted in the report,
MMT-TXT-002), else nothing, with an error finding that says where in the EDC to fix it
(MMT-TXT-001; `mmtrial export --strict` then exits non-zero).
"""

from __future__ import annotations

import unicodedata

from mmtrial.cdisc.findings import Findings

__all__ = ["ascii_form", "english_text"]


def ascii_form(value: str | None) -> str | None:
    """The value in ASCII when NFKC folding gives ASCII (full-width forms), else None."""
    if value is None:
        return None
    folded = unicodedata.normalize("NFKC", value).strip()
    return folded if folded.isascii() else None


def english_text(
    value: str | None,
    *,
    findings: Findings,
    dataset: str,
    variable: str,
    usubjid: str,
    fix: str,
    coded: str | None = None,
    record: str = "",
) -> str | None:
    """`value` as ASCII, else `coded` (its coded English form), else None; see the module doc."""
    if value is None or not value.strip():
        return None
    folded = ascii_form(value)
    if folded is not None:
        return folded
    where = {"dataset": dataset, "variable": variable, "usubjid": usubjid, "record": record}
    english = ascii_form(coded)
    if english:
        findings.add(
            "MMT-TXT-002",
            f"non-ASCII text replaced by the coded English value {english!r}",
            **where,
            fix=fix,
        )
        return english
    findings.add(
        "MMT-TXT-001", "non-ASCII text with no coded English value: left empty", **where, fix=fix
    )
    return None
