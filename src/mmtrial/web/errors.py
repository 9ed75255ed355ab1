"""Service errors shown to people: as form errors next to the field, or as a page message.

Services raise `MmtrialError` subclasses with messages written for a coordinator (in English,
as module constants). `translate_message` shows them in the user's language: each constant is
turned into a pattern once, the values filled into the English text are read back out of the
message, and the translated text is formatted with them.
"""

from __future__ import annotations

import contextlib
import importlib
import pkgutil
import re
import string
from collections.abc import Callable
from functools import cache
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils.translation import get_language, gettext

from mmtrial.errors import (
    ConflictError,
    LockedRecordError,
    MmtrialError,
    NotFound,
    PermissionDenied,
)

MESSAGE_PACKAGES = (
    "mmtrial.edc.services",
    "mmtrial.edc.permissions",
    "mmtrial.edc.selectors",
    "mmtrial.edc.unit_of_work",
    "mmtrial.edc.edit_checks",
)


def _is_message_constant(name: str, value: Any) -> bool:
    return name.isupper() and isinstance(value, str) and " " in value and len(value) > 12


@cache
def message_constants() -> tuple[str, ...]:
    """Every English message template the EDC modules define as an upper-case constant."""
    found: dict[str, None] = {}
    for package_name in MESSAGE_PACKAGES:
        try:
            module = importlib.import_module(package_name)
        except ImportError:  # pragma: no cover - a package not yet written
            continue
        modules = [module]
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            try:
                modules.append(importlib.import_module(f"{package_name}.{info.name}"))
            except ImportError:  # pragma: no cover
                continue
        for mod in modules:
            for name, value in vars(mod).items():
                if _is_message_constant(name, value):
                    found[value] = None
    return tuple(found)


@cache
def _pattern(template: str) -> tuple[re.Pattern[str], tuple[str, ...]] | None:
    parts, names = [], []
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    for literal, field, _spec, _conv in parsed:
        parts.append(re.escape(literal))
        if field is not None:
            if not field.isidentifier() or field in names:
                return None
            names.append(field)
            parts.append(f"(?P<{field}>.*?)")
    return re.compile("^" + "".join(parts) + "$", re.DOTALL), tuple(names)


def translate_message(message: str) -> str:
    """The message in the active language when its template is in the catalogue."""
    direct = gettext(message)
    if direct != message:
        return direct
    for template in message_constants():
        compiled = _pattern(template)
        if compiled is None:
            continue
        pattern, names = compiled
        match = pattern.match(message)
        if match is None:
            continue
        translated = gettext(template)
        if translated == template:
            return message
        try:
            # a value that is itself a catalogue text (a field's label) is shown translated too
            return translated.format(**{name: gettext(match.group(name)) for name in names})
        except (KeyError, IndexError, ValueError):
            return message
    return message


def error_field(error: MmtrialError, form: forms.Form | None) -> str | None:
    """The form field an error is about, when the service names one the form has."""
    if form is None:
        return None
    candidates = [error.extra.get("field")]
    fields = error.extra.get("fields")
    if isinstance(fields, dict):
        candidates.extend(fields)
    for name in candidates:
        # A hidden field shows no errors of its own: those go to the top of the form.
        if isinstance(name, str) and name in form.fields and not form.fields[name].widget.is_hidden:
            return name
    return None


def add_service_error(form: forms.Form, error: MmtrialError) -> None:
    """Put a service's refusal on the form: beside its field, or at the top of the form."""
    text = translate_message(error.message)
    if text == error.message and not (get_language() or "en").startswith("en"):
        # A message the catalogue does not know yet: say in the user's language what to do,
        # with the service's own words as the detail.
        text = gettext("Please check this entry: %(message)s") % {"message": text}
    if isinstance(error, ConflictError):
        text = gettext("Not saved: %(message)s") % {"message": text}
    elif isinstance(error, LockedRecordError):
        text = gettext("Not saved, the record is locked: %(message)s") % {"message": text}
    form.add_error(error_field(error, form), text)


def as_http_error(error: MmtrialError) -> Exception:
    if isinstance(error, NotFound):
        return Http404(error.message)
    if isinstance(error, PermissionDenied):
        return DjangoPermissionDenied(error.message)
    return error


def run_service[T](
    form: forms.Form,
    call: Callable[[], T],
    *,
    refusals_on_form: bool = False,
    atomic: bool = True,
) -> T | None:
    """Run one service call; a refusal lands on the form and None is returned.

    NotFound and PermissionDenied are not form errors: they become 404 and 403 pages, so that
    an id edited in the address bar tells nothing about another site's records. With
    `refusals_on_form` (signing), a PermissionDenied about the person's input (a wrong password,
    not their role) is shown on the form instead. `atomic=False` keeps what the service itself
    commits on refusal (the failed-password count of a signature attempt).
    """
    try:
        # One transaction around everything the view asks: a refusal half-way saves nothing.
        with transaction.atomic() if atomic else contextlib.nullcontext():
            return call()
    except PermissionDenied as exc:
        if refusals_on_form and "action" not in exc.extra:
            add_service_error(form, exc)
            return None
        raise as_http_error(exc) from exc
    except NotFound as exc:
        raise as_http_error(exc) from exc
    except MmtrialError as exc:
        add_service_error(form, exc)
        return None


def run_action[T](request, call: Callable[[], T]) -> T | None:
    """Run one service call for a button without a form; a refusal becomes a page message."""
    try:
        with transaction.atomic():
            return call()
    except (NotFound, PermissionDenied) as exc:
        raise as_http_error(exc) from exc
    except MmtrialError as exc:
        messages.error(request, translate_message(exc.message))
        return None
