"""AES-CBC with zero IV and the spec's random pad (reference A4, 2013 draft 5.4.4)."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import FrameFormatError
from .keys import Dc09Key

__all__ = ["BLOCK", "check_pad", "decrypt", "encrypt", "pad_length", "random_pad"]

BLOCK = 16
_IV = bytes(BLOCK)
_FORBIDDEN_PAD = frozenset(b"|[]")


def pad_length(rest_length: int) -> int:
    """Pad bytes needed so that pad + rest fills whole blocks: 1..16, never 0."""
    return BLOCK - rest_length % BLOCK


def random_pad(length: int) -> bytes:
    """Pseudo-random pad bytes without `|`, `[` or `]`, fresh per message as the spec asks."""
    out = bytearray()
    while len(out) < length:
        out.extend(b for b in os.urandom(length) if b not in _FORBIDDEN_PAD)
    return bytes(out[:length])


def check_pad(pad: bytes, length: int) -> None:
    """Refuse an injected pad that would break the layout (tests use it for byte-exact output)."""
    if len(pad) != length:
        raise FrameFormatError(f"pad must be {length} bytes for this message, got {len(pad)}")
    if _FORBIDDEN_PAD.intersection(pad):
        raise FrameFormatError("pad must not contain '|', '[' or ']'")


def encrypt(key: Dc09Key, plaintext: bytes) -> bytes:
    """AES-CBC, zero IV, no further padding (the caller already filled whole blocks)."""
    encryptor = Cipher(algorithms.AES(key.raw), modes.CBC(_IV)).encryptor()
    return encryptor.update(plaintext) + encryptor.finalize()


def decrypt(key: Dc09Key, ciphertext: bytes) -> bytes:
    """Inverse of `encrypt`; ciphertext length must be a multiple of 16."""
    decryptor = Cipher(algorithms.AES(key.raw), modes.CBC(_IV)).decryptor()
    return decryptor.update(ciphertext) + decryptor.finalize()
