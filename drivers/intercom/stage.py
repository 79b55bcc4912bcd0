"""A camera that the simulator and tests direct: a visitor walks in, the lens is covered, the cable
is pulled.

``Stage.capture`` is an ``IntercomSettings.capture_factory``: the real intercom driver reads the
stage like a ``cv2.VideoCapture``, so every action runs the real motion, person, masking and
camera-lost code. Actions may come from any thread and show from the next frame on; the street
is empty in between (unlike ``synthetic:street``, nobody walks by unasked).
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from drivers.intercom.synthetic import Image, composite, silhouette, street

__all__ = ["Stage", "StageCapture"]

WALK_S = 0.8  # a visitor walks to the door in this time ...
STAY_S = 6.0  # ... waits there ...
LEAVE_S = 0.8  # ... and walks back out
PASS_S = 1.5  # something that is not a person (a cat, a bag in the wind) crosses the pavement


class Stage:
    """One staged camera: a noisy empty street plus whatever the simulator asks for."""

    fps = 10.0

    def __init__(self, width: int = 640, height: int = 480, figure: int = 180, stop_x: int = 300) -> None:
        self.background = street(width, height)
        rng = np.random.default_rng(1)
        self.noise = [rng.integers(-3, 4, self.background.shape, dtype=np.int16) for _ in range(8)]
        self.sprite, self.mask = silhouette(figure)
        self.stop_x = stop_x
        self.covered = False
        self.unplugged = False
        self._lock = threading.Lock()
        self._frame = 0  # frames shown so far, across re-opens: the stage's clock
        self._visitor: int | None = None  # frame at which the current visitor appeared
        self._passer: int | None = None

    # ---- what the simulator does -------------------------------------------------------

    def visitor(self) -> None:
        """A person walks in from the left, waits at the door, and leaves."""
        with self._lock:
            self._visitor = self._frame

    def pass_by(self) -> None:
        """Motion that is not a person: a small dark shape crosses the pavement."""
        with self._lock:
            self._passer = self._frame

    def cover(self, covered: bool = True) -> None:
        """Tape or paint over the lens: black frames until uncovered."""
        self.covered = covered

    def unplug(self, unplugged: bool = True) -> None:
        """Pull the cable: the stream ends and the camera does not open until plugged in again."""
        self.unplugged = unplugged

    def capture(self, spec: str) -> StageCapture:
        """The ``capture_factory``: a fresh capture on every (re-)open, all showing this stage."""
        return StageCapture(self)

    # ---- what the camera shows ---------------------------------------------------------

    def read(self) -> tuple[bool, Image | None]:
        with self._lock:
            if self.unplugged:
                return False, None
            i, self._frame = self._frame, self._frame + 1
            visitor, passer = self._visitor, self._passer
        if self.covered:
            return True, np.zeros_like(self.background)
        noisy = self.background.astype(np.int16) + self.noise[i % len(self.noise)]
        frame = np.clip(noisy, 0, 255).astype(np.uint8)
        if visitor is not None:
            frame = self._visitor_at(frame, (i - visitor) / self.fps)
        if passer is not None:
            frame = self._passer_at(frame, (i - passer) / self.fps)
        return True, frame

    def _visitor_at(self, frame: Image, t: float) -> Image:
        w, h = self.sprite.shape[1], self.sprite.shape[0]
        if t < WALK_S:
            x = int(-w + t / WALK_S * (self.stop_x + w))
        elif t < WALK_S + STAY_S:
            x = self.stop_x
        elif t < WALK_S + STAY_S + LEAVE_S:
            x = int(self.stop_x - (t - WALK_S - STAY_S) / LEAVE_S * (self.stop_x + w))
        else:
            return frame
        return composite(frame, self.sprite, self.mask, x, int(frame.shape[0] * 0.95) - h)

    def _passer_at(self, frame: Image, t: float) -> Image:
        if t >= PASS_S:
            return frame
        width, height = frame.shape[1], frame.shape[0]
        x = int(-60 + t / PASS_S * (width + 120))
        out = frame.copy()
        cv2.ellipse(out, (x, int(height * 0.9)), (40, 18), 0, 0, 360, (40, 40, 40), -1)
        return out


class StageCapture:
    """Duck-types the part of ``cv2.VideoCapture`` that ``FrameSource`` uses."""

    def __init__(self, stage: Stage) -> None:
        self.stage = stage

    def isOpened(self) -> bool:  # cv2 naming
        return not self.stage.unplugged

    def get(self, prop: int) -> float:
        return self.stage.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self) -> tuple[bool, Image | None]:
        return self.stage.read()

    def release(self) -> None:
        pass
