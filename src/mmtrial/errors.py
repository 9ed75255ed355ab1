"""One error hierarchy. Messages are written for a study coordinator, not a programmer.

Views turn these into form errors, the API into 4xx JSON `{message, extra}`, the CLI into one
line on standard error and exit status 2.
"""

from __future__ import annotations

from typing import Any


class MmtrialError(Exception):
    """An error a user can act on. `extra` carries structured detail (field, values)."""

    def __init__(self, message: str, extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}

    def __str__(self) -> str:
        return self.message


class InputError(MmtrialError):
    """Input that is malformed or impossible (bad JSON, wrong type, impossible value)."""


class ProtocolViolation(MmtrialError):
    """An action the protocol does not allow."""


class EligibilityError(MmtrialError):
    """Enrolment of a participant who does not meet every eligibility criterion."""


class PermissionDenied(MmtrialError):
    """The user's role or sites do not allow this action on this record."""


class NotFound(MmtrialError):
    """No such record among those the user may see."""


class ConflictError(MmtrialError):
    """The record changed since the user loaded it (optimistic concurrency)."""


class LockedRecordError(MmtrialError):
    """The record is locked by data management."""
