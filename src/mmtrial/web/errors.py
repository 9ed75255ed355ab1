"""Service errors shown to people: as form errors next to the field, or as a page message.

Services raise `MmtrialError` subclasses made from a message constant and its parameters
(`InputError.coded(RECORD_CHANGED, extra, expected=3, current=4)`, see `mmtrial.errors`).
`render_error` shows one in the user's language: the constant's translation (a catalogue
lookup) formatted with the error's own parameters, each shown in that language too. Nothing
reads values back out of an English text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import pkgutil
from collections.abc import Callable
from decimal import Decimal
from functools import cache
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import get_language, gettext

from mmtrial.errors import (
    ConflictError,
    LockedRecordError,
    MmtrialError,
    NotFound,
    PermissionDenied,
    Phrase,
    Term,
)

__all__ = [
    "add_service_error",
    "message_constants",
    "render_error",
    "run_action",
    "run_service",
    "translate_message",
]

# The modules whose message constants web/service_messages.py lists for the catalogue.
MESSAGE_PACKAGES = (
    "mmtrial.edc.services",
    "mmtrial.edc.permissions",
    "mmtrial.edc.selectors",
    "mmtrial.edc.unit_of_work",
    "mmtrial.edc.edit_checks",
    "mmtrial.edc.lab_analytes",
    "mmtrial.edc.lab_import_lock",
)


@cache
def message_constants() -> tuple[str, ...]:
    """Every English message template the EDC modules define as an upper-case constant."""
    found: dict[str, None] = {}
    for package_name in MESSAGE_PACKAGES:
        module = importlib.import_module(package_name)
        modules = [module]
        for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
            modules.append(importlib.import_module(f"{package_name}.{info.name}"))
        for mod in modules:
            for name, value in vars(mod).items():
                if name.isupper() and isinstance(value, str) and " " in value:
                    found[value] = None
    return tuple(found)


def localized(value: Any) -> str:
    """A parameter as the user reads it: a word (a field's label, an analyte, a drug, a unit)
    from the catalogue, a date as ISO 8601, a number as written."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, Phrase):
        return _rendered(value.template, value.params, str(value))
    if isinstance(value, Term):
        if value.ja and (get_language() or "en").startswith("ja"):
            return value.ja
        return gettext(value.en)
    if isinstance(value, str):
        return gettext(value) if value else value
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, list | tuple):
        return ", ".join(localized(item) for item in value)
    return str(value)


def render_error(error: MmtrialError) -> str:
    """The error's message in the active language (English when the catalogue lacks it)."""
    if error.template is None:
        return translate_message(error.message)
    return _rendered(error.template, error.params, error.message)


def _rendered(template: str, params: dict[str, Any], english: str) -> str:
    translated = gettext(template)
    if translated == template:  # English, or a text the catalogue does not have yet
        return english
    try:
        return translated.format(**{name: localized(v) for name, v in params.items()})
    except (KeyError, IndexError, ValueError):  # a catalogue entry with other placeholders
        return english


def translate_message(message: str) -> str:
    """A finished text (a plain message constant, no parameters) in the active language."""
    return gettext(message) if message else message


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
    text = render_error(error)
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
        # the 403 page shows it as it is: rendered here, in the request's language
        return DjangoPermissionDenied(render_error(error))
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
        messages.error(request, render_error(exc))
        return None
