"""Tolerant reading of one frame: checks, header, decryption and the data blocks."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from datetime import datetime

from .cid import parse_cid
from .cipher import BLOCK, decrypt
from .errors import DecryptError, FrameFormatError, UnknownAccountError
from .frame import unwrap
from .keys import Dc09Key
from .message import NAK, NEVER_ENCRYPTED, Message
from .sia import parse_sia_events
from .timestamp import parse_timestamp

__all__ = ["KeyLookup", "decode"]

KeyLookup = Callable[[str], Sequence[Dc09Key]]
"""account -> keys to try (may be empty); an absent account is looked up as ""."""

_TOKEN = re.compile(rb'"(\*?)([A-Z0-9][A-Z0-9-]{0,7})"')
_HEADER = (
    r'"\*?[A-Z0-9-]+"(?P<seq>[0-9]{{4}})'
    r"(?:R(?P<rcv>[0-9A-Fa-f]{{1,6}}?)|(?P<none>None))?"  # lazy: "R0A0[" is R0 + NAK's A0
    r"(?:L(?P<pref>[0-9A-Fa-f]{{1,6}}?))?"  # lazy, so a NAK's "L0A0" leaves "A0" to the account
    r"(?:R(?P<rcv2>[0-9A-Fa-f]{{1,6}}?))?"  # pysiaalarm writes NAKs as "L0R0A0"
    r"(?:(?P<mark>[{marks}])(?P<acct>[0-9A-Fa-f]{{1,16}}))?"
    r"\["
)
_HEADER_EVENT = re.compile(_HEADER.format(marks="#").encode())
_HEADER_NAK = re.compile(_HEADER.format(marks="#A").encode())
_REST = re.compile(
    r"(?P<data>[^\[\]]*)\](?P<xdata>(?:\[[^\[\]]+\])*)"
    r"(?:_(?P<ts>[0-9]{2}:[0-9]{2}:[0-9]{2},[0-9]{2}-[0-9]{2}-[0-9]{4}))?"
)
_XBLOCK = re.compile(r"\[([^\[\]]+)\]")
_BARE = re.compile(rb'\s*"(ACK|NAK|DUH)"\s*')
_HEX_RUN = re.compile(rb"[0-9A-Fa-f]+")
_CONTROL = re.compile(rb"[\x00-\x1f\x7f]")


def _text(raw: bytes, quirks: list[str]) -> str:
    """UTF-8 when it is valid non-ASCII (Hikvision, Q9), else the standard Windows-1252."""
    if raw.isascii():
        return raw.decode("ascii")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")
    quirks.append("utf8_text")
    return text


Rest = tuple[str, tuple[tuple[str, str], ...], datetime | None]
"""(data, extended, timestamp) of a data block."""


def _parse_rest(raw: bytes, quirks: list[str]) -> Rest:
    """Parse `data]` + `[x...]`* + optional `_timestamp`."""
    match = _REST.fullmatch(_text(raw, quirks))
    if not match:
        raise FrameFormatError("data block, x-data or timestamp malformed")
    extended = tuple((b[0], b[1:]) for b in _XBLOCK.findall(match["xdata"]))
    ts = parse_timestamp(match["ts"]) if match["ts"] else None
    return match["data"], extended, ts


def _strip_pad(plain: bytes, quirks: list[str]) -> bytes:
    """Drop the pad: up to the first `|`; without one (Q8) up to the first `]` or `#`.

    The pad is at most one block (1-16 bytes, reference A4) without `[` or `]`: a separator
    found further on is the data's own `|` (`#acct|...`) behind a pad that was altered, so it
    is refused. An empty pad is tolerated and named (quirk ``pad_length``).
    """
    bar, close = plain.find(b"|"), plain.find(b"]")
    if bar != -1 and (close == -1 or bar < close):
        end, rest = bar, plain[bar + 1 :]
    else:
        ends = [i for i in (close, plain.find(b"#")) if i != -1]
        if not ends:
            raise FrameFormatError("decrypted block has no data terminator")
        quirks.append("no_pad_separator")
        end = min(ends)
        rest = plain[end:]
    if end > BLOCK or b"[" in plain[:end] or b"]" in plain[:end]:
        raise FrameFormatError("pad longer than a block, or with a bracket: not a pad")
    if end == 0:
        quirks.append("pad_length")
    return rest


@functools.lru_cache(maxsize=4096)  # a panel repeats the same few data blocks all day
def _inner_account(token: str, data: str) -> str | None:
    """The account inside strictly read data (None: none there); FrameFormatError if unreadable."""
    if token == "SIA-DCS" or (token == "NULL" and data and not data[-1:].isdigit()):
        return parse_sia_events(data)[0].account
    if token == "ADM-CID" or (token == "NULL" and data):
        return parse_cid(data).account
    if token == "ACK" and data:
        raise FrameFormatError("encrypted ACK carries data")
    return None  # no data, or a token whose data is not ours to read (RSP)


def _check_content(token: str, account: str | None, rest: Rest) -> None:
    """An encrypted message's data must read strictly (AES-CBC has no integrity check of its
    own): the token's data format, the data's account equal to the header's, x-data ids."""
    data, extended, _ = rest
    if any(not ident.isascii() or not ident.isupper() for ident, _ in extended):
        raise FrameFormatError("x-data identifier is not a letter A-Z")
    inner = _inner_account(token, data)
    if inner is not None and (account is None or int(inner, 16) != int(account, 16)):
        raise FrameFormatError("the account inside the data is not the header's")


def _decrypt_rest(token: str, cipher_hex: bytes, account: str | None, keys: KeyLookup | None,
                  quirks: list[str]) -> Rest:
    """Try each key; a key that yields a pad, data or account that breaks the rules is the
    wrong key, or the ciphertext was altered: DecryptError (the receiver answers NAK)."""
    if not _HEX_RUN.fullmatch(cipher_hex) or len(cipher_hex) % (2 * BLOCK):
        raise FrameFormatError("encrypted block is not whole AES blocks of hex")
    if cipher_hex != cipher_hex.upper() and "lowercase_hex" not in quirks:  # hex digits only
        quirks.append("lowercase_hex")
    candidates = keys(account or "") if keys is not None else ()
    if not candidates:
        raise UnknownAccountError(account)
    ciphertext = bytes.fromhex(cipher_hex.decode("ascii"))
    for key in candidates:
        tried = list(quirks)
        try:
            rest = _strip_pad(decrypt(key, ciphertext), tried)
            if _CONTROL.search(rest):
                continue  # control bytes after the pad: wrong key
            parsed = _parse_rest(rest, tried)
            _check_content(token, account, parsed)
        except FrameFormatError:
            continue
        quirks[:] = tried
        if parsed[2] is None:
            quirks.append("missing_timestamp")
        return parsed
    raise DecryptError(f"none of {len(candidates)} key(s) decrypts the message")


def _bare_reply(frame: bytes) -> Message | None:
    """pysiaalarm answers unknown accounts with an unframed `"NAK"` (reference C1.4)."""
    match = _BARE.fullmatch(frame)
    if not match:
        return None
    token = match[1].decode("ascii")
    return Message(token, 0, None, prefix=None, quirks=("unframed_reply",))


def decode(frame: bytes, keys: KeyLookup | None = None) -> Message:
    """Decode one frame (with or without LF/CR); raises only `Dc09Error` subclasses.

    CRC and length are verified (CrcError/LengthError). An encrypted frame is tried with
    every key `keys(account)` returns: UnknownAccountError when there is none,
    DecryptError when none works. The timestamp window is the caller's business.
    """
    bare = _bare_reply(frame)
    if bare is not None:
        return bare
    checked = unwrap(frame)
    quirks = list(checked.quirks)
    body = checked.body
    token_match = _TOKEN.match(body)
    if not token_match:
        raise FrameFormatError("id token missing or malformed")
    encrypted, token = bool(token_match[1]), token_match[2].decode("ascii")
    if encrypted and token in NEVER_ENCRYPTED:
        raise FrameFormatError(f"{token} must not be encrypted")
    header = (_HEADER_NAK if token == NAK else _HEADER_EVENT).match(body)
    if not header:
        raise FrameFormatError("header (sequence, receiver, prefix, account) malformed")
    fields = {k: None if v is None else v.decode("ascii") for k, v in header.groupdict().items()}
    if fields["none"]:
        quirks.append("none_receiver")  # pysiaalarm#88: literal "None" for a missing receiver
    if fields["rcv2"] is not None:
        if fields["rcv"] is not None:
            raise FrameFormatError("two receiver fields")
        quirks.append("receiver_after_prefix")
    if token == NAK and fields["mark"] == "#":
        quirks.append("nak_hash_account")
    account = fields["acct"]
    rest = body[header.end() :]
    receiver = fields["rcv"] if fields["rcv"] is not None else fields["rcv2"]
    if encrypted:
        try:
            data, extended, ts = _decrypt_rest(token, rest, account, keys, quirks)
        except UnknownAccountError as exc:
            exc.header = Message(token, int(fields["seq"] or 0), account, receiver=receiver,
                                 prefix=fields["pref"], encrypted=True, quirks=tuple(quirks))
            raise
    else:
        data, extended, ts = _parse_rest(rest, quirks)
    return Message(
        token=token,
        sequence=int(fields["seq"] or 0),
        account=account,
        receiver=receiver,
        prefix=fields["pref"],
        data=data,
        extended=extended,
        timestamp=ts,
        encrypted=encrypted,
        quirks=tuple(quirks),
    )
