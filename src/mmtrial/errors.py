"""One error hierarchy. Messages are written for a study coordinator, not a programmer.

An error is a message code with typed parameters (design rule 7): a service raises
`InputError.coded(RECORD_CHANGED, extra, expected=3, current=4)` with a message constant of
its module; the error keeps the template and the parameters, and `message` is the English text
formatted from them (the CLI prints it). The code is the constant's name in lower case
(`record_changed`). The web (`mmtrial.web.errors.render_error`) and the API render the
template's translation with the same parameters: nothing reads values back out of the text.

Views turn these into form errors, the API into RFC 9457 problem documents
`{code, parameters, text}`, the CLI into one line on standard error and exit status 2.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from typing import Any, Self

__all__ = [
    "ConflictError",
    "EligibilityError",
    "InputError",
    "LockedRecordError",
    "MmtrialError",
    "NotFound",
    "PermissionDenied",
    "Phrase",
    "ProtocolViolation",
    "Term",
    "message_code",
]


@dataclass(frozen=True)
class Phrase:
    """A parameter that is itself a message: a catalogue template with its own parameters
    (a range "> {minimum} and <= {maximum}"), shown in the user's language where the error is
    rendered; `str()` is the English text."""

    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**self.params)


@dataclass(frozen=True)
class Term:
    """A word whose translation comes with it rather than from the catalogue (a protocol
    variable's `label` and `label_ja`); `str()` is the English word."""

    en: str
    ja: str = ""

    def __str__(self) -> str:
        return self.en


class MmtrialError(Exception):
    """An error a user can act on. `extra` carries structured detail (field, values).

    Made with `coded`, it also carries its `template` (an English message constant) and the
    `params` the template is formatted with; `code` names the template. An error made from a
    finished text (`MmtrialError("...")`) has its class's code (`input_error`) and no params.
    """

    def __init__(
        self,
        message: str,
        extra: dict[str, Any] | None = None,
        *,
        template: str | None = None,
        params: dict[str, Any] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        self.template = template
        self.params = dict(params or {})
        self._code = code

    @classmethod
    def coded(cls, template: str, extra: dict[str, Any] | None = None, /, **params: Any) -> Self:
        """The error of message constant `template` with its parameters (English `message`)."""
        return cls(template.format(**params), extra, template=template, params=params)

    @property
    def code(self) -> str:
        """The stable message code: the constant's name in lower case, else the class's."""
        if self._code is None:
            # a plain constant raised as it is (`InputError(NAME_REQUIRED)`) is its own template
            self._code = message_code(self.template or self.message) or class_code(type(self))
        return self._code

    def __str__(self) -> str:
        return self.message


def class_code(kind: type) -> str:
    """`InputError` -> `input_error`."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()


# template -> constant name, from the upper-case string constants of the mmtrial modules loaded;
# a module is read once, when a template not yet known is asked for (the module that raised it
# is loaded, since the template came from it).
_CODES: dict[str, str] = {}
_READ: set[str] = set()


def message_code(template: str) -> str | None:
    """The code of a message constant: its name in lower case (None if no module defines it)."""
    if template not in _CODES:
        for name, module in list(sys.modules.items()):
            if name in _READ or not (name == "mmtrial" or name.startswith("mmtrial.")):
                continue
            _READ.add(name)
            for attribute, value in list(vars(module).items()):
                if attribute.isupper() and isinstance(value, str):
                    _CODES.setdefault(value, attribute.lower())
    return _CODES.get(template)


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
