"""AES keys for DC-09; peers disagree on hex vs ASCII keys (reference A4), so both are explicit."""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from .errors import KeyFormatError

__all__ = ["Dc09Key"]

_SIZES = (16, 24, 32)


@dataclass(frozen=True, repr=False)
class Dc09Key:
    """Raw AES-128/192/256 key bytes; repr shows only the size so keys never reach a log."""

    raw: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.raw) not in _SIZES:
            raise KeyFormatError(f"AES key must be 16, 24 or 32 bytes, got {len(self.raw)}")

    @property
    def bits(self) -> int:
        """Key size in bits (128, 192 or 256)."""
        return len(self.raw) * 8

    @classmethod
    def from_hex(cls, text: str) -> Dc09Key:
        """Key written as 32/48/64 hex digits (Swissdotnet, Lupus, ioBroker "hex" option)."""
        text = text.strip()
        if len(text) not in (32, 48, 64):
            raise KeyFormatError(f"hex key must have 32, 48 or 64 hex digits, got {len(text)}")
        if any(c not in string.hexdigits for c in text):
            raise KeyFormatError("hex key contains characters that are not hex digits")
        return cls(bytes.fromhex(text))

    @classmethod
    def from_ascii(cls, text: str) -> Dc09Key:
        """Key given as 16/24/32 characters whose bytes are the key (pysiaalarm, Ajax, HA)."""
        if not text.isascii() or not text.isprintable():
            raise KeyFormatError("ASCII key must contain printable ASCII characters only")
        if len(text) not in _SIZES:
            raise KeyFormatError(f"ASCII key must have 16, 24 or 32 characters, got {len(text)}")
        return cls(text.encode("ascii"))

    @classmethod
    def parse(cls, spec: str) -> Dc09Key:
        """Parse "hex:<digits>" or "ascii:<text>", the form used in configuration files."""
        scheme, sep, value = spec.partition(":")
        if not sep:
            raise KeyFormatError('key spec must start with "hex:" or "ascii:"')
        match scheme.strip().lower():
            case "hex":
                return cls.from_hex(value)
            case "ascii":
                return cls.from_ascii(value)
        raise KeyFormatError('key spec must start with "hex:" or "ascii:"')

    def __repr__(self) -> str:
        return f"Dc09Key(<{self.bits}-bit>)"
