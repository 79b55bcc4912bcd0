"""A generated street scene for the simulator, the demo and tests: no camera, no downloads.

``synthetic:street`` shows a figure walking past the door every 20 s; ``synthetic:empty`` is the
same street with sensor noise only. ``composite`` pastes any image (e.g. a real photograph of a
person) into a frame, so tests can walk real people through the scene.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = ["SCENES", "SyntheticCapture", "composite", "silhouette", "street"]

Image = NDArray[np.uint8]
SCENES = ("street", "empty")


def street(width: int = 640, height: int = 480, seed: int = 7) -> Image:
    """A house front seen from the door: sky, brick wall, a window, a door and the pavement."""
    rng = np.random.default_rng(seed)
    img = np.zeros((height, width, 3), np.uint8)
    sky = int(height * 0.25)
    ramp = np.linspace(235, 190, sky, dtype=np.float32)[:, None]
    img[:sky] = np.stack([ramp, ramp * 0.85, ramp * 0.6], axis=-1).astype(np.uint8)  # BGR
    img[sky : int(height * 0.8)] = (60, 75, 140)  # brick
    for y in range(sky, int(height * 0.8), 12):  # mortar lines
        cv2.line(img, (0, y), (width, y), (150, 150, 150), 1)
    cv2.rectangle(
        img, (int(width * 0.08), int(height * 0.32)), (int(width * 0.3), int(height * 0.6)), (90, 60, 40), -1
    )  # window
    cv2.rectangle(
        img, (int(width * 0.72), int(height * 0.3)), (int(width * 0.9), int(height * 0.8)), (30, 50, 90), -1
    )  # door
    img[int(height * 0.8) :] = (128, 128, 128)  # pavement
    texture = rng.normal(0, 4, img.shape)
    return np.clip(img + texture, 0, 255).astype(np.uint8)


def silhouette(height: int) -> tuple[Image, NDArray[np.bool_]]:
    """A dark-clothed figure (head, torso, arms, legs) that the HOG people detector accepts."""
    w = height // 2
    mask = np.zeros((height, w), np.uint8)
    cx, head, limb = w // 2, height // 8, max(3, height // 25)
    cv2.ellipse(mask, (cx, head // 2 + 2), (head // 2 - 2, head // 2), 0, 0, 360, 255, -1)
    cv2.rectangle(mask, (cx - w // 4, head), (cx + w // 4, int(height * 0.55)), 255, -1)
    cv2.line(mask, (cx - w // 4, head + 4), (cx - w // 3 - 4, int(height * 0.5)), 255, limb)
    cv2.line(mask, (cx + w // 4, head + 4), (cx + w // 3 + 4, int(height * 0.5)), 255, limb)
    cv2.line(mask, (cx - w // 8, int(height * 0.55)), (cx - w // 6, height - 2), 255, limb + 2)
    cv2.line(mask, (cx + w // 8, int(height * 0.55)), (cx + w // 6, height - 2), 255, limb + 2)
    img = np.zeros((height, w, 3), np.uint8)
    img[:] = (60, 40, 40)
    return img, mask > 0


def composite(frame: Image, sprite: Image, mask: NDArray[np.bool_] | None, x: int, y: int) -> Image:
    """Paste ``sprite`` with its top-left corner at (x, y); parts outside the frame are cut off."""
    out = frame.copy()
    h, w = sprite.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, frame.shape[1]), min(y + h, frame.shape[0])
    if x0 >= x1 or y0 >= y1:
        return out
    part = sprite[y0 - y : y1 - y, x0 - x : x1 - x]
    if mask is None:
        out[y0:y1, x0:x1] = part
    else:
        region = out[y0:y1, x0:x1]
        region[mask[y0 - y : y1 - y, x0 - x : x1 - x]] = part[mask[y0 - y : y1 - y, x0 - x : x1 - x]]
    return out


class SyntheticCapture:
    """Duck-types the part of ``cv2.VideoCapture`` the source uses: read, get(FPS), release."""

    fps = 10.0
    period = 20.0  # s between two walkers in the street scene

    def __init__(self, name: str, width: int = 640, height: int = 480) -> None:
        if name not in SCENES:
            raise ValueError(f"unknown synthetic scene {name!r}; choose from {', '.join(SCENES)}")
        self.name = name
        self.background = street(width, height)
        rng = np.random.default_rng(1)
        self.noise = [rng.integers(-3, 4, self.background.shape, dtype=np.int16) for _ in range(8)]
        self.sprite, self.mask = silhouette(int(height * 0.4))
        self.index = 0

    def isOpened(self) -> bool:  # cv2 naming
        return True

    def get(self, prop: int) -> float:
        return self.fps if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self) -> tuple[bool, Image]:
        t = self.index / self.fps
        noisy = self.background.astype(np.int16) + self.noise[self.index % len(self.noise)]
        frame = np.clip(noisy, 0, 255).astype(np.uint8)
        self.index += 1
        phase = t % self.period
        if self.name == "street" and phase < 8.0:
            width = frame.shape[1]
            x = int(-self.sprite.shape[1] + phase / 8.0 * (width + self.sprite.shape[1]))
            y = int(frame.shape[0] * 0.95) - self.sprite.shape[0]
            frame = composite(frame, self.sprite, self.mask, x, y)
        return True, frame

    def release(self) -> None:
        self.index = 0
