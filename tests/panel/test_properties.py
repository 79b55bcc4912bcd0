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
