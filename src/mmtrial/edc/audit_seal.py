"""What protects the audit chain from outside the database: anchors and the audit key.

The chain alone (`audit.audit_verify`) shows that no event was changed or removed *in the
middle*. Someone who can write to the database could still cut its end off (with the head row)
or change an event and re-hash every event after it. Two protections sit outside the database:

- **Anchors**: `mmtrial audit anchor` prints the verified head (event count, last id, last hash,
  time) and can append it to a file elsewhere (another machine, write-once storage, a printout).
  `mmtrial audit verify --anchor FILE` fails when the chain is shorter than an anchor or its
  event at the anchor's id has another hash. They protect what existed when they were taken.
- **The audit key** (`MMTRIAL_AUDIT_KEY`, or `MMTRIAL_AUDIT_KEY_FILE` naming a file readable only
  by its owner): every append seals the head with HMAC-SHA256(key, "last_id:last_hash"). A chain
  re-hashed by someone without the key cannot carry a valid seal, up to the newest event.
  It does not stop the head being put back to an older sealed state (truncation to a point
  seen before): anchors do that.

docs/operations.md says which attack each option covers.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import os
import re
import stat
from dataclasses import asdict, dataclass
from pathlib import Path

from django.conf import settings

from mmtrial.errors import InputError, MmtrialError

KEY_ENV = "MMTRIAL_AUDIT_KEY"
KEY_FILE_ENV = "MMTRIAL_AUDIT_KEY_FILE"
KEY_MIN_CHARS = 32

KEY_BOTH = f"Set either ${KEY_ENV} or ${KEY_FILE_ENV}, not both."
KEY_TOO_SHORT = (
    "The audit key must have at least {min} characters (e.g. `openssl rand -hex 32`); "
    "this one has {n}."
)
KEY_FILE_MISSING = "The audit key file {path} does not exist (${env})."
KEY_FILE_OPEN = (
    "The audit key file {path} can be read by other users (mode {mode}): "
    "`chmod 600 {path}`, then start again."
)
KEY_FILE_OWNER = "The audit key file {path} belongs to another operating-system account."
ANCHOR_BAD_LINE = "{path}, line {line}: not an audit anchor ({problem})."
ANCHOR_FILE_MISSING = "{path}: no such anchor file."

_HASH = re.compile(r"^[0-9a-f]{64}$")


class AuditKeyError(MmtrialError):
    """The audit key is configured but cannot be used."""


def audit_key() -> bytes | None:
    """The audit key from the environment or its file, or None when none is configured."""
    text = getattr(settings, "MMTRIAL_AUDIT_KEY", "") or ""
    path = getattr(settings, "MMTRIAL_AUDIT_KEY_FILE", "") or ""
    if text and path:
        raise AuditKeyError(KEY_BOTH)
    if path:
        return _key_from_file(str(path))
    if text:
        return _checked(text.strip())
    return None


def _checked(text: str) -> bytes:
    if len(text) < KEY_MIN_CHARS:
        raise AuditKeyError.coded(KEY_TOO_SHORT, min=KEY_MIN_CHARS, n=len(text))
    return text.encode()


@functools.lru_cache(maxsize=8)
def _key_from_file(path: str) -> bytes:
    """Read once per process (a new key needs a restart); refused when others may read it."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise AuditKeyError.coded(KEY_FILE_MISSING, path=path, env=KEY_FILE_ENV) from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError.coded(KEY_FILE_OPEN, path=path, mode=oct(info.st_mode & 0o777)[2:])
    if info.st_uid != os.getuid():
        raise AuditKeyError.coded(KEY_FILE_OWNER, path=path)
    return _checked(Path(path).read_text(encoding="utf-8").strip())


def head_mac(key: bytes, last_event_id: int, last_hash: str) -> str:
    """The seal of a chain head: HMAC-SHA256 over "last_id:last_hash"."""
    return hmac.new(key, f"{last_event_id}:{last_hash}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Anchor:
    """The verified head of the chain at one moment, kept outside the database."""

    events: int
    last_id: int
    last_hash: str
    at: str  # UTC, ISO 8601

    def line(self) -> str:
        return json.dumps(asdict(self), separators=(", ", ": "))


def anchor_parse(text: str) -> Anchor:
    """One anchor line; raises ValueError naming what is wrong."""
    data = json.loads(text)
    if not isinstance(data, dict) or set(data) != {"events", "last_id", "last_hash", "at"}:
        raise ValueError("expected the keys events, last_id, last_hash, at")
    events, last_id, last_hash = data["events"], data["last_id"], data["last_hash"]
    if type(events) is not int or type(last_id) is not int or events < 0 or last_id < 0:
        raise ValueError("events and last_id must be whole numbers")
    if events != last_id:
        raise ValueError(f"{events} events cannot end at event {last_id}")
    if not isinstance(last_hash, str) or not _HASH.match(last_hash):
        raise ValueError("last_hash must be 64 hexadecimal digits")
    return Anchor(events=events, last_id=last_id, last_hash=last_hash, at=str(data["at"]))


def anchors_read(path: str | Path) -> list[Anchor]:
    """Every anchor in a file (one JSON object a line; blank lines and # comments skipped)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise InputError.coded(ANCHOR_FILE_MISSING, {"field": "anchor"}, path=path) from None
    anchors = []
    for number, line in enumerate(lines, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            anchors.append(anchor_parse(line))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise InputError.coded(
                ANCHOR_BAD_LINE, {"field": "anchor"}, path=path, line=number, problem=exc
            ) from None
    return anchors


def anchor_append(path: str | Path, anchor: Anchor) -> None:
    """Append one line and make it durable before returning."""
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(anchor.line() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
