"""The pure handling core: call lists with outcomes, timers as stored deadlines, skipping with a
reason, closing with a reason code. No database, no sleeps: the clock is an argument."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.receiver import DEFAULT_PLANS, Contact, PlanStep
from receiver.action_plan import Step, resolve_plan, with_person
from receiver.handling import (
    Ack,
    Alert,
    Audit,
    Called,
    Close,
    DeskError,
    Done,
    Handling,
    Joined,
    Log,
    Policy,
    Skip,
    Take,
    ThreatHeard,
    Tick,
    next_deadline,
    open_required,
    step,
    timer_start,
)

T0 = datetime(2026, 11, 28, 21, 0, tzinfo=UTC)
CONTACTS = [
    Contact(name="Burgemeester", role="official", phone="+31 6 1111 1111", alt_phone="+31 70 222 2222"),
    Contact(name="Partner", role="keyholder", phone="+31 6 3333 3333"),
]
PERSON = Contact(name="Wethouder (mobiel)", role="official", phone="+31 6 9999 9999")
POLICY = Policy(escalate_after=timedelta(seconds=30))
HOLDUP = resolve_plan(DEFAULT_PLANS["holdup"], CONTACTS, None)  # 0 listen, 1 call back, 2 police, 3 keyholder


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def run(
    plan: tuple[Step, ...], state: Handling, *inputs: object, now: float = 0
) -> tuple[Handling, list[object]]:
    actions: list[object] = []
    for event in inputs:
        state, done = step(plan, POLICY, state, event, at(now))  # type: ignore[arg-type]
        actions += done
    return state, actions


def taken() -> Handling:
    return run(HOLDUP, Handling(opened_at=T0), Take("olga"))[0]


def test_a_call_step_lists_each_number_of_each_contact_in_order() -> None:
    call = HOLDUP[1]
    assert (call.kind, call.verifies, call.answer_within) == ("call", True, 60)
    assert [(c.name, c.phone) for c in call.callees] == [
        ("Burgemeester", "+31 6 1111 1111"),
        ("Burgemeester", "+31 70 222 2222"),
    ]


def test_the_person_who_raised_the_alarm_is_called_first() -> None:
    """Issue 15's mobile panic button: the call-back step is bound to the person's numbers."""
    plan = resolve_plan(DEFAULT_PLANS["holdup"], CONTACTS, PERSON)
    assert [c.name for c in plan[1].callees] == ["Wethouder (mobiel)", "Burgemeester", "Burgemeester"]


def test_code_word_correct_clears_and_the_police_step_is_no_longer_needed() -> None:
    state, actions = run(HOLDUP, taken(), Done("olga", 0), Called("olga", 1, 0, "ok"), now=20)
    assert state.verdict == "cleared" and "code word correct" in state.verdict_why
    assert state.state_of(1).status == "done"
    assert open_required(HOLDUP, state) == []  # closing as false no longer demands "pass to police"
    closed, _ = run(HOLDUP, state, Close("olga", "false", "user_error"), now=30)
    assert (closed.outcome, closed.reason) == ("false", "user_error")
    assert Log("verdict", "system", f"cleared: {state.verdict_why}") in actions


@pytest.mark.parametrize("outcome", ["duress", "wrong_code", "threat"])
def test_duress_or_a_wrong_code_word_escalates_to_the_police_step(outcome: str) -> None:
    state, actions = run(HOLDUP, taken(), Called("olga", 1, 0, outcome), now=20)
    assert state.verdict == "escalated"
    assert any(isinstance(a, Alert) and a.level == "escalated" for a in actions)
    assert open_required(HOLDUP, state) == [0, 2]  # listen in, pass to police


def test_nobody_reached_on_the_whole_list_escalates() -> None:
    state, _ = run(HOLDUP, taken(), Called("olga", 1, 0, "no_answer"), now=10)
    assert state.verdict == "" and state.state_of(1).status == "open"  # next number
    state, _ = run(HOLDUP, state, Called("olga", 1, 1, "wrong_number"), now=20)
    assert state.verdict == "escalated" and "nobody on the call list reached" in state.verdict_why


def test_no_answer_within_the_time_escalates_at_the_stored_deadline() -> None:
    state = taken()
    assert next_deadline(HOLDUP, POLICY, state) == at(60)
    unchanged, actions = run(HOLDUP, state, Tick(), now=59)
    assert unchanged == state and actions == []
    state, actions = run(HOLDUP, state, Tick(), now=60)
    assert state.verdict == "escalated" and "no answer within 60 s" in state.verdict_why
    assert next_deadline(HOLDUP, POLICY, state) is None


def test_escalation_wins_over_a_later_correct_code_word() -> None:
    state, _ = run(HOLDUP, taken(), Tick(), now=61)
    state, _ = run(HOLDUP, state, Called("olga", 1, 0, "ok"), now=70)
    assert state.verdict == "escalated"


def test_an_alarm_nobody_takes_goes_to_the_supervisors_once() -> None:
    state = Handling(opened_at=T0)
    state, _ = run(HOLDUP, state, Ack("piet"), now=5)  # acknowledged is not taken
    assert next_deadline(HOLDUP, POLICY, state) == at(30)
    state, actions = run(HOLDUP, state, Tick(), now=30)
    assert state.escalated_at == at(30)
    assert [a.level for a in actions if isinstance(a, Alert)] == ["supervisors"]
    _, again = run(HOLDUP, state, Tick(), now=31)
    assert not any(isinstance(a, Alert) and a.level == "supervisors" for a in again)


def test_taking_acknowledges_and_stops_the_supervisor_timer() -> None:
    state = taken()
    assert (state.acked_by, state.owner) == ("olga", "olga")
    assert next_deadline(HOLDUP, POLICY, state) == at(60)  # only the call-back timer remains


def test_steps_need_the_owner_a_reason_to_skip_and_an_outcome_for_a_verifying_call() -> None:
    with pytest.raises(DeskError, match="take it first"):
        run(HOLDUP, Handling(opened_at=T0), Done("olga", 0))
    with pytest.raises(DeskError, match="record how the call went"):
        run(HOLDUP, taken(), Done("olga", 1))
    with pytest.raises(DeskError, match="say why"):
        run(HOLDUP, taken(), Skip("olga", 0, " "))
    state, actions = run(HOLDUP, taken(), Skip("olga", 0, "no camera at this site"))
    assert state.state_of(0).status == "skipped" and state.state_of(0).reason == "no camera at this site"
    assert {type(a).__name__ for a in actions} == {"Log", "Audit"}


def test_closing_needs_an_outcome_a_reason_code_and_every_required_step() -> None:
    state = taken()
    with pytest.raises(DeskError, match="choose an outcome"):
        run(HOLDUP, state, Close("olga", "", ""))
    with pytest.raises(DeskError, match="choose a reason for 'real'"):
        run(HOLDUP, state, Close("olga", "real", "user_error"))
    with pytest.raises(DeskError, match="required steps not done yet: 1, 2, 3"):
        run(HOLDUP, state, Close("olga", "real", "police_sent"))


def test_an_informing_call_that_nobody_answers_stays_open_for_the_operator() -> None:
    plan = resolve_plan([PlanStep(text="Inform the keyholder", call=["keyholder"])], CONTACTS, None)
    state, _ = run(
        plan, run(plan, Handling(opened_at=T0), Take("olga"))[0], Called("olga", 0, 0, "no_answer")
    )
    assert state.verdict == "" and state.state_of(0).status == "open"
    state, _ = run(plan, state, Done("olga", 0))
    assert state.state_of(0).status == "done"


def test_a_threat_heard_on_the_listen_in_escalates_without_a_call() -> None:
    """Issue 15: the operator verifies by listening in; what they hear may decide it first."""
    with pytest.raises(DeskError, match="take it first"):
        run(HOLDUP, Handling(opened_at=T0), ThreatHeard("olga"))
    state, actions = run(HOLDUP, taken(), ThreatHeard("olga"), now=12)
    assert state.verdict == "escalated" and state.verdict_why == "threat heard on the listen-in by olga"
    assert Audit("olga", "threat_heard", "threat heard on the listen-in by olga") in actions
    assert state.state_of(1).attempts == ()  # nobody was called: the record says so
    assert next_deadline(HOLDUP, POLICY, state) is None  # the call-back timer has nothing to decide


def test_the_same_person_on_two_contacts_is_called_once_per_number() -> None:
    twin = Contact(name="Burgemeester (mobiel)", role="official", phone="+31 6 1111 1111")
    plan = resolve_plan(DEFAULT_PLANS["holdup"], CONTACTS, twin)
    assert [c.phone for c in plan[1].callees] == ["+31 6 1111 1111", "+31 70 222 2222"]


def test_a_person_who_joins_goes_first_on_the_lists_that_call_the_person() -> None:
    plan, steps = with_person(HOLDUP, PERSON)
    assert steps == ((1, 1),)  # only the call-back calls "person"; the keyholder step does not
    assert [c.name for c in plan[1].callees] == ["Wethouder (mobiel)", "Burgemeester", "Burgemeester"]
    again, steps = with_person(plan, PERSON)
    assert again == plan and steps == ((1, 0),)  # a number already on the list stays where it is


def _joined(state: Handling, now: float) -> tuple[tuple[Step, ...], Handling, list[object]]:
    plan, steps = with_person(HOLDUP, PERSON)
    state, actions = run(plan, state, Joined(PERSON.name, steps, (PERSON.phone,)), now=now)
    return plan, state, actions


def test_a_press_joining_a_cleared_alarm_withdraws_the_clearing_and_restarts_the_timer() -> None:
    """The official gave the code word at home; then a wethouder at the same site presses a
    mobile panic button: the clearing covered nobody who is with them."""
    cleared, _ = run(HOLDUP, taken(), Called("olga", 1, 0, "ok"), now=20)
    plan, state, actions = _joined(cleared, now=40)
    assert state.verdict == "" and state.state_of(1).status == "open"
    assert [(a.callee, a.outcome) for a in state.state_of(1).attempts] == [(1, "ok")]  # moved down
    assert timer_start(state, 1) == at(40) and next_deadline(plan, POLICY, state) == at(100)
    assert any(isinstance(a, Log) and "clearing is withdrawn" in a.text for a in actions)
    assert open_required(plan, state) == [0, 1, 2]  # pass to police is needed again
    unchanged, _ = run(plan, state, Tick(), now=99)
    assert unchanged.verdict == ""
    state, _ = run(plan, state, Tick(), now=100)
    assert state.verdict == "escalated" and "no answer within 60 s" in state.verdict_why


def test_the_person_who_joined_answering_with_the_code_word_clears_it_again() -> None:
    cleared, _ = run(HOLDUP, taken(), Called("olga", 1, 0, "ok"), now=20)
    plan, state, _ = _joined(cleared, now=40)
    state, _ = run(plan, state, Called("olga", 1, 0, "ok", PERSON.phone), now=55)
    assert state.verdict == "cleared" and "Wethouder" in state.verdict_why
    assert next_deadline(plan, POLICY, state) is None


def test_a_press_joining_an_undecided_alarm_does_not_give_it_more_time() -> None:
    plan, state, _ = _joined(taken(), now=40)
    assert state.verdict == "" and next_deadline(plan, POLICY, state) == at(60)  # not 100


def test_a_press_joining_an_escalated_alarm_leaves_the_police_step_needed() -> None:
    escalated, _ = run(HOLDUP, taken(), Called("olga", 1, 0, "duress"), now=20)
    _, state, actions = _joined(escalated, now=40)
    assert state.verdict == "escalated" and state.state_of(1).status == "done"
    assert [a.callee for a in state.state_of(1).attempts] == [1]
    assert any(isinstance(a, Log) and a.kind == "joined" for a in actions)


def test_a_form_drawn_before_someone_joined_cannot_record_against_the_wrong_person() -> None:
    plan, state, _ = _joined(taken(), now=10)
    with pytest.raises(DeskError, match=r"changed .* number 1 is now Wethouder"):
        run(plan, state, Called("olga", 1, 0, "no_answer", "+31 6 1111 1111"), now=20)


def test_a_plan_that_calls_nobody_by_person_says_whom_to_call() -> None:
    plan = resolve_plan([PlanStep(text="Call the residents", call=["official"])], CONTACTS, None)
    _, steps = with_person(plan, PERSON)
    state, actions = run(plan, Handling(opened_at=T0), Joined(PERSON.name, steps, (PERSON.phone,)))
    assert steps == () and state == Handling(opened_at=T0)
    assert any(isinstance(a, Log) and "no step of this plan calls them back: call +31 6 9999" in a.text
               for a in actions)
