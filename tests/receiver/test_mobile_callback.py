"""The call-back core, on a hand-moved clock: outcomes, the no-answer deadline, stored state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from receiver.mobile.callback import (
    Answered,
    Audit,
    CallBack,
    CallBackError,
    DeEscalate,
    Dialled,
    HandToPolice,
    NoAnswer,
    Phase,
    ThreatHeard,
    Tick,
    start,
    step,
)

OPENED = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
PHONES = ("+31 6 1234 5678", "+31 6 2222 3333")


def fresh() -> CallBack:
    return start(7, "burgemeester", PHONES, OPENED, timedelta(seconds=60))


def at(seconds: float) -> datetime:
    return OPENED + timedelta(seconds=seconds)


def test_mobile_callback_code_word_de_escalates() -> None:
    state, actions = step(fresh(), Dialled(PHONES[0], "olga"), at(10))
    assert actions == (Audit("olga", "callback_dialled", PHONES[0]),)
    state, actions = step(state, Answered("code", "olga"), at(25))
    assert state.phase is Phase.DE_ESCALATED and state.deadline is None
    verified = Audit("olga", "callback_deescalate", "answered, code word correct")
    assert actions == (verified, DeEscalate("olga"))
    assert step(state, Tick(), at(3600)) == (state, ())  # the timer is off


@pytest.mark.parametrize(
    ("event", "outcome"),
    [
        (Answered("duress", "olga"), "answered, duress word"),
        (Answered("wrong", "olga"), "answered, wrong code word"),
        (ThreatHeard("olga"), "threat heard"),
        (NoAnswer("olga"), "no answer"),
    ],
)
def test_mobile_callback_danger_goes_to_police(
    event: Answered | ThreatHeard | NoAnswer, outcome: str
) -> None:
    state, actions = step(fresh(), event, at(20))
    assert state.phase is Phase.POLICE and state.outcome == outcome and state.decided_at == at(20)
    assert actions[-1] == HandToPolice(outcome, "olga")


def test_mobile_callback_no_answer_in_time_goes_to_police_by_the_timer() -> None:
    state, _ = step(fresh(), Dialled(PHONES[1], "olga"), at(5))
    assert step(state, Tick(), at(59.9)) == (state, ())
    state, actions = step(state, Tick(), at(60))
    assert state.phase is Phase.POLICE and state.decided_by == "timer" and state.decided_at == at(60)
    assert actions[-1] == HandToPolice("no answer in time", "timer")


def test_mobile_callback_a_late_answer_does_not_undo_the_timer() -> None:
    with pytest.raises(CallBackError, match="went to the police already"):
        step(fresh(), Answered("code", "olga"), at(61))


def test_mobile_callback_refuses_numbers_that_are_not_the_persons() -> None:
    with pytest.raises(CallBackError, match="not one of"):
        step(fresh(), Dialled("+31 6 0000 0000", "olga"), at(1))


def test_mobile_callback_refuses_a_second_decision() -> None:
    state, _ = step(fresh(), ThreatHeard("olga"), at(1))
    with pytest.raises(CallBackError, match="decided already"):
        step(state, Answered("code", "sam"), at(2))


def test_mobile_callback_state_survives_storage() -> None:
    state, _ = step(fresh(), Dialled(PHONES[0], "olga"), at(3))
    assert CallBack.from_json(state.to_json()) == state
    decided, _ = step(state, NoAnswer("olga"), at(4))
    assert CallBack.from_json(decided.to_json()) == decided
