"""Load and validate protocol files; find a protocol by study and version (amendments)."""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from mmtrial.protocol.models import PROBLEM_SEPARATOR, Protocol

PROTOCOLS_DIR = Path(__file__).resolve().parent.parent / "protocols"
DEFAULT_STUDY_ID = "IRD-J"
PROTOCOL_FILE_ENV = "MMTRIAL_PROTOCOL_FILE"


@dataclass(frozen=True)
class ProtocolError(Exception):
    """A protocol file that cannot be used, with one `path: problem` line per problem."""

    source: str
    problems: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.source}: " + "; ".join(self.problems)


def _format_location(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


def _problems_from(error: ValidationError) -> tuple[str, ...]:
    problems: list[str] = []
    for item in error.errors(include_url=False):
        loc = _format_location(item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "value_error" and not loc:
            # The cross-field checks of Protocol arrive as one error of "path: problem" lines.
            problems.extend(message.split(PROBLEM_SEPARATOR))
            continue
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "missing required field"
        elif not isinstance(item.get("input"), dict | list):
            message = f"{item.get('input')!r}: {message}"
        problems.append(f"{loc or '(top level)'}: {message}")
    return tuple(problems)


def parse_protocol(text: str, *, source: str = "<protocol>") -> Protocol:
    """Parse YAML text into a validated Protocol, or raise ProtocolError naming every problem."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProtocolError(source, (f"invalid YAML at {where}: {problem}",)) from None
    if not isinstance(data, dict):
        raise ProtocolError(
            source, ("(top level): the file must hold a mapping of protocol fields",)
        )
    try:
        return Protocol.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(source, _problems_from(exc)) from None


def load_protocol_file(path: str | os.PathLike[str]) -> Protocol:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ProtocolError(str(path), (f"cannot read the file: {exc.strerror}",)) from None
    except UnicodeDecodeError:
        raise ProtocolError(str(path), ("the file is not UTF-8 text",)) from None
    return parse_protocol(text, source=str(path))


@functools.cache
def _bundled() -> dict[tuple[str, str], Path]:
    found: dict[tuple[str, str], Path] = {}
    for path in sorted(PROTOCOLS_DIR.glob("*.yaml")):
        protocol = load_protocol_file(path)
        ident = protocol.identification
        found[(ident.study_id, ident.version)] = path
    return found


def available_versions(study_id: str = DEFAULT_STUDY_ID) -> list[str]:
    """Versions of a study's protocol shipped with mmtrial, oldest effective date first."""
    versions = [(v, p) for (s, v), p in _bundled().items() if s == study_id]
    return [
        v
        for v, _ in sorted(
            versions, key=lambda vp: _cached_file(str(vp[1])).identification.effective_date
        )
    ]


@functools.cache
def _cached_file(path: str) -> Protocol:
    return load_protocol_file(path)


def deployment_study_id() -> str:
    """The study this deployment runs: the one of $MMTRIAL_PROTOCOL_FILE, else IRd-J."""
    override = os.environ.get(PROTOCOL_FILE_ENV)
    if override:
        return _cached_file(str(Path(override).resolve())).identification.study_id
    return DEFAULT_STUDY_ID


def load_protocol(version: str | None = None, *, study_id: str | None = None) -> Protocol:
    """The protocol a participant is treated under.

    Without a version: the file named by $MMTRIAL_PROTOCOL_FILE if set, else the newest bundled
    version of the study. With a version: that version of the deployment's study (the override
    file when it is that version, else a bundled amendment), or ProtocolError if mmtrial does
    not hold it. One deployment runs one study: its study id comes from the override file.
    """
    override = os.environ.get(PROTOCOL_FILE_ENV)
    if study_id is None:
        study_id = deployment_study_id()
    if override:
        protocol = _cached_file(str(Path(override).resolve()))
        ident = protocol.identification
        if ident.study_id == study_id and version in (None, ident.version):
            return protocol
    if version is None:
        versions = available_versions(study_id)
        if not versions:
            raise ProtocolError(study_id, ("no protocol file for this study",))
        version = versions[-1]
    path = _bundled().get((study_id, version))
    if path is None:
        raise ProtocolError(
            study_id,
            (f"version '{version}' is unknown (known: {', '.join(available_versions(study_id))})",),
        )
    return _cached_file(str(path))
