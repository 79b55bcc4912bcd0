"""Interop with pysiaalarm 3.2.2, the receiver behind Home Assistant: it must accept what we
write, and we must read what it answers (including its known deviations, reference C1.4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pysiaalarm.account import SIAAccount
from pysiaalarm.event import SIAEvent
from pysiaalarm.utils.enums import ResponseType

from protocol.codes import EventKind, cid_data, sia_data
from protocol.dc09 import Dc09Key, Message, decode, encode

KEY_TEXT = "AAAAAAAAAAAAAAAA"  # pysiaalarm's test default, ASCII key
KEY = Dc09Key.from_ascii(KEY_TEXT)
ACCOUNT = "1111"


def keys(_account: str) -> list[Dc09Key]:
    return [KEY]


def peer_parse(frame: bytes, encrypted: bool) -> SIAEvent:
    """What pysiaalarm's server does with one received read (base_server.py)."""
    SIAAccount.validate_account(ACCOUNT, KEY_TEXT if encrypted else None)
    account = SIAAccount(ACCOUNT, KEY_TEXT if encrypted else None)
    line = frame.decode("ascii", errors="ignore").strip()
    return SIAEvent.from_line(line, {ACCOUNT: account})


CASES = [
    ("SIA-DCS", sia_data(EventKind.PANIC, ACCOUNT, 1, area=1), "PA"),
    ("SIA-DCS", sia_data(EventKind.ARM, ACCOUNT, 501, area=1), "CL"),
    ("SIA-DCS", sia_data(EventKind.MAINS, ACCOUNT, None), "AT"),
    ("ADM-CID", cid_data(EventKind.BURGLARY_PERIMETER, ACCOUNT, 3), "BA"),
    ("ADM-CID", cid_data(EventKind.DISARM, ACCOUNT, 501, group=1), "OP"),
    ("ADM-CID", cid_data(EventKind.REMOTE_ARM, ACCOUNT, 2), "CQ"),
    ("NULL", "", "RP"),
]


@pytest.mark.parametrize("encrypted", [False, True], ids=["plain", "encrypted"])
@pytest.mark.parametrize("receiver", [None, "0"], ids=["no-R", "R0"])
@pytest.mark.parametrize(("token", "data", "code"), CASES)
def test_peer_accepts_our_frames(
    token: str, data: str, code: str, receiver: str | None, encrypted: bool
) -> None:
    msg = Message(token, 42, ACCOUNT, receiver=receiver, data=data, timestamp=datetime.now(UTC))
    event = peer_parse(encode(msg, KEY if encrypted else None), encrypted)
    assert event.valid_message  # CRC
    assert event.code == code
    assert event.sequence == "0042" and event.account == ACCOUNT
    assert event.encrypted is encrypted
    assert event.response == ResponseType.ACK

    reply = decode(event.create_response(), keys)
    assert (reply.token, reply.sequence, reply.account) == ("ACK", 42, ACCOUNT)
    assert reply.encrypted is encrypted
    # pysiaalarm bugs we tolerate: "None" for a missing receiver (pysiaalarm#88) and an
    # encrypted ACK padded with "0" and no "|" (reference C1.4)
    expected = set()
    if receiver is None:
        expected.add("none_receiver")
    if encrypted:
        expected.add("no_pad_separator")
    assert set(reply.quirks) == expected


@settings(max_examples=200)
@given(st.binary(min_size=16, max_size=16))
def test_peer_accepts_any_random_pad(pad_source: bytes) -> None:
    data = sia_data(EventKind.BURGLARY, ACCOUNT, 7, area=2)
    msg = Message("SIA-DCS", 7, ACCOUNT, data=data, timestamp=datetime.now(UTC))
    rest_len = len(b"|" + data.encode() + b"]_00:00:00,01-01-2000")
    pad = bytes(b if b not in b"|[]" else 0x30 for b in pad_source)[: 16 - rest_len % 16]
    event = peer_parse(encode(msg, KEY, pad=pad), True)
    assert (event.code, event.ri, event.message) == ("BA", "2", "07")


def test_peer_nak_for_old_timestamp_is_readable() -> None:
    msg = Message(
        "SIA-DCS",
        5,
        ACCOUNT,
        receiver="0",
        data=sia_data(EventKind.PANIC, ACCOUNT, 1),
        timestamp=datetime.now(UTC) - timedelta(minutes=5),
    )
    event = peer_parse(encode(msg, KEY), True)
    assert event.response == ResponseType.NAK
    reply = decode(event.create_response(), keys)
    assert (reply.token, reply.account, reply.sequence) == ("NAK", "0", 0)
    assert reply.timestamp is not None


def test_peer_duh_for_unknown_code_is_readable() -> None:
    msg = Message("SIA-DCS", 6, ACCOUNT, receiver="0", data=f"#{ACCOUNT}|NZX01", timestamp=datetime.now(UTC))
    event = peer_parse(encode(msg), False)
    assert event.response == ResponseType.DUH
    reply = decode(event.create_response(), keys)
    assert (reply.token, reply.sequence, reply.account) == ("DUH", 6, ACCOUNT)


def test_peer_generic_nak_with_swapped_fields_is_readable() -> None:
    from pysiaalarm.event import NAKEvent

    reply = decode(NAKEvent().create_response())
    assert reply.token == "NAK" and "receiver_after_prefix" in reply.quirks


def test_peer_bare_reply_for_unknown_account_is_readable() -> None:
    msg = Message("SIA-DCS", 8, "2222", receiver="0", data="#2222|NRP", timestamp=datetime.now(UTC))
    event = SIAEvent.from_line(encode(msg).decode().strip(), {})
    raw = event.create_response()
    assert raw == b'"NAK"'  # unframed, no CRC, no LF/CR
    assert decode(raw).quirks == ("unframed_reply",)
