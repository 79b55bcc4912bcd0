"""Receiver answers ACK / NAK / DUH in the forms of reference A3."""

from __future__ import annotations

from datetime import UTC, datetime

from .encode import encode, header_parts, seal
from .errors import FrameFormatError
from .frame import wrap
from .keys import Dc09Key
from .message import Message
from .timestamp import format_timestamp

__all__ = ["ack", "duh", "nak"]


def _echo(request: Message, token: str, now: datetime) -> Message:
    """Echo sequence, receiver, prefix and account exactly as received."""
    return Message(
        token=token,
        sequence=request.sequence,
        account=request.account,
        receiver=request.receiver,
        prefix=request.prefix,
        timestamp=now,
    )


def ack(request: Message, key: Dc09Key | None, now: datetime, *, pad: bytes | None = None) -> bytes:
    """`*ACK` (pad + `|]_ts`, spec form) for an encrypted request, else plain `ACK[]_ts`.

    The receiver's hot path: the same frame `encode(_echo(request, "ACK", now), key)` writes
    (a test holds them equal), from the cached header and the second's timestamp.
    """
    if request.encrypted and key is None:
        raise FrameFormatError("an encrypted request must be acknowledged with its key")
    if pad is not None and not request.encrypted:
        raise FrameFormatError("pad is only used for encrypted messages")
    if not 0 <= request.sequence <= 9999:
        raise FrameFormatError(f"sequence must be 0..9999, got {request.sequence}")
    head, tail = header_parts("ACK", request.receiver, request.prefix, request.account, request.encrypted)
    rest = b"]_" + _stamp(now)
    block = seal(rest, key, pad) if request.encrypted and key is not None else rest
    return wrap(b"%s%04d%s[%s" % (head, request.sequence, tail, block))


_last_stamp: tuple[int, bytes] = (-1, b"")


def _stamp(now: datetime) -> bytes:
    """`format_timestamp(now)`, computed once per second (every ACK of that second reuses it)."""
    global _last_stamp
    if now.tzinfo is not UTC:
        return format_timestamp(now).encode("ascii")
    second = int(now.timestamp())
    if _last_stamp[0] != second:
        _last_stamp = (second, format_timestamp(now).encode("ascii"))
    return _last_stamp[1]


def nak(now: datetime) -> bytes:
    """`"NAK"0000R0L0A0[]_<now>`: never encrypted, carries our clock for the panel to adopt."""
    return encode(Message("NAK", 0, "0", receiver="0", prefix="0", timestamp=now))


def duh(request: Message, now: datetime) -> bytes:
    """`"DUH"` echoing the request: understood but cannot process; never encrypted."""
    return encode(_echo(request, "DUH", now))
