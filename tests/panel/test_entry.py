"""Entry delay done right: one start, never restarted, non-entry zones instant."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.panel.harness import (
    T0,
    Panel,
    example_site,
    interior_site,
    kinds,
    published,
    reports,
    with_timings,
)


def test_entry_door_starts_pending_with_mode_entry_delay() -> None:
    panel = Panel().armed()
    actions = panel.open("door-front")
    assert panel.mode == "pending"
    assert reports(actions) == []
    assert published(actions)[0].deadline == T0 + timedelta(seconds=30)


@pytest.mark.parametrize(("mode", "delay"), [("ARM_AWAY", 30), ("ARM_HOME", 30), ("ARM_NIGHT", 15)])
def test_entry_delay_per_mode(mode: str, delay: int) -> None:
    panel = Panel().armed(mode)
    panel.open("door-front")
    assert panel.state.deadline == T0 + timedelta(seconds=delay)


def test_reopening_never_restarts_the_entry_delay() -> None:
    panel = Panel().armed()
    panel.open("door-front")
    for _ in range(4):  # in and out, as an intruder testing the system would
        panel.close("door-front", after=5)
        panel.open("door-front", after=1)
        assert panel.state.deadline == T0 + timedelta(seconds=30)
    actions = panel.to_deadline()
    assert panel.now == T0 + timedelta(seconds=30)
    assert kinds(actions) == ["burglary_entry_exit"]
    assert reports(actions)[0].number == 10
    assert panel.mode == "triggered"
    assert kinds(panel.tick(after=1)) == []


def test_disarm_during_entry_delay_sends_only_the_disarm() -> None:
    panel = Panel().armed()
    panel.open("door-front")
    actions = panel.disarm(after=12)
    assert kinds(actions) == ["remote_disarm"]
    assert panel.mode == "disarmed"
    assert kinds(panel.tick(after=60)) == []


def test_perimeter_during_entry_delay_alarms_at_once() -> None:
    panel = Panel().armed()
    panel.open("door-front")
    actions = panel.open("window-living", after=3)
    assert kinds(actions) == ["burglary_perimeter"]
    assert panel.mode == "triggered"
    assert panel.state.entry is None


def test_interior_follows_the_entry_route_then_confirms_after_expiry() -> None:
    panel = Panel(interior_site()).armed()
    panel.open("door-front")
    assert kinds(panel.open("door-living", after=3)) == []
    assert panel.mode == "pending"
    assert kinds(panel.to_deadline()) == ["burglary_entry_exit"]
    panel.close("door-living", after=1)
    assert kinds(panel.open("door-living", after=1)) == ["burglary_verified"]


def test_tick_before_deadline_changes_nothing() -> None:
    panel = Panel().armed()
    panel.open("door-front")
    assert panel.tick(after=29) == []
    assert panel.mode == "pending"


def test_zero_entry_delay_makes_the_entry_door_instant() -> None:
    panel = Panel(with_timings(example_site(), "armed_away", entry_delay=0)).armed()
    assert kinds(panel.open("door-front")) == ["burglary_entry_exit"]
    assert panel.mode == "triggered"
