"""Is there a person? OpenCV's HOG people detector plus the Haar frontal-face cascade.

Runs only inside motion regions. HOG finds whole figures (a visitor on the path); the face
cascade finds the head-and-shoulders view a door camera mostly sees. A ``person`` needs
``inertia`` consecutive analysed frames at or above ``min_score`` (Frigate's idea), so a single
false hit never raises an event.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from drivers.intercom.motion import Box

__all__ = ["Detection", "PersonConfig", "PersonConfirmation", "PersonDetector"]


@dataclass(frozen=True)
class PersonConfig:
    min_score: float = 0.6  # per-frame score that counts as a hit
    inertia: int = 3  # consecutive hits before ``person``
    clear_after: float = 10.0  # s without hits before a new ``person`` may be reported
    hog_hit: float = 0.0  # SVM margin passed to HOG; the score maps it onto 0-1
    face_neighbours: int = 4
    min_face: int = 24  # px


@dataclass(frozen=True)
class Detection:
    box: Box
    score: float  # 0-1, comparable between detectors
    detector: str  # "hog" or "face"


def _region(boxes: list[Box], shape: tuple[int, ...]) -> Box:
    """Union of motion boxes, grown so a whole figure (HOG window 64x128) fits."""
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    w, h = max(x1 - x0, 96) * 1.5, max(y1 - y0, 160) * 1.5
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    ax, ay = max(0, int(cx - w / 2)), max(0, int(cy - h / 2))
    bx, by = min(shape[1], int(cx + w / 2)), min(shape[0], int(cy + h / 2))
    return ax, ay, bx - ax, by - ay


class PersonDetector:
    """Both detectors over the motion region of one frame; returns every hit with a score."""

    def __init__(self, config: PersonConfig | None = None) -> None:
        self.config = config or PersonConfig()
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), np.float32))
        cascade = str(Path(cv2.__file__).parent / "data" / "haarcascade_frontalface_default.xml")
        self._face = cv2.CascadeClassifier(cascade)
        if self._face.empty():
            raise RuntimeError(f"cannot load the face cascade {cascade}")

    def detect(self, image: NDArray[np.uint8], motion: list[Box]) -> list[Detection]:
        if not motion:
            return []
        x, y, w, h = _region(motion, image.shape)
        crop = image[y : y + h, x : x + w]
        if crop.shape[0] < 128 or crop.shape[1] < 64:
            return []
        found: list[Detection] = []
        rects, weights = self._hog.detectMultiScale(
            crop, hitThreshold=self.config.hog_hit, winStride=(8, 8), padding=(8, 8), scale=1.05
        )
        for (rx, ry, rw, rh), weight in zip(rects, np.ravel(weights), strict=True):
            score = 1 / (1 + math.exp(-3 * float(weight)))  # margin 0 -> 0.5, 0.35 -> 0.74
            found.append(Detection((x + rx, y + ry, rw, rh), score, "hog"))
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
        faces, neighbours = self._face.detectMultiScale2(
            grey,
            scaleFactor=1.1,
            minNeighbors=self.config.face_neighbours,
            minSize=(self.config.min_face, self.config.min_face),
        )
        for (fx, fy, fw, fh), n in zip(faces, np.ravel(neighbours), strict=True):
            score = 1 - math.exp(-float(n) / 8)  # more overlapping hits, more certain
            found.append(Detection((x + fx, y + fy, fw, fh), score, "face"))
        return found


class PersonConfirmation:
    """Turns per-frame detections into one ``person`` per visit (inertia, then clear_after)."""

    def __init__(self, config: PersonConfig | None = None) -> None:
        self.config = config or PersonConfig()
        self._hits: list[float] = []
        self._reported = False
        self._last_hit = -math.inf

    def update(self, detections: list[Detection], ts: float) -> float | None:
        """Feed each analysed frame; returns the score when a person is confirmed, else None."""
        best = max((d.score for d in detections), default=0.0)
        if best < self.config.min_score:
            self._hits.clear()
            if ts - self._last_hit >= self.config.clear_after:
                self._reported = False
            return None
        self._last_hit = ts
        self._hits.append(best)
        if self._reported or len(self._hits) < self.config.inertia:
            return None
        self._reported = True
        return round(statistics.median(self._hits[-self.config.inertia :]), 3)
