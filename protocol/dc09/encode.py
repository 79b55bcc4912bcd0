"""Strict writing: one standard layout, upper-case hex, spec padding (reference A1, A4)."""

from __future__ import annotations

import binascii
import re
from functools import lru_cache

from .cipher import check_pad, encrypt, pad_length, random_pad
from .errors import FrameFormatError
from .frame import wrap
from .keys import Dc09Key
from .message import EVENT_TOKENS, NAK, NEVER_ENCRYPTED, Message
from .timestamp import format_timestamp

__all__ = ["encode", "encode_body", "header_parts", "seal"]

_TOKEN = re.compile(r"[A-Z0-9][A-Z0-9-]{0,7}")
_UPPER_HEX = re.compile(r"[0-9A-F]+")
_ANY_HEX = re.compile(r"[0-9A-Fa-f]+")
_XDATA_ID = re.compile(r"[A-Z]")
_TEXT_FORBIDDEN = re.compile(r"[\[\]\x00-\x1f\x7f]")


def _check_hex(name: str, value: str, low: int, high: int, *, echo: bool) -> None:
    """Events use upper-case hex; responses echo the request's case (reference A1.3)."""
    pattern = _ANY_HEX if echo else _UPPER_HEX
    if not (low <= len(value) <= high and pattern.fullmatch(value)):
        case = "" if echo else "upper-case "
        raise FrameFormatError(f"{name} must be {low}-{high} {case}hex digits, got {value!r}")


def _check_text(name: str, value: str) -> bytes:
    """Text goes out as Windows-1252, the charset the 2013 x-data list names (reference A1.4)."""
    if _TEXT_FORBIDDEN.search(value):
        raise FrameFormatError(f"{name} must not contain '[', ']' or control characters")
    try:
        return value.encode("cp1252")
    except UnicodeEncodeError as exc:
        raise FrameFormatError(f"{name} has characters outside Windows-1252") from exc


def _header(msg: Message, encrypted: bool) -> bytes:
    if not _TOKEN.fullmatch(msg.token):
        raise FrameFormatError(f"invalid id token {msg.token!r}")
    if not 0 <= msg.sequence <= 9999:
        raise FrameFormatError(f"sequence must be 0..9999, got {msg.sequence}")
    head, tail = header_parts(msg.token, msg.receiver, msg.prefix, msg.account, encrypted)
    return b"%s%04d%s" % (head, msg.sequence, tail)


@lru_cache(maxsize=4096)
def header_parts(
    token: str, receiver: str | None, prefix: str | None, account: str | None, encrypted: bool
) -> tuple[bytes, bytes]:
    """The checked header around the sequence; a receiver answers the same few peers all day."""
    echo = token not in EVENT_TOKENS
    parts = []
    if receiver is not None:
        _check_hex("receiver", receiver, 1, 6, echo=echo)
        parts.append(f"R{receiver}")
    if prefix is not None:
        _check_hex("prefix", prefix, 1, 6, echo=echo)
        parts.append(f"L{prefix}")
    if token == NAK:  # "A" is the NAK's account marker, so it must be unambiguous
        if account is None:
            raise FrameFormatError("a NAK carries an account field (A0)")
        if any("a" in f.lower() for f in (receiver, prefix, account) if f):
            raise FrameFormatError("NAK receiver, prefix and account must not contain 'A'")
    if account is not None:
        _check_hex("account", account, 1 if echo else 3, 16, echo=echo)
        parts.append(f"{'A' if token == NAK else '#'}{account}")
    head = f'"{"*" if encrypted else ""}{token}"'
    return head.encode("ascii"), "".join(parts).encode("ascii")


def _rest(msg: Message) -> bytes:
    """Everything after the data block's content: `]`, x-data blocks, timestamp."""
    out = bytearray(_check_text("data", msg.data) + b"]")
    for ident, value in msg.extended:
        if not _XDATA_ID.fullmatch(ident):
            raise FrameFormatError(f"x-data id must be one upper-case letter, got {ident!r}")
        out += b"[" + ident.encode("ascii") + _check_text(f"x-data {ident}", value) + b"]"
    if msg.timestamp is not None:
        out += b"_" + format_timestamp(msg.timestamp).encode("ascii")
    return bytes(out)


def encode_body(msg: Message, key: Dc09Key | None = None, *, pad: bytes | None = None) -> bytes:
    """The CRC-covered region (from the opening quote to before CR), see `encode`."""
    if key is None:
        if msg.encrypted:
            raise FrameFormatError("message is marked encrypted but no key was given")
        if pad is not None:
            raise FrameFormatError("pad is only used for encrypted messages")
        return _header(msg, False) + b"[" + _rest(msg)
    if msg.token in NEVER_ENCRYPTED:
        raise FrameFormatError(f"{msg.token} is never encrypted")
    if msg.timestamp is None:
        raise FrameFormatError("an encrypted message needs a timestamp")
    return _header(msg, True) + b"[" + seal(_rest(msg), key, pad)


def seal(rest: bytes, key: Dc09Key, pad: bytes | None = None) -> bytes:
    """The encrypted data block: hex of AES(pad + `|` + rest), the pad random unless given."""
    rest = b"|" + rest
    size = pad_length(len(rest))
    if pad is None:
        pad = random_pad(size)
    else:
        check_pad(pad, size)
    return binascii.hexlify(encrypt(key, pad + rest)).upper()


def encode(msg: Message, key: Dc09Key | None = None, *, pad: bytes | None = None) -> bytes:
    """Full frame LF..CR. Encrypts iff `key` is given (`msg.encrypted` is then implied).

    A message marked encrypted without a key is refused rather than sent in clear.
    `pad` fixes the pad bytes (tests); by default they are random, 1-16 bytes.
    """
    return wrap(encode_body(msg, key, pad=pad))
