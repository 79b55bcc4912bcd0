"""Receiver answers per DC-09 (reference A3), against a real store (SQLite file, PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from config.receiver import Account, ReceiverConfig
from protocol.dc09 import Dc09Key, Message, decode, encode
from protocol.dc09.cipher import decrypt
from protocol.dc09.frame import wrap
from receiver.handler import FrameHandler
from receiver.service import open_storage
from receiver.supervision import LinkBook

NOW = datetime(2026, 11, 28, 21, 0, 0, tzinfo=UTC)
KEY_HEX = "C73EC203BC231D91C3EEBBC4751A55E9"
KEY = Dc09Key.from_hex(KEY_HEX)
ACCOUNTS = [
    Account.model_validate({"account": "0471", "site": "demo-home", "key": f"hex:{KEY_HEX}"}),
    Account.model_validate({"account": "BEEF", "site": "plain-home"}),
]


@pytest.fixture
async def handler(store_url: str) -> AsyncIterator[FrameHandler]:
    store, _ = open_storage(ReceiverConfig(store=store_url))
    async with store:
        yield FrameHandler(ACCOUNTS, store, LinkBook(), lambda: NOW)


def _event(seq: int = 7, account: str = "0471", data: str = "#0471|Nri1/PA02",
           ts: datetime = NOW, token: str = "SIA-DCS", encrypted: bool = True) -> Message:
    return Message(token=token, sequence=seq, account=account, receiver="1", prefix="0",
                   data=data, timestamp=ts, encrypted=encrypted)


def _reply(raw: bytes | None) -> Message:
    assert raw is not None
    return decode(raw, lambda _a: [KEY])


async def test_encrypted_event_is_committed_then_acked_encrypted(handler: FrameHandler) -> None:
    reply = _reply(await handler.handle(encode(_event(), KEY), transport="tcp", peer="t"))
    assert (reply.token, reply.encrypted, reply.sequence, reply.account) == ("ACK", True, 7, "0471")
    [stored] = await handler.store.events()
    assert (stored.code, stored.zone, stored.site, stored.sequence) == ("PA", "02", "demo-home", 7)


async def test_retransmission_is_acked_again_but_stored_once(handler: FrameHandler) -> None:
    for delay in (0, 5, 11):  # same sequence and body, new timestamp each time
        frame = encode(_event(ts=NOW - timedelta(seconds=delay)), KEY)
        assert _reply(await handler.handle(frame, transport="tcp", peer="t")).token == "ACK"
    assert len(await handler.store.events()) == 1
    assert handler.counters["duplicate"] == 2


@pytest.mark.parametrize("skew", [timedelta(seconds=-41), timedelta(seconds=21), timedelta(days=3650)])
async def test_timestamp_outside_the_window_gets_nak_with_our_time(
    handler: FrameHandler, skew: timedelta
) -> None:
    reply = _reply(await handler.handle(encode(_event(ts=NOW + skew), KEY), transport="udp", peer="t"))
    assert reply.token == "NAK" and reply.timestamp == NOW
    assert await handler.store.events() == []


@pytest.mark.parametrize("skew", [timedelta(seconds=-40), timedelta(seconds=20)])
async def test_timestamp_at_the_window_edges_is_accepted(handler: FrameHandler, skew: timedelta) -> None:
    reply = _reply(await handler.handle(encode(_event(ts=NOW + skew), KEY), transport="tcp", peer="t"))
    assert reply.token == "ACK"


async def test_wrong_key_gets_nak(handler: FrameHandler) -> None:
    wrong = Dc09Key.from_hex("00" * 16)
    reply = _reply(await handler.handle(encode(_event(), wrong), transport="tcp", peer="t"))
    assert reply.token == "NAK"
    assert handler.counters["nak_decrypt"] == 1


async def test_unknown_account_gets_duh(handler: FrameHandler) -> None:
    frame = encode(_event(account="9999", data="#9999|Nri1/PA02", encrypted=False))
    reply = _reply(await handler.handle(frame, transport="tcp", peer="t"))
    assert reply.token == "DUH" and reply.account == "9999"
    assert await handler.store.events() == []


async def test_plain_frame_for_an_encrypted_account_is_refused(handler: FrameHandler) -> None:
    frame = encode(_event(encrypted=False))
    reply = _reply(await handler.handle(frame, transport="tcp", peer="t"))
    assert reply.token == "DUH"
    assert await handler.store.events() == []


async def test_bad_crc_gets_no_answer_and_is_counted(handler: FrameHandler) -> None:
    frame = bytearray(encode(_event(account="BEEF", data="#BEEF|Nri1/BA12", encrypted=False)))
    frame[1:5] = b"0000" if frame[1:5] != b"0000" else b"FFFF"
    assert await handler.handle(bytes(frame), transport="tcp", peer="t") is None
    assert handler.counters["bad_CrcError"] == 1
    assert await handler.store.events() == []


async def test_contact_id_is_stored_with_its_sia_code(handler: FrameHandler) -> None:
    msg = _event(account="BEEF", token="ADM-CID", data="#BEEF|1120 01 002", encrypted=False)
    reply = _reply(await handler.handle(encode(msg), transport="tcp", peer="t"))
    assert reply.token == "ACK" and not reply.encrypted
    [stored] = await handler.store.events()
    assert (stored.code, stored.cid, stored.zone) == ("PA", "1120 01 002", "002")


async def test_null_poll_is_acked_and_recorded_as_a_poll(handler: FrameHandler) -> None:
    msg = Message(token="NULL", sequence=0, account="0471", timestamp=NOW, encrypted=True)
    reply = _reply(await handler.handle(encode(msg, KEY), transport="tcp", peer="t"))
    assert reply.token == "ACK"
    assert handler.links.links["0471"].last_poll == NOW
    assert await handler.store.events() == []


async def test_an_undecryptable_frame_counts_against_its_account(handler: FrameHandler) -> None:
    wrong = Dc09Key.from_hex("11" * 16)
    await handler.handle(encode(_event(), wrong), transport="tcp", peer="t")
    assert handler.links.links["0471"].rejections == 1


def _flipped(frame: bytes, old: bytes, new: bytes) -> bytes:
    """The attack of issue 17: without the key, XOR the ciphertext block before the one that
    holds ``old`` so that it decrypts to ``new`` (the block before turns to noise)."""
    body = frame[9:-1]
    head, cipher_hex = body.split(b"[", 1)
    cipher = bytearray(bytes.fromhex(cipher_hex.decode()))
    at = decrypt(KEY, bytes(cipher)).index(old)  # the layout is public; the test just looks it up
    assert at >= 16, "the attack needs a block in front of the one it changes"
    for i, (a, b) in enumerate(zip(old, new, strict=True)):
        cipher[at - 16 + i] ^= a ^ b
    return wrap(head + b"[" + cipher.hex().upper().encode())


async def test_a_bit_flipped_panic_is_refused_with_nak_not_stored_as_another_code(
    handler: FrameHandler,
) -> None:
    answers = []
    for seq in range(1, 201):
        forged = _flipped(encode(_event(seq=seq), KEY), b"PA02", b"RP02")
        answers.append(_reply(await handler.handle(forged, transport="tcp", peer="t")).token)
    assert answers == ["NAK"] * 200  # before: 182 of 200 ACKed and stored as RP
    assert await handler.store.events() == []
    assert handler.counters["nak_decrypt"] == 200
