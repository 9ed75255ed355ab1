"""The study protocol as versioned, validated data."""

from mmtrial.protocol.loader import (
    ProtocolError,
    available_versions,
    load_protocol,
    load_protocol_file,
    parse_protocol,
)
from mmtrial.protocol.models import Protocol

__all__ = [
    "Protocol",
    "ProtocolError",
    "available_versions",
    "load_protocol",
    "load_protocol_file",
    "parse_protocol",
]
