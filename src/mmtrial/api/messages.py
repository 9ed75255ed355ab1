"""A service's refusal as a message code, its parameters and the text in the caller's language.

The EDC raises `MmtrialError(message, extra)` with the message formatted from a module constant
(`RECORD_CHANGED = "This record was changed ... (your version {expected}, now {current})..."`).
The code is the constant's name in lower case (`record_changed`), the parameters are the
values it was formatted with plus the error's structured `extra`, and the text is the
constant's translation formatted with the same values (`mmtrial.web.errors.translate_message`,
the one place that renders service messages). A message made without a constant gets the code
of its error class (`input_error`) and its `extra` as parameters.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import string
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.utils.translation import gettext

from mmtrial.edc.audit import to_jsonable
from mmtrial.errors import MmtrialError
from mmtrial.web.errors import MESSAGE_PACKAGES, translate_message

__all__ = ["Message", "message_of"]

_EXTRA_PACKAGES = ("mmtrial.edc.api_tokens", "mmtrial.edc.selectors", "mmtrial.api")


@dataclass(frozen=True)
class Message:
    code: str
    parameters: dict[str, Any] = field(default_factory=dict)
    text: str = ""


def _modules(package_name: str):
    try:
        module = importlib.import_module(package_name)
    except ImportError:  # pragma: no cover - a package not yet written
        return []
    found = [module]
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        try:
            found.append(importlib.import_module(f"{package_name}.{info.name}"))
        except ImportError:  # pragma: no cover
            continue
    return found


@cache
def _templates() -> tuple[tuple[re.Pattern[str], str, str], ...]:
    """(pattern, field names, code) of every message constant, longest templates first (the
    most specific match wins)."""
    seen: dict[str, str] = {}
    for package_name in (*MESSAGE_PACKAGES, *_EXTRA_PACKAGES):
        for module in _modules(package_name):
            for name, value in vars(module).items():
                if name.isupper() and isinstance(value, str) and " " in value and len(value) > 12:
                    seen.setdefault(value, name.lower())
    compiled = []
    for template, code in sorted(seen.items(), key=lambda item: -len(item[0])):
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError:
            continue
        parts, names = [], []
        for literal, name, _spec, _conv in parsed:
            parts.append(re.escape(literal))
            if name is not None:
                if not name.isidentifier() or name in names:
                    break
                names.append(name)
                parts.append(f"(?P<{name}>.*?)")
        else:
            compiled.append((re.compile("^" + "".join(parts) + "$", re.DOTALL), template, code))
    return tuple(compiled)


def _class_code(error: Exception) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(error).__name__).lower()


def message_of(error: MmtrialError) -> Message:
    """The code, parameters and translated text of a service's error."""
    extra = to_jsonable(dict(error.extra or {}))
    for pattern, template, code in _templates():
        match = pattern.match(error.message)
        if match is not None:
            values = match.groupdict()
            return Message(
                code=code, parameters={**values, **extra}, text=_rendered(template, values, error)
            )
    return Message(code=_class_code(error), parameters=extra, text=translate_message(error.message))


def _rendered(template: str, values: dict[str, str], error: MmtrialError) -> str:
    """The template in the active language with the values it was formatted with (a value
    that is itself a catalogue text, such as a field's label, translated too)."""
    translated = gettext(template)
    if translated == template:
        return translate_message(error.message)
    try:
        return translated.format(**{name: gettext(value) for name, value in values.items()})
    except (KeyError, IndexError, ValueError):
        return error.message
