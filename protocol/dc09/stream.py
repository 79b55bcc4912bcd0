"""Cut a TCP byte stream into frames: one read may hold half a frame or several (Q5, Q10)."""

from __future__ import annotations

from .errors import Dc09Error, FrameFormatError

__all__ = ["MAX_FRAME", "FrameSplitter"]

LF, CR = 0x0A, 0x0D
#: Longest LF..CR span kept: 4+4 field bytes, 0xFFF body, room for trailing garbage.
MAX_FRAME = 8192
_HEX_LAYOUT, _BINARY_LAYOUT = 9, 7  # index of the opening quote, counting LF as 0


class FrameSplitter:
    """Buffers stream bytes and yields the bytes between LF and CR of each frame.

    Output frames exclude LF and CR and are not checked further (pass them to `decode`).
    Bytes outside LF..CR are skipped and counted in `skipped`; a frame that is cut off by
    the next LF, or grows beyond ``max_frame``, is reported as a FrameFormatError.
    """

    def __init__(self, max_frame: int = MAX_FRAME) -> None:
        self._buf = bytearray()
        self.skipped = 0
        self.max_frame = max_frame
        self._errors = 0

    @property
    def buffered(self) -> int:
        """Bytes held for a frame not complete yet."""
        return len(self._buf)

    def feed(self, data: bytes, max_errors: int = -1) -> list[bytes | Dc09Error]:
        """Add received bytes; return every frame (or broken-frame error) now complete.

        With ``max_errors`` >= 0 splitting stops after that many errors and the rest stays
        buffered: a receiver that closes a flooding peer need not split its whole flood first.
        """
        self._buf += data
        out: list[bytes | Dc09Error] = []
        self._errors = 0
        while self._next(out) and self._errors != max_errors:
            pass
        return out

    def _error(self, out: list[bytes | Dc09Error], why: str) -> None:
        out.append(FrameFormatError(why))
        self._errors += 1

    def _drop(self, count: int) -> None:
        del self._buf[:count]

    def _body_start(self) -> int | None:
        """Where CR/LF can no longer be CRC bytes: after a binary CRC (Q1), else at 1."""
        buf = self._buf
        if len(buf) > _HEX_LAYOUT and buf[_HEX_LAYOUT] == ord('"'):
            return 1
        if len(buf) > _BINARY_LAYOUT and buf[_BINARY_LAYOUT] == ord('"') and buf[3] == ord("0"):
            return 3
        if len(buf) > _HEX_LAYOUT:
            return 1  # not a valid header either way; decode will say so
        if any(b in (CR, LF) for b in buf[1:3]):
            return None  # could be binary CRC bytes: wait for the header
        return 1

    def _next(self, out: list[bytes | Dc09Error]) -> bool:
        """Consume one frame or one piece of garbage; False when more input is needed."""
        buf = self._buf
        start = buf.find(LF)
        if start < 0:
            self.skipped += len(buf)
            buf.clear()
            return False
        if start:
            self.skipped += start
            self._drop(start)
        body_start = self._body_start()
        if body_start is None:
            return False
        end = buf.find(CR, body_start, self.max_frame + 2)
        next_lf = buf.find(LF, body_start, end if end >= 0 else len(buf))
        if next_lf >= 0:
            self._error(out, "frame without CR before the next LF")
            self._drop(next_lf)
            return True
        if end < 0:
            if len(buf) > self.max_frame:
                self._error(out, f"frame longer than {self.max_frame} bytes")
                self.skipped += len(buf)
                buf.clear()
            return False
        if end == 1:
            self._error(out, "empty frame")
        else:
            out.append(bytes(buf[1:end]))
        self._drop(end + 1)
        return True
