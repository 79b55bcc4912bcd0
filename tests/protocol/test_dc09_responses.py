"""ACK / NAK / DUH as reference A3 describes them, checked by decoding them again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.dc09 import Dc09Key, FrameFormatError, Message, ack, decode, duh, encode, nak
from protocol.dc09.cipher import decrypt, pad_length
from protocol.dc09.timestamp import format_timestamp

NOW = datetime(2015, 4, 14, 16, 8, 12, tzinfo=UTC)
KEY = Dc09Key.from_hex("ABCD" * 8)
REQUEST = Message(
    "SIA-DCS", 12, "080027e62a64", receiver="c0ffd", prefix="1234", data="#080027E62A64|NBA01", timestamp=NOW
)


def test_plain_ack_echoes_request() -> None:
    raw = ack(REQUEST, None, NOW)
    assert raw[9:-1] == b'"ACK"0012Rc0ffdL1234#080027e62a64[]_16:08:12,04-14-2015'
    msg = decode(raw)
    assert (msg.token, msg.sequence, msg.account, msg.encrypted) == ("ACK", 12, "080027e62a64", False)


def test_encrypted_ack_spec_form() -> None:
    request = Message(**{**REQUEST.__dict__, "encrypted": True})
    raw = ack(request, KEY, NOW, pad=b"\x01" * 10)
    assert raw[9:].startswith(b'"*ACK"0012Rc0ffdL1234#080027e62a64[')
    cipher = bytes.fromhex(raw.rsplit(b"[", 1)[1][:-1].decode())
    assert decrypt(KEY, cipher) == b"\x01" * 10 + b"|]_16:08:12,04-14-2015"
    msg = decode(raw, lambda _a: [KEY])
    assert (msg.token, msg.encrypted, msg.timestamp) == ("ACK", True, NOW)


@settings(max_examples=200, deadline=None)
@given(
    sequence=st.integers(0, 9999),
    receiver=st.none() | st.from_regex(r"[0-9A-Fa-f]{1,6}", fullmatch=True),
    prefix=st.none() | st.from_regex(r"[0-9A-Fa-f]{1,6}", fullmatch=True),
    account=st.none() | st.from_regex(r"[0-9A-Fa-f]{1,16}", fullmatch=True),
    moment=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31),
                        timezones=st.just(UTC)),
    encrypted=st.booleans(),
    pad=st.binary(min_size=16, max_size=16).filter(lambda b: not set(b) & set(b"|[]")),
)
def test_ack_fast_path_writes_what_the_encoder_writes(
    sequence: int, receiver: str | None, prefix: str | None, account: str | None, moment: datetime,
    encrypted: bool, pad: bytes,
) -> None:
    """`ack` assembles its frame from cached parts; it must be the encoder's frame, byte for byte."""
    request = Message("SIA-DCS", sequence, account, receiver=receiver, prefix=prefix, encrypted=encrypted)
    echo = Message("ACK", sequence, account, receiver=receiver, prefix=prefix, timestamp=moment)
    if encrypted:
        size = pad_length(len(b"|]_" + format_timestamp(moment).encode()))
        assert ack(request, KEY, moment, pad=pad[:size]) == encode(echo, KEY, pad=pad[:size])
    else:
        assert ack(request, None, moment) == encode(echo)
    assert ack(request, KEY if encrypted else None, moment + timedelta(seconds=1)) != ack(
        request, KEY if encrypted else None, moment)


def test_encrypted_ack_needs_key() -> None:
    with pytest.raises(FrameFormatError):
        ack(Message(**{**REQUEST.__dict__, "encrypted": True}), None, NOW)


def test_nak_fixed_fields() -> None:
    raw = nak(NOW)
    assert raw[9:-1] == b'"NAK"0000R0L0A0[]_16:08:12,04-14-2015'
    msg = decode(raw)
    assert (msg.token, msg.account, msg.timestamp) == ("NAK", "0", NOW)


def test_duh_echoes_and_is_never_encrypted() -> None:
    request = Message(**{**REQUEST.__dict__, "encrypted": True})
    raw = duh(request, NOW)
    assert raw[9:-1] == b'"DUH"0012Rc0ffdL1234#080027e62a64[]_16:08:12,04-14-2015'


def test_strict_writing_refusals() -> None:
    from protocol.dc09 import encode

    bad = [
        (Message("SIA-DCS", 10000, "1234"), None),
        (Message("SIA-DCS", 1, "12"), None),  # events: 3-16 hex
        (Message("SIA-DCS", 1, "abcd"), None),  # events: upper-case
        (Message("SIA-DCS", 1, "1234", data="x]"), None),
        (Message("SIA-DCS", 1, "1234", data="Жук"), None),  # not Windows-1252
        (Message("SIA-DCS", 1, "1234", extended=(("vv", "x"),)), None),
        (Message("SIA-DCS", 1, "1234", timestamp=datetime(2020, 1, 1)), None),  # naive
        (Message("SIA-DCS", 1, "1234", encrypted=True, timestamp=NOW), None),  # no key
        (Message("SIA-DCS", 1, "1234"), KEY),  # encrypted needs timestamp
        (Message("DUH", 1, "1234", timestamp=NOW), KEY),
        (Message("NAK", 0, None), None),
        (Message("NAK", 0, "A1"), None),
        (Message("sia", 1, "1234"), None),
        (Message("SIA-DCS", 1, "1234", data="x" * 5000), None),
    ]
    for msg, key in bad:
        with pytest.raises(FrameFormatError):
            encode(msg, key)
