"""Receiver answers ACK / NAK / DUH in the forms of reference A3."""

from __future__ import annotations

from datetime import datetime

from .encode import encode
from .errors import FrameFormatError
from .keys import Dc09Key
from .message import Message

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
    """`*ACK` (pad + `|]_ts`, spec form) for an encrypted request, else plain `ACK[]_ts`."""
    if request.encrypted and key is None:
        raise FrameFormatError("an encrypted request must be acknowledged with its key")
    return encode(_echo(request, "ACK", now), key if request.encrypted else None, pad=pad)


def nak(now: datetime) -> bytes:
    """`"NAK"0000R0L0A0[]_<now>`: never encrypted, carries our clock for the panel to adopt."""
    return encode(Message("NAK", 0, "0", receiver="0", prefix="0", timestamp=now))


def duh(request: Message, now: datetime) -> bytes:
    """`"DUH"` echoing the request: understood but cannot process; never encrypted."""
    return encode(_echo(request, "DUH", now))
