"""Panic, hold-up, fire and 24 h zones: reported in the same step, sounder only when audible."""

from __future__ import annotations

import pytest

from agent.panel import Report
from protocol.mqtt import EventType
from tests.panel.harness import (
    Panel,
    changed_device,
    example_site,
    kinds,
    published,
    snapshots,
    sounders,
)

PRESS, RELEASE = EventType.PRESS, EventType.RELEASE


def test_panic_while_disarmed_is_reported_in_the_same_step_and_sounds() -> None:
    panel = Panel()
    actions = panel.fact("panic-hall", PRESS)
    assert actions[0] == Report("panic", 2, device="panic-hall", text="Panic button hall",  # type: ignore[arg-type]
                                urgent=True)
    assert sounders(actions) == [True]
    assert panel.mode == "triggered"
    assert snapshots(actions)[0].alarm_zone == 2


@pytest.mark.parametrize("armed", [False, True])
def test_holdup_is_silent_and_changes_nothing_visible(armed: bool) -> None:
    panel = Panel()
    if armed:
        panel.armed()
    mode = panel.mode
    actions = panel.fact("panic-bedroom", PRESS)
    assert kinds(actions) == ["holdup"]
    assert actions[0].urgent  # type: ignore[union-attr]
    assert sounders(actions) == []
    assert published(actions) == []
    assert panel.mode == mode


def test_silent_panic_button_does_not_sound() -> None:
    panel = Panel(changed_device(example_site(), "panic-hall", silent=True))
    actions = panel.fact("panic-hall", PRESS)
    assert kinds(actions) == ["panic"]
    assert sounders(actions) == []
    assert panel.mode == "disarmed"


def test_panic_during_entry_delay_is_not_held_back() -> None:
    panel = Panel().armed()
    panel.open("door-front")
    actions = panel.fact("panic-hall", PRESS, after=2)
    assert kinds(actions) == ["panic"]
    assert actions[0] == Report("panic", 2, device="panic-hall", text="Panic button hall",  # type: ignore[arg-type]
                                urgent=True)


@pytest.mark.parametrize(
    ("hold_ms", "presses", "alarms"),
    [
        (0, [(PRESS, None, 0)], 1),
        (0, [(PRESS, None, 0), (RELEASE, 50, 0.05)], 1),
        (1000, [(PRESS, None, 0)], 0),
        (1000, [(PRESS, None, 0), (RELEASE, 300, 0.3)], 0),
        (1000, [(PRESS, None, 0), (RELEASE, 1500, 1.5)], 1),
        (1000, [(PRESS, None, 0), (RELEASE, 200, 0.2), (PRESS, None, 1.0)], 1),
        (1000, [(PRESS, None, 0), (RELEASE, 200, 0.2), (PRESS, None, 3.0)], 0),
        (1000, [(PRESS, None, 0), (PRESS, None, 1), (PRESS, None, 1)], 1),
    ],
)
def test_accidental_press_protection(
    hold_ms: int, presses: list[tuple[EventType, int | None, float]], alarms: int
) -> None:
    panel = Panel(changed_device(example_site(), "panic-hall", hold_ms=hold_ms))
    raised = []
    for kind, held, after in presses:
        raised += kinds(panel.fact("panic-hall", kind, after=after, held_ms=held))
    assert raised == ["panic"] * alarms


def test_remote_trigger_is_a_manual_panic_without_code() -> None:
    panel = Panel()
    actions = panel.command("TRIGGER", None)
    assert actions[0] == Report("panic", 0, text="manual trigger", urgent=True)  # type: ignore[arg-type]
    assert sounders(actions) == [True]
    assert panel.mode == "triggered"


def test_fire_sounds_in_any_mode_and_restores() -> None:
    panel = Panel()
    actions = panel.fact("smoke-hall", EventType.SMOKE)
    assert kinds(actions) == ["fire"]
    assert sounders(actions) == [True]
    assert kinds(panel.fact("smoke-hall", EventType.SMOKE)) == []
    assert kinds(panel.fact("smoke-hall", EventType.SMOKE_CLEAR, after=30)) == ["fire:restore"]


def test_24h_zone_alarms_while_disarmed() -> None:
    panel = Panel(changed_device(example_site(), "window-study", zone_type="24h"))
    actions = panel.open("window-study")
    assert kinds(actions) == ["burglary_24h"]
    assert panel.mode == "triggered"
    panel.close("window-study", after=5)
    assert kinds(panel.open("window-study", after=5)) == ["burglary_24h"]  # never verified unset
