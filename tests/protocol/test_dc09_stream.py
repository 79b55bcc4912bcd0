"""FrameSplitter on the situations real TCP peers produce (reference A4.1, Q5, Q10)."""

from __future__ import annotations

from protocol.dc09 import FrameFormatError, FrameSplitter, crc16_arc, decode
from protocol.dc09.stream import MAX_FRAME

AJAX = b'\n12CE0026"NULL"0000L0#CCC[]_02:48:01,03-10-2026\r\nECFA0012"NULL"0000L0#CCC[]\r'


def test_two_ajax_frames_in_one_segment() -> None:
    frames = FrameSplitter().feed(AJAX)
    assert frames == [AJAX[1:47], AJAX[49:-1]]
    assert [decode(f).account for f in frames] == ["CCC", "CCC"]  # type: ignore[arg-type]


def test_one_frame_byte_by_byte() -> None:
    splitter = FrameSplitter()
    out = [item for b in AJAX for item in splitter.feed(bytes([b]))]
    assert len(out) == 2 and all(isinstance(f, bytes) for f in out)


def test_garbage_is_skipped_and_counted() -> None:
    splitter = FrameSplitter()
    assert splitter.feed(b"\x00\x00junk") == []
    out = splitter.feed(b"xx" + AJAX + b"\x00")
    assert len(out) == 2 and splitter.skipped == 6 + 2 + 1


def test_frame_cut_by_next_lf_is_an_error() -> None:
    out = FrameSplitter().feed(b'\n54230012"NULL"0000' + AJAX)
    assert isinstance(out[0], FrameFormatError)
    assert [type(x) for x in out[1:]] == [bytes, bytes]


def test_empty_frame_is_an_error() -> None:
    out = FrameSplitter().feed(b"\n\r" + AJAX)
    assert isinstance(out[0], FrameFormatError) and len(out) == 3


def test_binary_crc_bytes_equal_to_cr_and_lf() -> None:
    body = b'"NULL"0000L0#AAA[]'
    for crc in (b"\r\n", b"\n\r", b"\r\r", b"\n\n"):
        raw = b"\n" + crc + f"{len(body):04X}".encode() + body + b"\r"
        splitter = FrameSplitter()
        out = [item for b in raw for item in splitter.feed(bytes([b]))]
        assert out == [raw[1:-1]]


def test_binary_crc_frame_decodes_after_split() -> None:
    body = b'"NULL"0000L0#AAA[]'
    raw = b"\n" + crc16_arc(body).to_bytes(2, "big") + f"{len(body):04X}".encode() + body + b"\r"
    (frame,) = FrameSplitter().feed(raw)
    assert decode(frame).quirks == ("binary_crc",)  # type: ignore[arg-type]


def test_buffer_is_bounded() -> None:
    splitter = FrameSplitter()
    out = splitter.feed(b'\n54230012"NULL"' + b"x" * (MAX_FRAME + 10))
    assert isinstance(out[0], FrameFormatError)
    assert splitter.feed(AJAX)[0] == AJAX[1:47]
    # garbage without any LF never accumulates
    splitter.feed(b"y" * 100_000)
    assert len(splitter._buf) == 0
