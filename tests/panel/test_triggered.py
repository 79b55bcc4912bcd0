"""Triggered: siren for trigger_time, then back to the armed mode; never extended, never disarmed."""

from __future__ import annotations

from datetime import timedelta

from agent.panel import next_deadline
from tests.panel.harness import (
    T0,
    Panel,
    changed_device,
    example_site,
    kinds,
    notices,
    published,
    reports,
    sounders,
    with_timings,
)


def test_rearms_after_trigger_time_not_disarmed() -> None:
    panel = Panel().armed()
    actions = panel.open("window-living")
    assert sounders(actions) == [True]
    assert panel.state.deadline == T0 + timedelta(minutes=3)
    panel.close("window-living", after=10)
    actions = panel.to_deadline()
    assert panel.mode == "armed_away"
    assert sounders(actions) == [False]
    assert notices(actions, "rearmed")
    assert published(actions)[0].state == "armed_away"
    assert kinds(actions) == []


def test_trigger_during_triggered_does_not_extend() -> None:
    panel = Panel().armed()
    panel.open("window-living")
    deadline = panel.state.deadline
    actions = panel.open("window-study", after=60)
    assert kinds(actions) == ["burglary_verified"]
    assert sounders(actions) == []
    assert panel.state.deadline == deadline


def test_trigger_time_zero_stays_triggered_until_disarmed() -> None:
    panel = Panel(with_timings(example_site(), "armed_away", trigger_time=0)).armed()
    panel.open("window-living")
    assert next_deadline(panel.state) is not None  # only the confirmation window
    panel.now += timedelta(hours=5)
    panel.tick()
    assert panel.mode == "triggered"
    actions = panel.disarm()
    assert sounders(actions) == [False]
    assert panel.mode == "disarmed"


def test_zone_still_open_at_rearm_is_bypassed_and_reported() -> None:
    panel = Panel().armed()
    panel.open("window-living")
    actions = panel.to_deadline()
    assert kinds(actions) == ["bypass"]
    assert reports(actions)[0].number == 12
    assert panel.state.bypassed == ["window-living"]
    assert kinds(panel.open("window-study", after=5)) == ["burglary_verified"]


def test_silent_device_raises_the_alarm_without_the_sounder() -> None:
    panel = Panel(changed_device(example_site(), "window-living", silent=True)).armed()
    actions = panel.open("window-living")
    assert kinds(actions) == ["burglary_perimeter"]
    assert sounders(actions) == []
    assert panel.mode == "triggered"


def test_disarm_during_triggered_silences() -> None:
    panel = Panel().armed()
    panel.open("window-living")
    actions = panel.disarm(after=300)
    assert sounders(actions) == [False]
    assert panel.mode == "disarmed"
