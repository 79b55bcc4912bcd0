"""What decode checks in a decrypted block (AES-CBC has no integrity of its own, reference A4):
a pad of at most one block without brackets, data that reads strictly for its token, and the
data's account equal to the header's. Anything else is the wrong key or an altered frame."""

from __future__ import annotations

import pytest

from protocol.dc09 import Dc09Key, DecryptError, decode
from protocol.dc09.cipher import encrypt
from protocol.dc09.frame import wrap

KEY = Dc09Key.from_ascii("AAAAAAAAAAAAAAAA")
TS = "_16:04:02,07-09-2020"


def _frame(plaintext: bytes, token: str = "SIA-DCS", account: str = "1111") -> bytes:
    assert len(plaintext) % 16 == 0, len(plaintext)
    header = f'"*{token}"7654L0#{account}['.encode()
    return wrap(header + encrypt(KEY, plaintext).hex().upper().encode())


def _padded(rest: str, pad_byte: bytes = b"0", extra: int = 0) -> bytes:
    body = ("|" + rest).encode()
    return pad_byte * ((16 - len(body) % 16) + extra) + body


@pytest.mark.parametrize("rest", [
    f"Nri1/WA000]{TS}",  # pysiaalarm: a pad of '0's, no account in the data
    f"#1111|Nri1/WA000]{TS}",
    f"#001111|Nri1/WA000]{TS}",  # the same account with leading zeros
    f"#1111|1130 01 003]{TS}",
])
def test_well_formed_blocks_decode(rest: str) -> None:
    token = "ADM-CID" if "1130" in rest else "SIA-DCS"
    msg = decode(_frame(_padded(rest), token), lambda _a: [KEY])
    assert msg.data == rest.split("]")[0]


def test_a_null_without_pad_separator_still_decodes() -> None:  # quirk Q8 (pysiaalarm's *NULL)
    msg = decode(_frame(b"p" * 11 + f"]{TS}".encode(), "NULL", "AAAB"), lambda _a: [KEY])
    assert msg.token == "NULL" and "no_pad_separator" in msg.quirks


@pytest.mark.parametrize(("why", "plaintext", "token"), [
    ("data names another account", _padded(f"#2222|Nri1/WA000]{TS}"), "SIA-DCS"),
    ("pad longer than a block", _padded(f"Nri1/WA000]{TS}", extra=16), "SIA-DCS"),
    ("bracket in the pad", _padded(f"Nri1/WA000]{TS}", pad_byte=b"["), "SIA-DCS"),
    ("not SIA data", _padded(f"#1111|xx\x80garbage]{TS}"), "SIA-DCS"),
    ("not Contact ID data", _padded(f"#1111|Nri1/WA000]{TS}"), "ADM-CID"),
    ("x-data id not a letter", _padded(f"#1111|Nri1/WA000][1abc]{TS}"), "SIA-DCS"),
])
def test_blocks_that_break_the_rules_are_refused_as_undecryptable(
    why: str, plaintext: bytes, token: str
) -> None:
    with pytest.raises(DecryptError):
        decode(_frame(plaintext, token), lambda _a: [KEY])
