"""CRC-16/ARC, the checksum every DC-09 implementation and real panel uses (reference A2)."""

from __future__ import annotations

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


def crc16_arc(data: bytes) -> int:
    """Return CRC-16/ARC (poly 0xA001 reflected, init 0); check value of b"123456789" is 0xBB3D."""
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc
