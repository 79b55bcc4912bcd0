"""Device trouble: supervision with a grace period, tamper, battery, masking, camera loss.

Unavailable is never open and never an intrusion; trouble is never silent.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from agent.panel import LogEntry, next_deadline
from protocol.mqtt import EventType
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
)


def test_offline_reports_supervision_after_the_grace_and_restores() -> None:
    panel = Panel()
    actions = panel.online("door-back", False)
    assert kinds(actions) == []
    assert published(actions) == []
    assert next_deadline(panel.state) == T0 + timedelta(minutes=5)
    assert kinds(panel.tick(after=299)) == []
    actions = panel.tick(after=1)
    assert kinds(actions) == ["supervision_lost"]
    assert reports(actions)[0].number == 11
    assert notices(actions, "device_lost")
    assert published(actions)[0].faults == ["door-back:offline"]
    actions = panel.online("door-back", True, after=60)
    assert kinds(actions) == ["supervision_lost:restore"]
    assert published(actions)[0].faults == []


def test_back_within_the_grace_reports_nothing() -> None:
    panel = Panel()
    panel.online("door-back", False)
    actions = panel.online("door-back", True, after=30)
    assert kinds(actions) == []
    assert kinds(panel.tick(after=600)) == []


@pytest.mark.parametrize(
    ("device", "grace_s"),
    [("door-back", 300), ("panic-hall", 120), ("intercom-front", 60), ("smoke-hall", 300)],
)
def test_grace_per_device_type(device: str, grace_s: int) -> None:
    panel = Panel()
    panel.online(device, False)
    assert next_deadline(panel.state) == T0 + timedelta(seconds=grace_s)


def test_grace_from_the_device_config_wins() -> None:
    panel = Panel(changed_device(example_site(), "door-back", supervision="20s"))
    panel.online("door-back", False)
    assert next_deadline(panel.state) == T0 + timedelta(seconds=20)


def test_unavailable_is_not_open() -> None:
    panel = Panel()
    panel.online("window-living", False)
    panel.arm(skip_delay=True)
    assert panel.mode == "armed_away"
    panel.online("door-back", False, after=5)
    assert panel.mode == "armed_away"
    assert panel.state.devices["door-back"].contact is None
    assert published(panel.tick(after=600))[0].open_zones == []


def test_contact_back_online_then_open_while_armed_is_an_intrusion() -> None:
    panel = Panel()
    panel.close("door-back")
    panel.armed()
    panel.online("door-back", False, after=5)
    panel.online("door-back", True, after=5)
    assert kinds(panel.open("door-back", after=1)) == ["burglary_perimeter"]


@pytest.mark.parametrize(
    ("on", "off", "kind", "trouble"),
    [
        (EventType.TAMPER, EventType.TAMPER_RESTORE, "tamper", "tamper"),
        (EventType.BATTERY_LOW, EventType.BATTERY_OK, "low_battery", "battery_low"),
        (EventType.MASKING, EventType.MASKING_RESTORE, "camera_masked", "masking"),
        (EventType.CAMERA_LOST, EventType.CAMERA_RESTORED, "camera_lost", "camera_lost"),
    ],
)
def test_trouble_is_reported_listed_and_restored(on: EventType, off: EventType, kind: str,
                                                 trouble: str) -> None:
    device = "intercom-front" if trouble in ("masking", "camera_lost") else "door-front"
    panel = Panel()
    actions = panel.fact(device, on)
    assert kinds(actions) == [kind]
    assert notices(actions, "trouble")
    assert published(actions)[0].faults == [f"{device}:{trouble}"]
    assert sounders(actions) == []
    assert kinds(panel.fact(device, on, after=1)) == []  # a repeated fact is not news
    assert kinds(panel.fact(device, off, after=1)) == [f"{kind}:restore"]
    assert panel.mode == "disarmed"


@pytest.mark.parametrize(
    ("event", "kind"), [(EventType.BATTERY_LOW, "low_battery"), (EventType.MASKING, "camera_masked"),
                        (EventType.CAMERA_LOST, "camera_lost")]
)
def test_trouble_while_armed_is_not_an_intrusion(event: EventType, kind: str) -> None:
    panel = Panel().armed()
    device = "door-back" if event is EventType.BATTERY_LOW else "intercom-front"
    actions = panel.fact(device, event)
    assert kinds(actions) == [kind]
    assert panel.mode == "armed_away"


def test_tamper_while_armed_sounds_but_is_not_a_burglary() -> None:
    panel = Panel().armed()
    actions = panel.fact("door-front", EventType.TAMPER)
    assert kinds(actions) == ["tamper"]
    assert sounders(actions) == [True]
    assert panel.mode == "triggered"


def test_unknown_device_changes_nothing() -> None:
    panel = Panel().armed()
    before = panel.state
    actions = panel.open("garage-door")
    assert all(isinstance(a, LogEntry) for a in actions)
    assert panel.state.model_copy(update={"clock": None}) == before.model_copy(
        update={"clock": None}
    )
