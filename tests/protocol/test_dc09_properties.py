"""Property tests: encode/decode round trips, stream chopping, and fuzzing for error types."""

from __future__ import annotations

import string
from contextlib import suppress
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.dc09 import Dc09Error, Dc09Key, FrameSplitter, Message, decode, encode

HEX_UPPER = "0123456789ABCDEF"
EVENT_TOKENS = ["SIA-DCS", "ADM-CID", "NULL"]
ALL_TOKENS = [*EVENT_TOKENS, "ACK", "NAK", "DUH", "RSP"]
# printable ASCII plus Windows-1252 letters that can never form valid UTF-8 sequences
PRINTABLE = [c for c in string.printable if c not in "[]\r\n\t\x0b\x0c"]
TEXT = st.text(alphabet=st.sampled_from([*PRINTABLE, *"äöüÄÖÜßé"]), max_size=30)
DATA = st.text(alphabet=st.sampled_from(PRINTABLE), max_size=40)


def hexstr(low: int, high: int, alphabet: str = HEX_UPPER) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=low, max_size=high)


timestamps = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))


@st.composite
def messages(draw: st.DrawFn, token: str | None = None, need_ts: bool = False) -> Message:
    token = token or draw(st.sampled_from(ALL_TOKENS))
    low = 3 if token in EVENT_TOKENS else 1
    nak = token == "NAK"  # the NAK's "A" account marker forbids "A" in its fields
    digits = HEX_UPPER.replace("A", "") if nak else HEX_UPPER
    return Message(
        token=token,
        sequence=draw(st.integers(0, 9999)),
        account=draw(hexstr(1, 16, digits)) if nak else draw(st.none() | hexstr(low, 16)),
        receiver=draw(st.none() | hexstr(1, 6, digits)),
        prefix=draw(st.none() | hexstr(1, 6, digits)),
        data=draw(DATA),
        extended=tuple(draw(st.lists(st.tuples(st.sampled_from("AHMVPISOLRTXYZK"), TEXT), max_size=3))),
        timestamp=draw(timestamps) if need_ts else draw(st.none() | timestamps),
    )


#: data an encrypted message must carry to be read (decode checks it strictly: AES-CBC alone
#: does not show that a ciphertext was altered)
EVENT_DATA = {
    "SIA-DCS": ["Nri1/PA02", "Nti10:01:00/da08-18-24/RP", "Nri2/JC12", "Npi0/AT", "NRP"],
    "ADM-CID": ["1130 01 003", "3401 02 501", "1602 00 000"],
}


def valid_data(token: str, account: str | None) -> st.SearchStrategy[str]:
    if token == "RSP":
        return DATA
    if token not in EVENT_DATA:
        return st.just("")
    bodies = st.sampled_from(EVENT_DATA[token])
    if account is None:
        return bodies
    return st.tuples(st.booleans(), bodies).map(lambda p: f"#{account}|{p[1]}" if p[0] else p[1])


def key_of(size: int, raw: bytes, form: str) -> Dc09Key:
    if form == "hex":
        return Dc09Key.from_hex(raw[:size].hex())
    text = "".join(string.ascii_letters[b % 52] for b in raw[:size])
    return Dc09Key.from_ascii(text)


@given(messages())
def test_plain_roundtrip(msg: Message) -> None:
    assert decode(encode(msg)) == msg


@given(
    st.sampled_from([t for t in ALL_TOKENS if t not in ("NAK", "DUH")]).flatmap(
        lambda t: messages(t, need_ts=True)
    ),
    st.sampled_from([16, 24, 32]),
    st.binary(min_size=32, max_size=32),
    st.sampled_from(["hex", "ascii"]),
    st.data(),
)
def test_encrypted_roundtrip(msg: Message, size: int, raw: bytes, form: str, data: st.DataObject) -> None:
    msg = Message(**{**msg.__dict__, "data": data.draw(valid_data(msg.token, msg.account))})
    key = key_of(size, raw, form)
    frame = encode(msg, key)
    cipher = frame.rsplit(b"[", 1)[1][:-1]
    assert cipher == cipher.upper() and len(cipher) % 32 == 0
    out = decode(frame, lambda _a: [key])
    assert out == Message(**{**msg.__dict__, "encrypted": True})


@given(messages(), st.lists(st.integers(0, 200), max_size=12))
def test_splitter_reassembles_chopped_stream(msg: Message, cuts: list[int]) -> None:
    stream = b"junk" + encode(msg) + b"\x00" + encode(msg) + encode(msg) + b"\r\x00"
    points = sorted({min(c, len(stream)) for c in cuts})
    splitter, out = FrameSplitter(), []
    for start, end in zip([0, *points], [*points, len(stream)], strict=True):
        out.extend(splitter.feed(stream[start:end]))
    assert len(out) == 3
    assert all(isinstance(f, bytes) and decode(f) == msg for f in out)


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=80), max_size=8))
def test_fuzz_only_dc09_errors(chunks: list[bytes]) -> None:
    splitter = FrameSplitter()
    key = Dc09Key.from_ascii("A" * 16)
    for chunk in chunks:
        for item in [chunk, *splitter.feed(chunk)]:
            if isinstance(item, Dc09Error):
                continue
            with suppress(Dc09Error):
                decode(item, lambda _a: [key])


@given(st.binary(max_size=60), st.sampled_from([b'"SIA-DCS"', b'"*NULL"', b'"NAK"', b'"ACK"']))
def test_fuzz_framed_bodies(tail: bytes, token: bytes) -> None:
    from tests.protocol.test_dc09_vectors import frame

    key = Dc09Key.from_ascii("A" * 16)
    for raw in (frame(token + tail), frame(token + b"0001L0#1234[" + tail)):
        with suppress(Dc09Error):
            decode(raw, lambda _a: [key])


@given(messages(), st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), min_size=1, max_size=4))
def test_fuzz_mutated_frames(msg: Message, flips: list[tuple[int, int]]) -> None:
    key = Dc09Key.from_ascii("A" * 16)
    raw = bytearray(encode(msg, key if msg.token not in ("NAK", "DUH") and msg.timestamp else None))
    for pos, value in flips:
        raw[pos % len(raw)] = value
    for item in [bytes(raw), *FrameSplitter().feed(bytes(raw))]:
        if isinstance(item, bytes):
            with suppress(Dc09Error):
                decode(item, lambda _a: [key])
