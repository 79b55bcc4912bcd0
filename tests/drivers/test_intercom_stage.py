"""The staged camera (the simulator's hook into the intercom driver) through the real analysis."""

from __future__ import annotations

from typing import Any

from drivers.intercom.analysis import Analyser
from drivers.intercom.source import FrameSource
from drivers.intercom.stage import Stage
from protocol.mqtt import EventType as E


class Watch:
    """A FrameSource on a stage, unpaced, and the analyser behind it."""

    def __init__(self, stage: Stage) -> None:
        self.source = FrameSource("synthetic:street", realtime=False, capture=stage.capture)
        self.analyser = Analyser("intercom-front")
        assert self.source.open()

    def frames(self, n: int) -> list[tuple[float, E]]:
        found = []
        for _ in range(n):
            frame = self.source.read()
            assert frame is not None
            found += [(round(frame.ts, 1), f.type) for f in self.analyser.process(frame).findings]
        return found


def test_the_stage_is_an_empty_street_until_asked() -> None:
    assert Watch(Stage()).frames(250) == []  # synthetic:street would have had a walker by now


def test_a_visitor_is_a_person_within_a_second() -> None:
    stage = Stage()
    watch = Watch(stage)
    watch.frames(20)
    stage.visitor()
    found = watch.frames(100)
    assert [k for _, k in found] == [E.MOTION, E.PERSON]
    assert found[1][0] - 2.0 <= 1.0


def test_passing_by_is_motion_but_no_person() -> None:
    stage = Stage()
    watch = Watch(stage)
    watch.frames(20)
    stage.pass_by()
    assert [k for _, k in watch.frames(40)] == [E.MOTION]


def test_a_covered_lens_is_masking_until_uncovered() -> None:
    stage = Stage()
    watch = Watch(stage)
    watch.frames(20)
    stage.cover()
    assert watch.frames(40) == [(5.0, E.MASKING)]  # 3 s of black frames from 2.0 s
    stage.cover(False)
    assert watch.frames(30) == [(8.0, E.MASKING_RESTORE)]  # 2 s of picture from 6.0 s


def test_an_unplugged_camera_ends_the_stream_and_does_not_open() -> None:
    stage = Stage()
    source = FrameSource("synthetic:street", realtime=False, capture=stage.capture)
    assert source.open() and source.read() is not None
    stage.unplug()
    assert source.read() is None and not source.opened
    assert not source.open()
    stage.unplug(False)
    assert source.open()
    frame = source.read()
    assert frame is not None and frame.ts == 0.1  # the source's clock goes on


class Failing:
    """A capture whose driver raises, as cv2 backends do when a device disappears."""

    def __init__(self, fail_open: bool = False) -> None:
        if fail_open:
            raise OSError("no such device")

    def isOpened(self) -> bool:
        return True

    def get(self, prop: int) -> float:
        return 10.0

    def read(self) -> Any:
        raise RuntimeError("USB device went away")

    def release(self) -> None:
        raise RuntimeError("already gone")


def test_a_camera_that_raises_is_a_lost_camera_not_a_dead_driver() -> None:
    source = FrameSource("usb", capture=lambda spec: Failing())
    assert source.open()
    assert source.read() is None and not source.opened
    assert not FrameSource("usb", capture=lambda spec: Failing(fail_open=True)).open()
