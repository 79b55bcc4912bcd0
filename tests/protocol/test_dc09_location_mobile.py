"""SIA-DCS location x-data ([X…] longitude, [Y…] latitude): read, written, and printed by the CLI."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.dc09 import FrameFormatError, Location, Message, decode, encode, location_blocks, location_of
from tests.protocol.test_dc09_cli import run

FIELD_EXAMPLE = (("X", "006E07.7777777"), ("Y", "49N06.6666666"))


def test_mobile_location_reads_the_field_example() -> None:
    found = location_of(FIELD_EXAMPLE)
    assert found is not None
    assert found.longitude == pytest.approx(6.12963, abs=1e-5)
    assert found.latitude == pytest.approx(49.11111, abs=1e-5)
    assert found.text() == "6.12963 E, 49.11111 N"
    assert found.quirks == ()


def test_mobile_location_writes_the_field_layout() -> None:
    assert location_blocks(Location(49.11111111, 6.129629628)) == FIELD_EXAMPLE
    assert location_blocks(Location(-33.8688, -151.2093, 12.0)) == (
        ("X", "151W12.5580000"), ("Y", "33S52.1280000"), ("Z", "12"))


@pytest.mark.parametrize(
    ("x", "y", "quirk"),
    [
        ("E00607.7777777", "N4906.6666666", "location_letter_first"),
        ("00607.7777777E", "4906.6666666N", "location_letter_last"),
        ("6.1296296", "49.1111111", "location_decimal_degrees"),
    ],
)
def test_mobile_location_tolerates_other_layouts(x: str, y: str, quirk: str) -> None:
    found = location_of((("X", x), ("Y", y)))
    assert found is not None
    assert (found.longitude, found.latitude) == pytest.approx((6.12963, 49.11111), abs=1e-5)
    assert quirk in found.quirks


@pytest.mark.parametrize(
    ("x", "y", "why"),
    [
        ("006N07.7", "49N06.6", "hemisphere must be E or W"),
        ("006E61.0", "49N06.6", "minutes must be below 60"),
        ("somewhere", "49N06.6", "not a position"),
        ("190E00.0", "49N06.6", "off the globe"),
    ],
)
def test_mobile_location_refuses_nonsense(x: str, y: str, why: str) -> None:
    with pytest.raises(FrameFormatError, match=why):
        location_of((("X", x), ("Y", y)))


def test_mobile_location_needs_both_axes() -> None:
    assert location_of((("X", "006E07.7777777"),)) is None
    assert location_of(()) is None


@given(st.floats(-90, 90), st.floats(-180, 180))
def test_mobile_location_round_trips_within_a_centimetre(lat: float, lon: float) -> None:
    found = location_of(location_blocks(Location(lat, lon)))
    assert found is not None
    assert found.latitude == pytest.approx(lat, abs=1e-7)
    assert found.longitude == pytest.approx(lon, abs=1e-7)


def test_mobile_location_survives_a_whole_frame() -> None:
    msg = Message("SIA-DCS", 7, "1234", data="#1234|NPA", extended=FIELD_EXAMPLE)
    assert decode(encode(msg)).extended == FIELD_EXAMPLE


def test_mobile_dc09_decode_prints_decimal_degrees(capsys: pytest.CaptureFixture[str]) -> None:
    frame = encode(Message("SIA-DCS", 7, "1234", data="#1234|NPA", extended=FIELD_EXAMPLE))
    code, out = run(["dc09", "decode", frame.decode().strip()], capsys)
    assert code == 0
    assert json.loads(out)["location"] == {
        "latitude": 49.1111111, "longitude": 6.1296296, "text": "6.12963 E, 49.11111 N"}


def test_mobile_dc09_encode_writes_a_location(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(["dc09", "encode", "--token", "SIA-DCS", "--sequence", "3", "--account", "1234",
                     "--data", "#1234|NPA", "--timestamp", "none", "--location", "49.1111111,6.12962963"],
                    capsys)
    assert code == 0
    assert "[X006E07.7777778][Y49N06.6666660]" in out


def test_mobile_dc09_decode_names_an_unreadable_location(capsys: pytest.CaptureFixture[str]) -> None:
    bad = (("X", "east"), ("Y", "49N06.6"))
    frame = encode(Message("SIA-DCS", 7, "1234", data="#1234|NPA", extended=bad))
    code, out = run(["dc09", "decode", frame.decode().strip()], capsys)
    assert code == 0  # the frame itself is valid
    assert "not a position" in json.loads(out)["location_error"]
