"""Intercom video analysis on composed video: no broker, frames fed straight in."""

from __future__ import annotations

import itertools
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np

from drivers.intercom.analysis import Analyser, IntercomConfig
from drivers.intercom.evidence import EvidenceRecorder
from drivers.intercom.masking import MaskingConfig
from drivers.intercom.motion import MotionConfig, MotionDetector, small_grey
from drivers.intercom.person import Detection, PersonConfig, PersonConfirmation
from drivers.intercom.source import FrameSource
from drivers.intercom.synthetic import SyntheticCapture, silhouette
from protocol.mqtt import EventType
from tests.drivers.scenes import FPS, as_frames, astronaut, empty_scene, walk_in, write_avi


def run(
    images: list[np.ndarray], config: IntercomConfig | None = None
) -> list[tuple[float, EventType, float | None]]:
    analyser = Analyser("intercom-front", config)
    found = []
    for frame in as_frames(images):
        for f in analyser.process(frame).findings:
            found.append((frame.ts, f.type, f.score))
    return found


def first(found: list[tuple[float, EventType, float | None]], kind: EventType) -> float:
    return next(ts for ts, t, _ in found if t is kind)


def test_empty_scene_gives_no_person_and_no_motion() -> None:
    assert run(empty_scene(4.0)) == []


def test_real_person_walking_in_gives_person_within_a_second() -> None:
    frames, entered = walk_in(astronaut(200))
    found = run(frames)
    kinds = [t for _, t, _ in found]
    assert kinds.count(EventType.PERSON) == 1  # one visit, one event
    assert EventType.MOTION in kinds
    ts = first(found, EventType.PERSON)
    assert 0 <= ts - entered <= 1.0, (ts, entered)
    score = next(s for _, t, s in found if t is EventType.PERSON)
    assert score is not None and 0.6 <= score <= 1


def test_walking_figure_is_found_by_hog() -> None:
    sprite, mask = silhouette(180)
    frames, entered = walk_in(sprite, mask, stop_x=300)
    found = run(frames)
    assert 0 <= first(found, EventType.PERSON) - entered <= 1.0


def test_covered_lens_gives_masking_then_restore() -> None:
    scene = empty_scene(2.0)
    black = [np.zeros_like(scene[0])] * int(5 * FPS)
    found = run(scene + black + empty_scene(4.0), IntercomConfig(masking=MaskingConfig(after=3.0)))
    kinds = [(t, round(ts, 1)) for ts, t, _ in found]
    assert [k for k, _ in kinds] == [EventType.MASKING, EventType.MASKING_RESTORE]
    assert kinds[0][1] == 5.0  # black from 2.0 s, 3 s to qualify
    assert kinds[1][1] == 9.0  # picture back at 7.0 s, 2 s to qualify


def test_motion_in_a_masked_area_is_ignored() -> None:
    sprite, mask = silhouette(180)
    frames, _ = walk_in(sprite, mask)
    left_half = ((0.0, 0.0), (0.6, 0.0), (0.6, 1.0), (0.0, 1.0))
    detector = MotionDetector(MotionConfig(masks=(left_half,)))
    boxes = [detector.detect(small_grey(f, 320), 640) for f in frames]
    assert not any(boxes)
    plain = MotionDetector()
    assert any(plain.detect(small_grey(f, 320), 640) for f in frames)


def test_person_needs_consecutive_hits() -> None:
    confirm = PersonConfirmation(PersonConfig(inertia=3, min_score=0.6, clear_after=5))
    hit, miss = [Detection((0, 0, 10, 10), 0.9, "face")], [Detection((0, 0, 1, 1), 0.3, "hog")]
    assert [confirm.update(d, t) for t, d in enumerate([hit, hit, miss, hit, hit])] == [None] * 5
    assert confirm.update(hit, 5) == 0.9
    assert confirm.update(hit, 6) is None  # same visit
    assert [confirm.update([], t) for t in (7, 12)] == [None, None]
    assert [confirm.update(hit, t) for t in (13, 14, 15)] == [None, None, 0.9]  # a new visit


def test_evidence_burst_has_pre_event_frames_and_is_at_most_a_second_apart() -> None:
    recorder = EvidenceRecorder("intercom-front")
    frames = list(as_frames(empty_scene(4.0)))
    for frame in frames[:15]:
        assert recorder.add(frame) == []
    snaps = recorder.trigger("evt-1", "doorbell")
    for frame in frames[15:]:
        snaps += recorder.add(frame)
    assert len(snaps) == 5
    meta = [dict(s.meta) for s in snaps]
    assert [m["index"] for m in meta] == ["0", "1", "2", "3", "4"]
    assert {m["alarm_id"] for m in meta} == {"evt-1"} and {m["count"] for m in meta} == {"5"}
    times = [datetime.fromisoformat(m["ts"]) for m in meta]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(0 < g <= 1.0 for g in gaps)
    assert times[1] < frames[15].wall <= times[2]  # two frames from before the trigger
    image = cv2.imdecode(np.frombuffer(snaps[0].jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (480, 640, 3)


def test_avi_file_at_its_frame_rate_then_end_of_stream(tmp_path: Path) -> None:
    frames, entered = walk_in(astronaut(200))
    path = write_avi(tmp_path / "visitor.avi", frames)
    source = FrameSource(str(path), realtime=False)
    assert source.open()
    analyser, person_at, n = Analyser("intercom-front"), None, 0
    while (frame := source.read()) is not None:
        n += 1
        for f in analyser.process(frame).findings:
            if f.type is EventType.PERSON:
                person_at = frame.ts
    assert n == len(frames) and not source.opened  # the ended stream closes the source
    assert person_at is not None and 0 <= person_at - entered <= 1.0


def test_missing_device_does_not_open(tmp_path: Path) -> None:
    assert not FrameSource(str(tmp_path / "no-such-camera.avi")).open()


def test_synthetic_street_shows_a_walker() -> None:
    cap = SyntheticCapture("street")
    frames = [cap.read()[1] for _ in range(int(6 * SyntheticCapture.fps))]
    found = run(frames)
    assert EventType.PERSON in [t for _, t, _ in found]
