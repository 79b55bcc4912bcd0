"""Exception types of the DC-09 codec; all are ValueErrors so a receive loop can catch one base."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .message import Message

__all__ = [
    "CrcError",
    "Dc09Error",
    "DecryptError",
    "FrameFormatError",
    "KeyFormatError",
    "LengthError",
    "UnknownAccountError",
]


class Dc09Error(ValueError):
    """Base of every codec error, so callers can count bad input without catching bugs."""


class CrcError(Dc09Error):
    """The CRC field does not match the frame; the spec says such frames get no answer."""


class LengthError(Dc09Error):
    """The length field is unreadable or does not match the frame."""


class FrameFormatError(Dc09Error):
    """The bytes are not a DC-09 frame, or a message cannot be written as one."""


class DecryptError(Dc09Error):
    """None of the candidate keys turned the ciphertext into a readable message."""


class UnknownAccountError(Dc09Error):
    """An encrypted frame arrived for an account we hold no key for (receiver answers NAK)."""

    def __init__(self, account: str | None, message: str | None = None) -> None:
        super().__init__(message or f"no key for account {account!r}")
        self.account = account
        #: the plain header fields (token, sequence, receiver, prefix, account), so that a
        #: receiver can still answer DUH echoing them; set by `decode`
        self.header: Message | None = None


class KeyFormatError(Dc09Error):
    """A key spec is malformed; the message never contains the key itself."""
