"""Listen-in audio: G.711 µ-law at 8 kHz, as the phone sends it, kept as the recording.

Why µ-law: it is the telephone's own codec (speech as a call-back sounds), 64 kbit/s, costs the
phone a table lookup per sample in an AudioWorklet and the receiver nothing (chunks are relayed
and appended as they come), and each 40 ms chunk stands alone, so the delay is the chunk, the
network and the operator's jitter buffer: no codec frames or container to wait for. A recording
is the raw µ-law bytes in a file (an append never corrupts what is there); it is served as a
16-bit PCM WAV that every browser and ffmpeg play.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

__all__ = ["RATE", "Recording", "pcm_wav", "ulaw_decode", "ulaw_encode", "wav_header"]

RATE = 8000  # samples per second, one byte each


def _decode_table() -> np.ndarray:
    codes = ~np.arange(256, dtype=np.int32) & 0xFF
    sign = codes & 0x80
    exponent = (codes >> 4) & 0x07
    mantissa = codes & 0x0F
    magnitude = ((mantissa << 3) + 0x84) << exponent
    return np.where(sign != 0, 0x84 - magnitude, magnitude - 0x84).astype(np.int16)


_DECODE = _decode_table()


def ulaw_decode(data: bytes) -> np.ndarray:
    """µ-law bytes to 16-bit samples."""
    return _DECODE[np.frombuffer(data, dtype=np.uint8)]


def ulaw_encode(samples: np.ndarray) -> bytes:
    """16-bit samples to µ-law bytes (the simulator and the tests speak as a phone does)."""
    x = samples.astype(np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), 32635) + 0x84
    exponent = np.floor(np.log2(magnitude)).astype(np.int32) - 7
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    encoded: bytes = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()
    return encoded


def wav_header(samples: int, rate: int = RATE) -> bytes:
    """A 44-byte RIFF header for mono 16-bit PCM of ``samples`` samples."""
    size = samples * 2
    return (b"RIFF" + struct.pack("<I", 36 + size) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, rate, rate * 2, 2, 16) + b"data" + struct.pack("<I", size))


def pcm_wav(ulaw: bytes) -> bytes:
    """A recording as a playable WAV file."""
    pcm = ulaw_decode(ulaw).astype("<i2").tobytes()
    return wav_header(len(ulaw)) + pcm


class Recording:
    """One stream's µ-law bytes, appended to a new 0600 file as they arrive; ``sync`` makes
    what came so far survive a crash (called every few seconds and at the end)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)  # never another's
        self.path = path
        self._file = os.fdopen(fd, "ab", buffering=0)
        self.bytes = path.stat().st_size

    def append(self, chunk: bytes) -> None:
        self._file.write(chunk)
        self.bytes += len(chunk)

    def sync(self) -> None:
        os.fsync(self._file.fileno())

    def close(self) -> None:
        if not self._file.closed:
            self.sync()
            self._file.close()
