"""The output of the IMWG response engine (contracts/imwg.md, "Output").

Reasons are kept as structured findings (what was compared with what) and rendered to text when
read, so the batch form pays for the words only where someone looks at them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any, NamedTuple

from mmtrial.clinical.imwg_reasons import render_reasons


class AssessmentResult(NamedTuple):
    """One assessment's category before confirmation, its confirmation flag and its reasons.

    `findings` are tuples `(code, values...)` written by the engine; `confirmation` says how
    the confirmation was decided (`(kind, (next date, next category) or None)`), or None.
    """

    date: date
    response: str
    confirmed: bool
    findings: tuple[tuple, ...] = ()
    confirmation: tuple | None = None

    @property
    def reasons(self) -> tuple[str, ...]:
        """The findings in words: values, reference (baseline or nadir) and thresholds."""
        return render_reasons(
            confirmed=self.confirmed, findings=self.findings, confirmation=self.confirmation
        )

    def explanation(self) -> dict[str, Any]:
        """The findings and the confirmation as plain JSON (tuples as lists, dates as ISO
        strings), to be stored and rendered later in the reader's language (imwg_reasons)."""
        confirmation = self.confirmation
        if confirmation is not None:
            kind, following = confirmation
            if following is not None:
                following = [following[0].isoformat(), following[1]]
            confirmation = [kind, following]
        return {
            "findings": [[_plain(value) for value in finding] for finding in self.findings],
            "confirmation": confirmation,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date.isoformat(),
            "response": self.response,
            "confirmed": self.confirmed,
            "reasons": list(self.reasons),
        }


def _plain(value: Any) -> Any:
    """A finding's value as JSON: its values are numbers, text, booleans, None or dates."""
    return value.isoformat() if isinstance(value, date) else value


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@dataclass(frozen=True, slots=True)
class ImwgResult:
    """One participant's IMWG response derivation, in the contract's output shape."""

    criteria: str
    followed: tuple[str, ...]
    assessments: tuple[AssessmentResult, ...]
    best_overall_response: str
    best_overall_response_date: date | None
    response_date: date | None
    progression_date: date | None
    engine_version: str

    def to_dict(self) -> dict[str, Any]:
        """The contract's output JSON as a dict (dates as ISO strings)."""
        return {
            "criteria": self.criteria,
            "followed": list(self.followed),
            "assessments": [a.to_dict() for a in self.assessments],
            "best_overall_response": self.best_overall_response,
            "best_overall_response_date": _iso(self.best_overall_response_date),
            "response_date": _iso(self.response_date),
            "progression_date": _iso(self.progression_date),
        }

    def model_dump(self) -> dict[str, Any]:
        """Same as `to_dict()` (the name pydantic users expect)."""
        return self.to_dict()

    def to_json(self, *, indent: int | None = 2) -> str:
        """The contract's output as a JSON string."""
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)
