"""Each device's facts in the order they happened: a late, older fact is skipped and said so."""

from __future__ import annotations

from datetime import timedelta

from protocol.mqtt import EventType
from tests.panel.harness import T0, Panel, kinds, notices


def at(seconds: float) -> dict[str, object]:
    return {"at": T0 + timedelta(seconds=seconds)}


def test_a_tamper_older_than_its_restore_is_skipped() -> None:
    panel = Panel()
    assert kinds(panel.fact("door-front", EventType.TAMPER, **at(0))) == ["tamper"]
    assert kinds(panel.fact("door-front", EventType.TAMPER_RESTORE, **at(2))) == ["tamper:restore"]
    actions = panel.fact("door-front", EventType.TAMPER, **at(1))
    assert kinds(actions) == []
    [skipped] = notices(actions, "event_skipped")
    assert skipped.detail["device"] == "door-front" and skipped.detail["event"] == "tamper"
    assert "tamper" not in panel.state.devices["door-front"].troubles


def test_order_is_per_device_and_equal_times_are_kept() -> None:
    panel = Panel().armed()
    panel.fact("door-back", EventType.CLOSE, **at(5))
    assert kinds(panel.fact("window-living", EventType.OPEN, **at(1))) == ["burglary_perimeter"]
    panel.fact("door-back", EventType.OPEN, **at(5))  # the same instant: not older
    assert notices(panel.history, "event_skipped") == []


def test_a_late_panic_press_is_never_dropped() -> None:
    panel = Panel()
    panel.fact("panic-hall", EventType.RELEASE, **at(3))
    actions = panel.fact("panic-hall", EventType.PRESS, **at(2))
    assert kinds(actions) == ["panic"] and notices(actions, "event_skipped") == []


def test_facts_without_a_driver_time_are_not_ordered() -> None:
    panel = Panel()
    panel.fact("door-front", EventType.TAMPER, **at(10))
    assert kinds(panel.fact("door-front", EventType.TAMPER_RESTORE)) == ["tamper:restore"]


def test_an_alarm_press_that_overtook_its_buttons_older_facts_leaves_them_in_force() -> None:
    """The press takes the lane and may arrive first; the tamper before it still counts."""
    panel = Panel()
    assert kinds(panel.fact("panic-hall", EventType.PRESS, **at(5))) == ["panic"]
    assert kinds(panel.fact("panic-hall", EventType.TAMPER, **at(4))) == ["tamper"]
    assert "tamper" in panel.state.devices["panic-hall"].troubles
    assert kinds(panel.fact("panic-hall", EventType.TAMPER_RESTORE, **at(6))) == ["tamper:restore"]
    assert kinds(panel.fact("panic-hall", EventType.TAMPER, **at(5.5))) == []  # older than its restore
    assert notices(panel.history, "event_skipped")[0].detail["event"] == "tamper"
