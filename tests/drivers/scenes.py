"""Video for the intercom tests: the synthetic street with a real photograph of a person in it.

``skimage.data.astronaut()`` is a real head-and-shoulders photograph shipped inside scikit-image
(no download at test time) -- the view a door camera has of a visitor.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from skimage import data

from drivers.intercom.source import Frame
from drivers.intercom.synthetic import composite, silhouette, street

FPS = 10.0
T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def astronaut(size: int = 200) -> Any:
    return cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (size, size))


def noisy(background: Any, i: int) -> Any:
    rng = np.random.default_rng(i)
    return np.clip(background.astype(np.int16) + rng.integers(-3, 4, background.shape), 0, 255).astype(
        np.uint8
    )


def walk_in(
    sprite: Any,
    mask: Any = None,
    *,
    empty_s: float = 1.0,
    walk_s: float = 1.0,
    stay_s: float = 2.0,
    stop_x: int = 220,
) -> tuple[list[Any], float]:
    """Frames of a person entering from the left and stopping at the door; also the time (s)
    of the first frame in which the person is (partly) in view."""
    bg = street()
    h, w = sprite.shape[:2]
    y = int(bg.shape[0] * 0.95) - h
    frames, entered = [], None
    n = int((empty_s + walk_s + stay_s) * FPS)
    for i in range(n):
        t = i / FPS
        img = noisy(bg, i)
        if t >= empty_s:
            x = int(-w + min(1.0, (t - empty_s) / walk_s) * (stop_x + w))
            img = composite(img, sprite, mask, x, y)
            if entered is None and x > -w:
                entered = t
        frames.append(img)
    assert entered is not None
    return frames, entered


def empty_scene(seconds: float = 4.0) -> list[Any]:
    bg = street()
    return [noisy(bg, i) for i in range(int(seconds * FPS))]


def as_frames(images: list[Any]) -> Iterator[Frame]:
    for i, img in enumerate(images):
        yield Frame(img, i / FPS, T0 + timedelta(seconds=i / FPS))


def write_avi(path: Path, images: list[Any]) -> Path:
    h, w = images[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, (w, h))
    assert writer.isOpened()
    for img in images:
        writer.write(img)
    writer.release()
    return path


__all__ = ["FPS", "T0", "as_frames", "astronaut", "empty_scene", "silhouette", "walk_in", "write_avi"]
