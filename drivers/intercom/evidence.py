"""Evidence: a ring of recent JPEGs, and bursts of frames around a doorbell, person or request.

A burst is ``count`` JPEGs at most ``interval`` s apart (default 5 at 0.5 s): the ``pre`` newest
frames from before the trigger, then the frames that follow. Each JPEG goes to the device's
``snapshot`` topic as a binary payload (QoS 1). Its metadata travels as MQTT v5 properties:
content type ``image/jpeg`` and user properties ``alarm_id`` (the triggering event's id, or the
agent's ``alarm_id`` for a ``snapshot`` command), ``trigger`` (doorbell | person | command),
``index`` and ``count`` (frame i of n, from 0), ``ts`` (ISO-8601 UTC capture time) and ``device``.
An MQTT 3.1.1 subscriber still gets the JPEG, without the metadata.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime

import cv2

from drivers.intercom.source import Frame
from drivers.link import Snapshot

__all__ = ["Burst", "EvidenceConfig", "EvidenceRecorder"]


@dataclass(frozen=True)
class EvidenceConfig:
    interval: float = 0.5  # s between kept frames (and so between burst frames)
    count: int = 5  # frames per burst
    pre: int = 2  # of which from before the trigger
    quality: int = 80  # JPEG quality


@dataclass
class Burst:
    alarm_id: str
    trigger: str
    sent: int = 0


@dataclass
class _Kept:
    jpeg: bytes
    wall: datetime
    ts: float


@dataclass
class EvidenceRecorder:
    """Thread-safe: the worker thread adds frames, the event loop triggers bursts."""

    device: str
    config: EvidenceConfig = field(default_factory=EvidenceConfig)

    def __post_init__(self) -> None:
        self._ring: deque[_Kept] = deque(maxlen=max(1, self.config.pre))
        self._bursts: list[Burst] = []
        self._last = float("-inf")
        self._lock = threading.Lock()

    def add(self, frame: Frame) -> list[Snapshot]:
        """Keep one frame per interval; returns the burst frames that it completes."""
        if frame.ts - self._last < self.config.interval:
            return []
        self._last = frame.ts
        ok, buf = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self.config.quality])
        if not ok:
            return []
        kept = _Kept(buf.tobytes(), frame.wall, frame.ts)
        with self._lock:
            self._ring.append(kept)
            out = [self._snapshot(b, kept) for b in self._bursts]
            self._bursts = [b for b in self._bursts if b.sent < self.config.count]
        return out

    def trigger(self, alarm_id: str, trigger: str) -> list[Snapshot]:
        """Start a burst; returns the pre-event frames at once, the rest follow from ``add``."""
        burst = Burst(alarm_id, trigger)
        with self._lock:
            ring = list(self._ring)
            before = ring[len(ring) - self.config.pre :] if self.config.pre else []
            out = [self._snapshot(burst, kept) for kept in before]
            if burst.sent < self.config.count:
                self._bursts.append(burst)
        return out

    def _snapshot(self, burst: Burst, kept: _Kept) -> Snapshot:
        meta = (
            ("alarm_id", burst.alarm_id),
            ("trigger", burst.trigger),
            ("index", str(burst.sent)),
            ("count", str(self.config.count)),
            ("ts", kept.wall.isoformat()),
            ("device", self.device),
        )
        burst.sent += 1
        return Snapshot(kept.jpeg, meta)
