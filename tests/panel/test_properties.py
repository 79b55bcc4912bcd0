"""Invariants over random input sequences: JSON round trip, no busy loop, time never needed."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.panel import (
    WRONG_CODE,
    Command,
    DeviceAvailability,
    DeviceInput,
    Input,
    Tick,
    from_json,
    initial_state,
    next_deadline,
    step,
)
from protocol.mqtt import EventType
from tests.panel.harness import DURESS, INSTALLER, RESIDENT, T0, checked, example_site

SITE = example_site()
DEVICES = st.sampled_from([d.id for d in SITE.devices])
inputs: st.SearchStrategy[Input] = st.one_of(
    st.builds(DeviceInput, DEVICES, st.sampled_from(list(EventType)),
              st.none() | st.floats(0, 1), st.none() | st.integers(0, 5000),
              st.none() | st.integers(-600, 6000).map(lambda s: T0 + timedelta(seconds=s))),
    st.builds(DeviceAvailability, DEVICES, st.booleans()),
    st.builds(Command, st.sampled_from(["ARM_AWAY", "ARM_HOME", "DISARM", "TRIGGER",
                                        "WALK_TEST_START", "WALK_TEST_END"]),
              st.sampled_from([checked(SITE, RESIDENT), checked(SITE, INSTALLER),
                               checked(SITE, DURESS), WRONG_CODE, None]),
              st.booleans(), st.booleans()),
    st.just(Tick()),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(inputs, st.integers(0, 400)), max_size=12))
def test_any_sequence_keeps_the_invariants(events: list[tuple[Input, int]]) -> None:
    state, now = initial_state(SITE), T0
    for event, gap in events:
        now += timedelta(seconds=gap)
        state, _ = step(SITE, state, event, now)
        assert from_json(state.to_json()) == state
        state, _ = step(SITE, state, Tick(), now)
        deadline = next_deadline(state)
        assert deadline is None or deadline > now  # a Tick consumes what fell due: no busy loop


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(inputs, st.integers(0, 400)), max_size=12))
def test_a_step_never_changes_the_state_it_was_given(events: list[tuple[Input, int]]) -> None:
    """The shell keeps the state it stepped from until the commit: ``clone`` must share nothing
    a step can change (the devices' records, their trouble lists, the walk test's points)."""
    state, now = initial_state(SITE), T0
    for event, gap in events:
        now += timedelta(seconds=gap)
        before = state.to_json()
        after, _ = step(SITE, state, event, now)
        assert state.to_json() == before
        assert state.clone() == state and state.clone() is not state
        state = after


def test_a_clone_shares_no_record_list_or_dict() -> None:
    state, _ = step(SITE, initial_state(SITE), DeviceInput("door-front", EventType.TAMPER, at=T0), T0)
    clone = state.clone()
    assert clone == state
    for name, device in state.devices.items():
        assert clone.devices[name] is not device and clone.devices[name].troubles is not device.troubles
    assert clone.devices is not state.devices and clone.bypassed is not state.bypassed
    clone.devices["door-front"].troubles.append("masking")
    assert "masking" not in state.devices["door-front"].troubles
