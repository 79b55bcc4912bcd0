"""Key parsing: both peer conventions, clear errors, and no key bytes in reprs or messages."""

from __future__ import annotations

import pytest

from protocol.dc09 import Dc09Key, KeyFormatError


@pytest.mark.parametrize("size", [16, 24, 32])
def test_hex_and_ascii_sizes(size: int) -> None:
    assert Dc09Key.from_hex("AB" * size).raw == b"\xab" * size
    assert Dc09Key.from_ascii("A" * size).raw == b"A" * size
    assert Dc09Key.parse(f"hex:{'ab' * size}").bits == size * 8
    assert Dc09Key.parse(f"ascii:{'Z' * size}") == Dc09Key(b"Z" * size)


def test_32_hex_chars_as_ascii_is_aes256() -> None:
    # pysiaalarm semantics: a 32-character key string is 32 bytes (reference A4)
    text = "0123456789ABCDEF" * 2
    assert Dc09Key.from_ascii(text).bits == 256
    assert Dc09Key.from_hex(text).bits == 128


SECRET = "S3cretS3cretS3cr"


@pytest.mark.parametrize(
    "spec",
    [
        SECRET,  # no scheme
        f"base64:{SECRET}",
        f"ascii:{SECRET}x",  # 17 chars
        "ascii:" + "ä" * 16,
        "hex:" + "G" * 32,
        "hex:" + "A" * 31,
        f"{SECRET}:{SECRET}",
    ],
)
def test_bad_specs_never_echo_the_key(spec: str) -> None:
    with pytest.raises(KeyFormatError) as info:
        Dc09Key.parse(spec)
    assert SECRET not in str(info.value) and "GGGG" not in str(info.value)
    assert isinstance(info.value, ValueError)


def test_repr_hides_key() -> None:
    key = Dc09Key.from_ascii(SECRET)
    assert repr(key) == str(key) == "Dc09Key(<128-bit>)"
    assert SECRET not in repr([key]) and "S3cr" not in f"{key!r}"


def test_raw_length_checked() -> None:
    with pytest.raises(KeyFormatError):
        Dc09Key(b"short")
