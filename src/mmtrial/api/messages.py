"""A service's refusal as a message code, its parameters and the text in the caller's language.

The EDC raises `MmtrialError.coded(TEMPLATE, extra, **params)` (see `mmtrial.errors`): the
code is the constant's name in lower case (`record_changed`), the parameters are the values
the message names plus the error's structured `extra`, and the text is the constant's
translation formatted with them (`mmtrial.web.errors.render_error`, the one place that
renders service messages). An error made from a finished text has the code of its class
(`input_error`) and its `extra` as parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise

from mmtrial.edc.audit import to_jsonable
from mmtrial.errors import MmtrialError, Phrase, Term
from mmtrial.web.errors import render_error

__all__ = ["Message", "message_of"]


@dataclass(frozen=True)
class Message:
    code: str
    parameters: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def message_of(error: MmtrialError) -> Message:
    """The code, parameters and translated text of a service's error."""
    params = {
        k: str(v) if isinstance(v, Promise | Phrase | Term) else v for k, v in error.params.items()
    }
    parameters = {**to_jsonable(params), **to_jsonable(dict(error.extra or {}))}
    return Message(code=error.code, parameters=parameters, text=render_error(error))
