"""Home Assistant sees every change: state, changed_by, open zones, bypassed, faults, deadline."""

from __future__ import annotations

from datetime import timedelta

from agent.panel import public_state
from protocol.mqtt import EventType
from tests.panel.harness import PARTNER, T0, Panel, published


def test_every_state_change_is_published_with_changed_by() -> None:
    panel = Panel()
    seen = [
        published(panel.arm())[0],
        published(panel.to_deadline())[0],
        published(panel.open("door-front", after=60))[0],
        published(panel.disarm(PARTNER, after=5))[0],
    ]
    assert [s.state for s in seen] == ["arming", "armed_away", "pending", "disarmed"]
    assert [s.changed_by for s in seen] == ["resident", "resident", "resident", "partner"]
    assert [s.deadline for s in seen] == [
        T0 + timedelta(seconds=30), None, T0 + timedelta(seconds=120), None
    ]


def test_open_zones_follow_the_contacts_while_disarmed() -> None:
    panel = Panel()
    assert published(panel.open("window-living"))[0].open_zones == ["window-living"]
    assert published(panel.close("window-living"))[0].open_zones == []


def test_nothing_published_when_nothing_changed() -> None:
    panel = Panel().armed()
    assert panel.tick(after=10) == []
    panel.close("door-back")
    assert published(panel.close("door-back", after=1)) == []


def test_faults_are_published() -> None:
    panel = Panel()
    state = published(panel.fact("window-living", EventType.TAMPER))[0]
    assert state.faults == ["window-living:tamper"]


def test_public_state_for_the_shell_uses_the_last_clock() -> None:
    panel = Panel().armed()
    state = public_state(panel.state)
    assert (state.state, state.ts, state.changed_by) == ("armed_away", T0, "resident")
