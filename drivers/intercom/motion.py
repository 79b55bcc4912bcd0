"""Frigate-style motion: small grey frame, blur, running average, difference, contours, zones.

Cheap enough for every frame on a Pi; person detection then runs only inside motion boxes.
Masks and zones are polygons in normalised (0-1) frame coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["Box", "MotionConfig", "MotionDetector", "Polygon", "small_grey"]

Polygon = tuple[tuple[float, float], ...]
Box = tuple[int, int, int, int]  # x, y, w, h in full-frame pixels
Grey = NDArray[Any]  # 8-bit single-channel picture (cv2 stubs type arrays loosely)


@dataclass(frozen=True)
class MotionConfig:
    width: int = 320  # analysis width; height follows the aspect ratio
    blur: int = 5  # gaussian kernel (odd)
    alpha: float = 0.05  # weight of the new frame in the running average
    threshold: int = 25  # grey-level difference that counts as change
    min_area: float = 0.0015  # smallest contour, as a fraction of the frame
    lightning: float = 0.6  # more than this fraction changed at once: a light change, recalibrate
    masks: tuple[Polygon, ...] = ()  # never motion here (a tree, a busy road)
    zones: tuple[Polygon, ...] = field(default=())  # if set, only motion touching a zone counts


def small_grey(image: Grey, width: int) -> Grey:
    """The downscaled grey frame that motion and masking both work on."""
    h, w = image.shape[:2]
    small = cv2.resize(image, (width, max(1, h * width // w)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small


def _polygon_mask(shape: tuple[int, int], polygons: tuple[Polygon, ...]) -> Grey:
    mask = np.zeros(shape, np.uint8)
    for poly in polygons:
        pts = np.array([(x * shape[1], y * shape[0]) for x, y in poly], np.int32)
        cv2.fillPoly(mask, [pts], 255)
    return mask


_KERNEL = np.ones((3, 3), np.uint8)


class MotionDetector:
    """Feed it every frame; it returns the boxes that moved (empty while calibrating)."""

    def __init__(self, config: MotionConfig | None = None) -> None:
        self.config = config or MotionConfig()
        self._avg: NDArray[Any] | None = None
        self._keep: Grey | None = None  # 255 where motion may count
        self._zones: Grey | None = None

    def detect(self, grey: Grey, frame_width: int) -> list[Box]:
        c = self.config
        blurred = cv2.GaussianBlur(grey, (c.blur, c.blur), 0)
        if self._avg is None or self._avg.shape != blurred.shape:
            self._setup(blurred)
            return []
        assert self._avg is not None and self._keep is not None
        delta = cv2.absdiff(blurred, cv2.convertScaleAbs(self._avg))
        cv2.accumulateWeighted(blurred, self._avg, c.alpha)
        _, changed = cv2.threshold(delta, c.threshold, 255, cv2.THRESH_BINARY)
        changed = cv2.bitwise_and(changed, self._keep)
        if cv2.countNonZero(changed) > c.lightning * changed.size:
            self._avg = blurred.astype(np.float32)  # lights, exposure, IR switch: start again
            return []
        changed = cv2.dilate(changed, _KERNEL, iterations=2)
        contours, _ = cv2.findContours(changed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        scale = frame_width / grey.shape[1]
        min_px = c.min_area * changed.size
        boxes: list[Box] = []
        for contour in contours:
            if cv2.contourArea(contour) < min_px:
                continue
            x, y, w, h = cv2.boundingRect(contour)
            if self._zones is not None and not self._zones[y : y + h, x : x + w].any():
                continue
            boxes.append((int(x * scale), int(y * scale), int(w * scale), int(h * scale)))
        return boxes

    def _setup(self, blurred: Grey) -> None:
        c, shape = self.config, blurred.shape[:2]
        self._avg = blurred.astype(np.float32)
        self._keep = cv2.bitwise_not(_polygon_mask(shape, c.masks))
        self._zones = _polygon_mask(shape, c.zones) if c.zones else None
