"""The outer frame `<LF><crc><0LLL>body<CR>`: writing it strictly, checking it tolerantly."""

from __future__ import annotations

import string
from dataclasses import dataclass

from .crc import crc16_arc
from .errors import CrcError, FrameFormatError, LengthError

__all__ = ["MAX_BODY", "CheckedFrame", "unwrap", "wrap"]

LF, CR = b"\n", b"\r"
#: The length field is `0` plus three hex digits (Swissdotnet `StandardDc09.java`).
MAX_BODY = 0xFFF
_HEX = frozenset(string.hexdigits.encode())


@dataclass(frozen=True)
class CheckedFrame:
    """The CRC-covered body of a frame that passed CRC and length checks."""

    body: bytes
    quirks: tuple[str, ...]


def wrap(body: bytes) -> bytes:
    """Add upper-case CRC and length fields, LF and CR around the covered region."""
    if len(body) > MAX_BODY:
        raise FrameFormatError(f"frame body of {len(body)} bytes exceeds 0x{MAX_BODY:X}")
    return LF + f"{crc16_arc(body):04X}{len(body):04X}".encode("ascii") + body + CR


def _layout_ok(frame: bytes) -> bool:
    """The opening quote sits where a hex (index 8) or binary (index 6) CRC puts it."""
    return frame[8:9] == b'"' or frame[6:7] == b'"'


def _strip(frame: bytes) -> bytes:
    """Remove one LF in front and a CR (plus NUL fill, seen after OH frames) at the end."""
    if frame.startswith(LF) and _layout_ok(frame[1:]):  # keep a binary CRC byte 0x0A
        frame = frame[1:]
    frame = frame.rstrip(b"\x00")
    return frame[:-1] if frame.endswith(CR) else frame


def _fields(frame: bytes) -> tuple[int, bytes, bytes, list[str]]:
    """Split into (crc, length field, body); detects the 2-byte binary CRC of quirk Q1."""
    if len(frame) > 8 and frame[8:9] == b'"':
        crc_field, quirks = frame[:4], []
        if not _HEX.issuperset(crc_field):
            raise CrcError("CRC field is not four hex digits")
        if crc_field != crc_field.upper():  # hex digits only, so: a lower-case one
            quirks.append("lowercase_hex")
        return int(crc_field, 16), frame[4:8], frame[8:], quirks
    if len(frame) > 6 and frame[6:7] == b'"' and frame[2:3] == b"0":
        return int.from_bytes(frame[:2], "big"), frame[2:6], frame[6:], ["binary_crc"]
    raise FrameFormatError("not a DC-09 frame (no CRC/length header before the id token)")


def _length_candidates(field: bytes, quirks: list[str]) -> list[tuple[int, tuple[str, ...]]]:
    """Possible length values: hex as specified, then decimal (Eldes, quirk Q3)."""
    if len(field) != 4 or not _HEX.issuperset(field):
        raise LengthError(f"length field {field.decode('latin-1')!r} is not four hex digits")
    if field != field.upper() and "lowercase_hex" not in quirks:  # hex digits only
        quirks.append("lowercase_hex")
    out: list[tuple[int, tuple[str, ...]]] = [(int(field, 16), ())]
    if field.isdigit() and int(field) != out[0][0]:
        out.append((int(field), ("decimal_length",)))
    return out


def unwrap(frame: bytes) -> CheckedFrame:
    """Verify CRC and length, tolerating quirks Q1-Q4 and Q10; frame may include LF/CR.

    CRC is checked before the length value, so a frame with both wrong is a CrcError.
    """
    crc, length_field, body, quirks = _fields(_strip(frame))
    lengths = _length_candidates(length_field, quirks)
    n = len(body)
    if crc16_arc(body) == crc:
        for value, extra in lengths:
            if value == n:
                return CheckedFrame(body, (*quirks, *extra))
        raise LengthError(f"length field says {lengths[0][0]} bytes, frame has {n}")
    if crc16_arc(body + CR) == crc:  # Eldes: CRC (and maybe length) over body + CR, Q2
        for value, extra in lengths:
            if value in (n, n + 1):
                return CheckedFrame(body, (*quirks, "crc_includes_cr", *extra))
        raise LengthError(f"length field says {lengths[0][0]} bytes, frame has {n}")
    for value, extra in lengths:  # bytes after the declared length, before CR (Q10)
        if 0 < value < n and crc16_arc(body[:value]) == crc:
            return CheckedFrame(body[:value], (*quirks, "trailing_garbage", *extra))
    raise CrcError(f"CRC mismatch: frame says {crc:04X}, computed {crc16_arc(body):04X}")
