"""The test study of tests/edc/builders.py is dated 2027 while the edit checks refuse dates in
the future: a module that builds it runs with the clock set after the study (still ticking).
A module that tests the real clock's types sets REAL_CLOCK = True."""

from __future__ import annotations

import contextlib

from freezegun import freeze_time

STUDY_IS_PAST = "2030-01-01 09:00:00"


def study_clock(module, *, always: bool = False):
    if getattr(module, "REAL_CLOCK", False):
        return contextlib.nullcontext()
    builds = always or any(
        (getattr(value, "__module__", None) or "").startswith(
            ("tests.edc.builders", "tests.edc.factories")
        )
        for value in vars(module).values()
    )
    if not builds:
        return contextlib.nullcontext()
    _schedule_models_for_every_bundled_protocol()
    return freeze_time(STUDY_IS_PAST, tick=True)


def _schedule_models_for_every_bundled_protocol() -> None:
    """pydantic cannot build a model with a date field while freezegun has replaced
    `datetime.date` (its type checks compare with the patched class): the schedule models of
    each bundled protocol's drugs are built (and cached) before the clock is set."""
    from mmtrial.clinical.schedule_models import models_for
    from mmtrial.protocol.loader import PROTOCOLS_DIR, load_protocol_file

    for path in sorted(PROTOCOLS_DIR.glob("*.yaml")):
        models_for(tuple(load_protocol_file(path).regimen))
