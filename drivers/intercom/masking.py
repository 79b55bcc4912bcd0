"""Covered or blinded lens: the picture stays uniform or dark for ``after`` seconds.

Sprayed, taped or covered cameras show a flat frame; a restore needs ``restore_after`` seconds
of normal picture so a flickering cover does not toggle events.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from protocol.mqtt import EventType

__all__ = ["MaskingConfig", "MaskingMonitor"]


@dataclass(frozen=True)
class MaskingConfig:
    after: float = 3.0  # s of flat picture before ``masking``
    restore_after: float = 2.0  # s of normal picture before ``masking_restore``
    dark: float = 12.0  # mean grey level below which the picture counts as dark
    uniform: float = 5.0  # grey-level standard deviation below which it counts as uniform


class MaskingMonitor:
    """Feed the small grey frame; returns MASKING / MASKING_RESTORE on a qualified change."""

    def __init__(self, config: MaskingConfig | None = None) -> None:
        self.config = config or MaskingConfig()
        self.masked = False
        self._since: float | None = None  # when the picture started to disagree with ``masked``

    @staticmethod
    def flat(grey: NDArray[np.uint8], config: MaskingConfig) -> bool:
        mean, std = cv2.meanStdDev(grey)
        return float(mean[0][0]) < config.dark or float(std[0][0]) < config.uniform

    def update(self, grey: NDArray[np.uint8], ts: float) -> EventType | None:
        if self.flat(grey, self.config) == self.masked:
            self._since = None
            return None
        if self._since is None:
            self._since = ts
        wait = self.config.restore_after if self.masked else self.config.after
        if ts - self._since < wait:
            return None
        self.masked, self._since = not self.masked, None
        return EventType.MASKING if self.masked else EventType.MASKING_RESTORE
