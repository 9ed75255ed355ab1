"""A derived response's reasons in the reader's language (design rule 7).

The IMWG findings are stored as codes with values (`ResponseAssessment.findings`); the phrases
of `clinical.imwg_reasons` are rendered here through Django's gettext, so a Japanese page reads
Japanese words around the same numbers, units, dates and category codes. A row derived before
the findings were stored shows its stored English until re-derivation (every new lab) fills
them in.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from mmtrial.clinical.imwg_reasons import phrase_text, reason_phrases

__all__ = ["response_reason_texts"]


def response_reason_texts(response: Any) -> list[str]:
    """The sentences of one response assessment (a `ResponseAssessment`) in the active language."""
    explanation = response.findings or {}
    if not explanation.get("findings"):
        return list(response.reasons or [])
    phrases = reason_phrases(
        confirmed=response.derived_confirmed,
        findings=explanation["findings"],
        confirmation=explanation.get("confirmation"),
    )
    return [phrase_text(phrase, gettext) for phrase in phrases]
