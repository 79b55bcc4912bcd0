"""Frames from any ``cv2.VideoCapture`` spec (URL, file, USB index) or a ``synthetic:`` scene.

Blocking by nature, so it runs in the worker thread. Open and read timeouts are bounded (the
FFmpeg backend otherwise waits 30 s), so a dead camera is noticed well inside 10 s. A capture
that raises counts as a lost camera, never as a dead driver. ``capture`` replaces the camera
itself (the simulator's staged camera): it is called with the spec on every (re-)open.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from drivers.intercom.synthetic import SyntheticCapture

__all__ = ["CaptureFactory", "Frame", "FrameSource"]

log = logging.getLogger(__name__)

# (spec) -> an object with cv2.VideoCapture's isOpened, get, read and release
CaptureFactory = Callable[[str], Any]


@dataclass(frozen=True)
class Frame:
    """One picture; ``ts`` is seconds on the source's clock (frame count / fps for files and
    synthetic scenes, continuing across re-opens; monotonic for live cameras)."""

    image: NDArray[np.uint8]
    ts: float
    wall: datetime


class FrameSource:
    """Opens, reads and re-opens one source; ``read`` returns None when the stream has ended."""

    def __init__(
        self, spec: str, *, realtime: bool = True, timeout: float = 4.0, capture: CaptureFactory | None = None
    ) -> None:
        self.spec = spec
        self.capture = capture
        self.is_file = capture is None and Path(spec).is_file()
        self.synthetic = capture is not None or spec.startswith("synthetic:")  # paced by its fps
        self.realtime = realtime  # pace files and synthetic scenes like a live camera
        self.timeout = timeout
        self._cap: Any = None
        self._fps = 0.0
        self._index = 0
        self._start = 0.0
        self._epoch = time.monotonic()
        self._wall = datetime.now(UTC)  # wall time of ts 0
        self._base = 0.0  # file/synthetic: ts of the first frame after (re)opening
        self._next = 0.0

    @property
    def opened(self) -> bool:
        return self._cap is not None

    def open(self) -> bool:
        """Try once; False when the device or URL is not there (the caller backs off)."""
        self.close()
        try:
            cap = self._capture()
        except Exception as exc:  # noqa: BLE001 - OpenCV backends raise anything; any camera failure is "not there", retried later
            log.warning("video source did not open: %r", exc)
            return False
        if not cap.isOpened():
            cap.release()
            return False
        self._cap, self._index = cap, 0
        self._fps = float(cap.get(cv2.CAP_PROP_FPS)) or 0.0
        self._start, self._base = time.monotonic(), self._next
        return True

    def _capture(self) -> Any:
        if self.capture is not None:
            return self.capture(self.spec)
        if self.synthetic:
            return SyntheticCapture(self.spec.split(":", 1)[1])
        target: int | str = int(self.spec) if self.spec.isdigit() else self.spec
        ms = int(self.timeout * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        return cv2.VideoCapture(target, cv2.CAP_ANY, params)

    def read(self) -> Frame | None:
        if self._cap is None:
            return None
        try:
            ok, image = self._cap.read()
        except Exception as exc:  # noqa: BLE001 - OpenCV backends raise anything; a camera that fails is a lost camera
            log.warning("video source failed: %r", exc)
            ok, image = False, None
        if not ok or image is None:
            self.close()
            return None
        ts = self._clock()
        self._index += 1
        self._next = ts + (1 / self._fps if self._fps > 0 else 0.0)
        return Frame(image, ts, self._wall + timedelta(seconds=ts))

    def _clock(self) -> float:
        if not (self.is_file or self.synthetic) or self._fps <= 0:
            return time.monotonic() - self._epoch
        offset = self._index / self._fps
        if self.realtime:
            ahead = self._start + offset - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        return self._base + offset

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            try:
                cap.release()
            except Exception as exc:  # noqa: BLE001 - OpenCV backends raise anything; it is gone either way
                log.warning("video source did not close cleanly: %r", exc)
