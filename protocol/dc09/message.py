"""The decoded form of one DC-09 frame, shared by the encoder, decoder and responses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["EVENT_TOKENS", "NAK", "NEVER_ENCRYPTED", "RESPONSE_TOKENS", "Message"]

NAK = "NAK"  # the only token written with the `A` account marker

#: Tokens a panel sends; written strictly (upper-case accounts of 3-16 hex digits).
EVENT_TOKENS = frozenset({"SIA-DCS", "ADM-CID", "NULL"})
#: Tokens a receiver sends; they echo the request's fields as received (1-16 hex, any case).
RESPONSE_TOKENS = frozenset({"ACK", "NAK", "DUH", "RSP"})
#: The 2013 draft forbids encrypting these (reference A1.1).
NEVER_ENCRYPTED = frozenset({"NAK", "DUH"})


@dataclass(frozen=True)
class Message:
    """One DC-09 message, independent of pad and encryption details.

    ``token`` has no ``*``; ``encrypted`` says whether it was (or is to be) sent encrypted.
    ``account`` is the header account as sent (case preserved), ``None`` when absent. A NAK's
    ``A0`` field is read as account ``"0"`` and a NAK is always written with the ``A`` marker.
    ``data`` is the data block without pad, pad ``|`` and brackets, e.g. ``"#1234|Nri1/BA01"``.
    ``timestamp`` is an aware UTC datetime; ``quirks`` names tolerated deviations on decode.
    """

    token: str
    sequence: int
    account: str | None
    receiver: str | None = None
    prefix: str | None = "0"
    data: str = ""
    extended: tuple[tuple[str, str], ...] = ()
    timestamp: datetime | None = None
    encrypted: bool = False
    quirks: tuple[str, ...] = ()
