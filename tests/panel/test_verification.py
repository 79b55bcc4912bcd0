"""Verification: sequential (DD 243) and video confirmation, abort/cancel, swinger limit."""

from __future__ import annotations

import pytest

from agent.panel import next_deadline
from protocol.mqtt import EventType
from tests.panel.harness import (
    PARTNER,
    Panel,
    changed_device,
    example_site,
    kinds,
    reports,
    tuned,
)


@pytest.mark.parametrize(
    ("second", "after_s", "expected"),
    [
        ("window-study", 600, "burglary_verified"),  # different detector within the window
        ("window-living", 600, "burglary_perimeter"),  # same detector again: not a confirmation
        ("window-study", 1800, "burglary_perimeter"),  # window over: a new unconfirmed alarm
        ("door-front", 60, "burglary_verified"),  # entry door while triggered: instant, confirms
    ],
)
def test_sequential_confirmation(second: str, after_s: int, expected: str) -> None:
    panel = Panel().armed()
    assert kinds(panel.open("window-living")) == ["burglary_perimeter"]
    panel.close("window-living", after=1)
    actions = panel.open(second, after=after_s - 1)
    assert kinds(actions)[:1] == [expected]
    assert reports(actions)[0].number == panel.site.device(second).zone  # type: ignore[union-attr]


def test_confirmation_is_sent_once_per_window() -> None:
    panel = Panel().armed()
    panel.open("window-living")
    assert kinds(panel.open("window-study", after=10)) == ["burglary_verified"]
    assert kinds(panel.open("window-bedroom", after=10)) == ["burglary_perimeter"]


@pytest.mark.parametrize(
    ("device", "score", "expected"),
    [
        ("intercom-front", 0.9, ["burglary_verified"]),
        ("intercom-front", None, ["burglary_verified"]),
        ("intercom-front", 0.2, []),  # too unsure to call a person
        ("door-back", 0.9, []),  # only the intercom sees people
    ],
)
def test_video_confirmation(device: str, score: float | None, expected: list[str]) -> None:
    panel = Panel().armed()
    panel.open("window-living")
    actions = panel.fact(device, EventType.PERSON, after=30, score=score)
    assert kinds(actions) == expected
    if expected:
        assert reports(actions)[0].number == 40


def test_person_without_an_alarm_confirms_nothing() -> None:
    panel = Panel().armed()
    assert kinds(panel.fact("intercom-front", EventType.PERSON, score=0.99)) == []
    assert panel.mode == "armed_away"


def test_no_verified_alarm_while_unset() -> None:
    panel = Panel(changed_device(example_site(), "window-study", zone_type="24h"))
    panel.open("window-study")
    panel.close("window-study", after=1)
    assert kinds(panel.open("window-study", after=1)) == ["burglary_24h"]
    assert panel.state.window is None


def test_window_expiry_is_a_deadline_and_clears_the_bookkeeping() -> None:
    panel = Panel().armed()
    panel.open("window-living")
    panel.close("window-living", after=1)
    panel.to_deadline()  # trigger time over, re-armed
    assert panel.state.window is not None
    assert next_deadline(panel.state) == panel.state.window.deadline
    panel.to_deadline()
    assert panel.state.window is None
    assert next_deadline(panel.state) is None


@pytest.mark.parametrize(("after_s", "cancelled"), [(30, True), (119, True), (121, False)])
def test_abort_window(after_s: int, cancelled: bool) -> None:
    panel = Panel().armed()
    panel.open("window-living")
    actions = panel.disarm(PARTNER, after=after_s)
    assert kinds(actions) == (["burglary_cancel"] if cancelled else []) + ["remote_disarm"]
    if cancelled:
        cancel = reports(actions)[0]
        assert (cancel.number, cancel.user, cancel.device) == (2, 2, "window-living")


def test_swinger_zone_is_bypassed_and_reported() -> None:
    panel = Panel(tuned(example_site(), swinger_limit=3)).armed()
    raised: list[str] = []
    for _ in range(5):
        raised += kinds(panel.open("window-living", after=1))
        panel.close("window-living", after=1)
    assert raised == ["burglary_perimeter"] * 3 + ["bypass"]
    assert "window-living" in panel.state.bypassed
    panel.disarm()
    panel.armed()
    assert kinds(panel.open("window-living", after=1)) == ["burglary_perimeter"]
