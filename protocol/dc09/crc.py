"""CRC-16/ARC, the checksum every DC-09 implementation and real panel uses (reference A2)."""

from __future__ import annotations

import sys

__all__ = ["crc16_arc"]


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def _make_word_table() -> tuple[int, ...]:
    """The register after two bytes: index = register ^ (the two bytes as a native 16-bit word).

    A 16-bit register is shifted out completely by two bytes, so the new register depends only
    on ``crc ^ word`` (low byte first); this halves the Python-level loop of the byte table.
    """
    t = _TABLE
    table = [(t[lo] >> 8) ^ t[(hi ^ t[lo]) & 0xFF] for hi in range(256) for lo in range(256)]
    if sys.byteorder == "big":  # memoryview.cast("H") reads the second byte as the low one
        table = [table[((w & 0xFF) << 8) | (w >> 8)] for w in range(0x10000)]
    return tuple(table)


_WORDS = _make_word_table()


def crc16_arc(data: bytes) -> int:
    """Return CRC-16/ARC (poly 0xA001 reflected, init 0); check value of b"123456789" is 0xBB3D."""
    crc = 0
    words = _WORDS
    n = len(data)
    view = memoryview(data)
    if n & 1:
        view = view[: n - 1]
    for word in view.cast("H"):
        crc = words[crc ^ word]
    if n & 1:
        crc = (crc >> 8) ^ _TABLE[(crc ^ data[-1]) & 0xFF]
    return crc
