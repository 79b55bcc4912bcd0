"""AES-CBC with zero IV and the spec's random pad (reference A4, 2013 draft 5.4.4)."""

from __future__ import annotations

import os
import threading

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import FrameFormatError
from .keys import Dc09Key

__all__ = ["BLOCK", "check_pad", "decrypt", "encrypt", "pad_length", "random_pad"]

BLOCK = 16
_IV = bytes(BLOCK)
_FORBIDDEN_PAD = frozenset(b"|[]")
_FORBIDDEN_BYTES = b"|[]"


def pad_length(rest_length: int) -> int:
    """Pad bytes needed so that pad + rest fills whole blocks: 1..16, never 0."""
    return BLOCK - rest_length % BLOCK


class _PadSource:
    """os.urandom bytes without `|`, `[` and `]`, drawn 4 KiB at a time: every pad is fresh
    CSPRNG output, used once, at the cost of one system call per ~250 messages."""

    def __init__(self) -> None:
        self.forget()

    def forget(self) -> None:
        """Drop the bytes drawn so far (in a forked child, which must not reuse them)."""
        self._lock = threading.Lock()
        self._pool = b""
        self._pos = 0

    def take(self, length: int) -> bytes:
        with self._lock:
            if self._pos + length > len(self._pool):
                self._pool = os.urandom(_POOL_SIZE).translate(None, _FORBIDDEN_BYTES)
                self._pos = 0
            start = self._pos
            self._pos = start + length
            return self._pool[start : start + length]


_POOL_SIZE = 4096  # leaves far more than the 16 bytes a pad needs after the forbidden ones go
_PADS = _PadSource()
if hasattr(os, "register_at_fork"):  # a forked child must not repeat its parent's pad bytes
    os.register_at_fork(after_in_child=_PADS.forget)


def random_pad(length: int) -> bytes:
    """Pseudo-random pad bytes without `|`, `[` or `]`, fresh per message as the spec asks."""
    if length > _POOL_SIZE // 2:  # not a pad size (1..16); kept correct for any length
        out = b""
        while len(out) < length:
            out += os.urandom(length).translate(None, _FORBIDDEN_BYTES)
        return out[:length]
    return _PADS.take(length)


def check_pad(pad: bytes, length: int) -> None:
    """Refuse an injected pad that would break the layout (tests use it for byte-exact output)."""
    if len(pad) != length:
        raise FrameFormatError(f"pad must be {length} bytes for this message, got {len(pad)}")
    if _FORBIDDEN_PAD.intersection(pad):
        raise FrameFormatError("pad must not contain '|', '[' or ']'")


class _Aes:
    """AES-CBC with a zero IV on reusable ECB contexts of one key (this thread's own).

    Creating a CBC context per message cost more than the AES itself; ECB contexts keep no
    state between whole blocks, so CBC is done here: decryption in one call and one XOR,
    encryption a block at a time (a DC-09 message is 2-4 blocks).
    """

    def __init__(self, raw: bytes) -> None:
        cipher = Cipher(algorithms.AES(raw), modes.ECB())  # noqa: S305 - the chaining is ours, below
        self._encrypt = cipher.encryptor()
        self._decrypt = cipher.decryptor()

    def encrypt(self, plaintext: bytes) -> bytes:
        out, previous = [], 0
        for start in range(0, len(plaintext), BLOCK):
            block = int.from_bytes(plaintext[start : start + BLOCK], "big") ^ previous
            sealed = self._encrypt.update(block.to_bytes(BLOCK, "big"))
            out.append(sealed)
            previous = int.from_bytes(sealed, "big")
        return b"".join(out)

    def decrypt(self, ciphertext: bytes) -> bytes:
        opened = self._decrypt.update(ciphertext)
        chained = int.from_bytes(opened, "big") ^ int.from_bytes(_IV + ciphertext[:-BLOCK], "big")
        return chained.to_bytes(len(ciphertext), "big")


class _Contexts(threading.local):
    def __init__(self) -> None:
        self.by_key: dict[bytes, _Aes] = {}


_CONTEXTS = _Contexts()


def _aes(raw: bytes) -> _Aes:
    contexts = _CONTEXTS.by_key
    aes = contexts.get(raw)
    if aes is None:
        if len(contexts) >= 4096:  # a receiver has one key per account; bound it all the same
            contexts.clear()
        aes = contexts[raw] = _Aes(raw)
    return aes


def encrypt(key: Dc09Key, plaintext: bytes) -> bytes:
    """AES-CBC, zero IV, no further padding (the caller already filled whole blocks)."""
    if len(plaintext) % BLOCK:
        raise ValueError("plaintext must be whole AES blocks")
    return _aes(key.raw).encrypt(plaintext)


def decrypt(key: Dc09Key, ciphertext: bytes) -> bytes:
    """Inverse of `encrypt`; ciphertext length must be a multiple of 16."""
    if len(ciphertext) % BLOCK:
        raise ValueError("ciphertext must be whole AES blocks")
    if not ciphertext:
        return b""
    return _aes(key.raw).decrypt(ciphertext)
