"""State survives restarts: JSON round trip, timers as deadlines, and ``resume``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from agent.panel import (
    PanelState,
    PublishState,
    Tick,
    from_json,
    initial_state,
    next_deadline,
    resume,
    step,
)
from protocol.mqtt import DeviceState
from tests.panel.harness import T0, WRONG, Panel, example_site, kinds, published, reports


def busy_panel() -> Panel:
    """Pending entry delay, a bypass, an open confirmation window, a wrong code, a lost device."""
    panel = Panel()
    panel.open("window-study")
    panel.arm(force=True, skip_delay=True)
    panel.online("door-back", False, after=1)
    panel.open("window-living", after=1)
    panel.close("window-living", after=1)
    panel.to_deadline()  # trigger time over, re-armed
    panel.disarm(WRONG)
    panel.open("door-front", after=1)
    assert panel.mode == "pending"
    return panel


def test_json_round_trip_keeps_everything() -> None:
    state = busy_panel().state
    again = from_json(state.to_json())
    assert again == state
    assert again.entry is not None and again.window is not None
    assert again.bypassed == ["window-study"] and again.wrong_codes == 1


def test_restart_during_pending_gives_exactly_one_alarm() -> None:
    panel = busy_panel()
    stored = panel.state.to_json()
    deadline = next_deadline(PanelState.from_json(stored))
    assert deadline is not None and deadline == panel.state.deadline
    state, actions = step(panel.site, from_json(stored), Tick(), deadline + timedelta(minutes=2))
    # one alarm, verified by the window restored from JSON; the lost device fell due too
    assert kinds(actions) == ["burglary_verified", "supervision_lost"]
    assert reports(actions)[0].number == 10
    state, actions = step(panel.site, state, Tick(), deadline + timedelta(minutes=2, seconds=1))
    assert kinds(actions) == []


def test_step_never_modifies_its_input() -> None:
    panel = busy_panel()
    before = panel.state.to_json()
    step(panel.site, panel.state, Tick(), panel.now + timedelta(hours=1))
    assert panel.state.to_json() == before


@pytest.mark.parametrize(
    "now", [datetime(2025, 1, 1), datetime(2025, 1, 1, tzinfo=timezone(timedelta(hours=1)))]
)
def test_time_must_be_aware_utc(now: datetime) -> None:
    with pytest.raises(ValueError, match="UTC"):
        step(example_site(), initial_state(example_site()), Tick(), now)


def test_corrupt_state_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="mode"):
        from_json('{"v": 1, "mode": "exploded"}')


def retained(**contacts: str) -> dict[str, DeviceState]:
    return {
        d: DeviceState.model_validate({"device": d, "contact": c, "ts": T0})
        for d, c in contacts.items()
    }


def armed_with_closed_contacts() -> Panel:
    panel = Panel()
    for device in ("door-front", "door-back", "window-living"):
        panel.close(device)
    return panel.armed()


def test_resume_entry_delay_expired_while_down_triggers_once() -> None:
    panel = armed_with_closed_contacts()
    panel.open("door-front")
    facts = retained(**{"door-front": "open"})
    later = panel.now + timedelta(minutes=10)
    state, actions = resume(panel.site, from_json(panel.state.to_json()), facts, later)
    assert kinds(actions) == ["burglary_entry_exit"]
    assert isinstance(actions[-1], PublishState) and len(published(actions)) == 1
    state, actions = resume(panel.site, state, facts, later + timedelta(seconds=5))
    assert reports(actions) == []


def test_resume_contact_opened_while_down_is_an_intrusion() -> None:
    panel = armed_with_closed_contacts()
    facts = retained(**{"door-back": "open", "window-living": "closed"})
    state, actions = resume(panel.site, panel.state, facts, panel.now + timedelta(minutes=3))
    assert kinds(actions) == ["burglary_perimeter"]
    assert state.mode == "triggered"


def test_resume_unchanged_contacts_raise_nothing() -> None:
    panel = Panel()
    panel.open("window-study")
    panel.arm(force=True, skip_delay=True)
    facts = retained(**{"window-study": "open", "door-back": "closed"})
    state, actions = resume(panel.site, panel.state, facts, panel.now + timedelta(hours=1))
    assert reports(actions) == []
    assert state.mode == "armed_away"
    assert published(actions)[0].state == "armed_away"


def test_resume_entry_door_found_open_starts_a_full_entry_delay() -> None:
    panel = armed_with_closed_contacts()
    later = panel.now + timedelta(minutes=3)
    state, _ = resume(panel.site, panel.state, retained(**{"door-front": "open"}), later)
    assert state.mode == "pending"
    assert state.deadline == later + timedelta(seconds=30)


def test_resume_trouble_found_while_down_is_reported() -> None:
    panel = Panel().armed()
    facts = {"door-back": DeviceState(device="door-back", battery_low=True, ts=T0)}
    _, actions = resume(panel.site, panel.state, facts, panel.now + timedelta(minutes=1))
    assert kinds(actions) == ["low_battery"]


def test_resume_siren_time_over_while_down_rearms() -> None:
    panel = armed_with_closed_contacts()
    panel.open("door-back")
    panel.close("door-back", after=1)
    later = panel.now + timedelta(minutes=30)
    facts = retained(**{"door-back": "closed"})
    state, actions = resume(panel.site, panel.state, facts, later)
    assert state.mode == "armed_away"
    assert reports(actions) == []
