"""What one frame means: masking, motion, person, and evidence frames, in one worker-thread call.

Pure of I/O so tests feed frames straight in; the service runs it via ``asyncio.to_thread``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from drivers.intercom.evidence import EvidenceConfig, EvidenceRecorder
from drivers.intercom.masking import MaskingConfig, MaskingMonitor
from drivers.intercom.motion import MotionConfig, MotionDetector, small_grey
from drivers.intercom.person import PersonConfig, PersonConfirmation, PersonDetector
from drivers.intercom.source import Frame
from drivers.link import Snapshot
from protocol.mqtt import EventType

__all__ = ["Analyser", "Analysis", "Finding", "IntercomConfig"]


@dataclass(frozen=True)
class IntercomConfig:
    motion: MotionConfig = field(default_factory=MotionConfig)
    person: PersonConfig = field(default_factory=PersonConfig)
    masking: MaskingConfig = field(default_factory=MaskingConfig)
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    motion_gap: float = 30.0  # s of stillness before another ``motion`` event
    detect_interval: float = 0.09  # s between person detections (about 10 per second)


@dataclass(frozen=True)
class Finding:
    type: EventType
    wall: datetime
    score: float | None = None


@dataclass
class Analysis:
    findings: list[Finding] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    motion: bool = False


class Analyser:
    """Holds the per-camera state (running average, hit counters, evidence ring)."""

    def __init__(self, device: str, config: IntercomConfig | None = None) -> None:
        self.config = config or IntercomConfig()
        self.motion = MotionDetector(self.config.motion)
        self.masking = MaskingMonitor(self.config.masking)
        self.people = PersonDetector(self.config.person)
        self.confirm = PersonConfirmation(self.config.person)
        self.evidence = EvidenceRecorder(device, self.config.evidence)
        self._last_motion = float("-inf")
        self._last_detect = float("-inf")
        self.detect_runs = 0

    def process(self, frame: Frame, *, detect: bool = True) -> Analysis:
        out = Analysis()
        grey = small_grey(frame.image, self.config.motion.width)
        if (masking := self.masking.update(grey, frame.ts)) is not None:
            out.findings.append(Finding(masking, frame.wall))
        if not self.masking.masked:
            boxes = self.motion.detect(grey, frame.image.shape[1])
            out.motion = bool(boxes)
            if boxes and frame.ts - self._last_motion >= self.config.motion_gap:
                out.findings.append(Finding(EventType.MOTION, frame.wall))
            if boxes:
                self._last_motion = frame.ts
            if detect:
                self._people(frame, boxes, out)
        out.snapshots = self.evidence.add(frame)
        return out

    def _people(self, frame: Frame, boxes: list[tuple[int, int, int, int]], out: Analysis) -> None:
        if boxes and frame.ts - self._last_detect < self.config.detect_interval:
            return
        detections = []
        if boxes:
            self._last_detect = frame.ts
            self.detect_runs += 1
            detections = self.people.detect(frame.image, boxes)
        if (score := self.confirm.update(detections, frame.ts)) is not None:
            out.findings.append(Finding(EventType.PERSON, frame.wall, score))
