"""CRC-16/ARC, the checksum every DC-09 implementation and real panel uses (reference A2).

The receiver computes it twice per frame (check and answer), so it comes from ``fastcrc``
(compiled, ~0.1 µs per frame); the table-driven version below is the reference and the
fallback where that package cannot be installed.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["crc16_arc", "crc16_arc_python"]


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()


def crc16_arc_python(data: bytes) -> int:
    """Return CRC-16/ARC (poly 0xA001 reflected, init 0); check value of b"123456789" is 0xBB3D."""
    crc = 0
    table = _TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def _compiled() -> Callable[[bytes], int] | None:
    try:
        from fastcrc import crc16
    except ImportError:  # pragma: no cover - the dependency is declared; this is the safety net
        return None
    if crc16.arc(b"123456789") != 0xBB3D:  # pragma: no cover - never trust a checksum blindly
        return None
    return crc16.arc


crc16_arc: Callable[[bytes], int] = _compiled() or crc16_arc_python
"""CRC-16/ARC of ``data`` (see ``crc16_arc_python``), compiled when available."""
