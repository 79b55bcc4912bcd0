"""SIA DC-09 codec: tolerant reading, strict writing (see /work/shared/reference/dc09.md)."""

from __future__ import annotations

from .cid import CidEvent, format_cid, parse_cid
from .client import exchange
from .crc import crc16_arc
from .decode import KeyLookup, decode
from .encode import encode
from .errors import (
    CrcError,
    Dc09Error,
    DecryptError,
    FrameFormatError,
    KeyFormatError,
    LengthError,
    UnknownAccountError,
)
from .keys import Dc09Key
from .location import Location, location_blocks, location_of
from .message import Message
from .responses import ack, duh, nak
from .sia import SiaEvent, format_sia, parse_sia, parse_sia_events
from .stream import FrameSplitter

__all__ = [
    "CidEvent",
    "CrcError",
    "Dc09Error",
    "Dc09Key",
    "DecryptError",
    "FrameFormatError",
    "FrameSplitter",
    "KeyFormatError",
    "KeyLookup",
    "LengthError",
    "Location",
    "Message",
    "SiaEvent",
    "UnknownAccountError",
    "ack",
    "crc16_arc",
    "decode",
    "duh",
    "encode",
    "exchange",
    "format_cid",
    "format_sia",
    "location_blocks",
    "location_of",
    "nak",
    "parse_cid",
    "parse_sia",
    "parse_sia_events",
]
