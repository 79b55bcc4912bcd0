"""Handling one alarm, as a pure core: ``step(plan, policy, state, input, now) -> (state, actions)``.

One workflow for every alarm, at a home or from a mobile panic button (issue 15): acknowledge,
take, work the action plan (plain steps, call lists with outcomes, dispatch steps), skip a
step with a reason, close with an outcome and a reason code. Timers are stored deadlines
(``next_deadline``): an alarm nobody takes goes to the supervisors; a verifying call-back
nobody answers in time escalates. A threat heard on the listen-in escalates; a person who
raises the alarm again (a press joining it) is called first and verified again (``Joined``).
The shell (``receiver/desk.py``) loads the state, applies the input, stores the new state with
its log and audit rows in one transaction, and wakes the core with ``Tick`` at the next
deadline; so a restart resumes exactly and tests need no sleep.

Escalation always wins over clearing: a duress word after a correct code word still sends the
police; a correct code word after an escalation does not call them back (a note does that).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from receiver.action_plan import Step

__all__ = [
    "CALL_OUTCOMES",
    "CLOSE_REASONS",
    "Ack",
    "Action",
    "Alert",
    "Attempt",
    "Audit",
    "Called",
    "Close",
    "DeskError",
    "Done",
    "HandOver",
    "Handling",
    "Input",
    "Joined",
    "Log",
    "Policy",
    "Skip",
    "StepState",
    "Take",
    "ThreatHeard",
    "Tick",
    "next_deadline",
    "open_required",
    "step",
    "timer_start",
]

SYSTEM = "system"

#: outcome of one call to one number, in the operator's words
CALL_OUTCOMES: dict[str, str] = {
    "ok": "answered, code word correct",
    "wrong_code": "answered, wrong or no code word",
    "duress": "answered with the duress word",
    "threat": "threat heard on the call",
    "no_answer": "no answer",
    "wrong_number": "wrong number / not in service",
}
_ESCALATING = frozenset({"duress", "wrong_code", "threat"})
_UNREACHED = frozenset({"no_answer", "wrong_number"})

#: closing needs an outcome and one of its reason codes (issue 20: no default outcome)
CLOSE_REASONS: dict[str, dict[str, str]] = {
    "real": {
        "police_sent": "police sent",
        "fire_brigade_sent": "fire brigade sent",
        "guard_sent": "guard or keyholder sent",
        "handled_on_phone": "handled with the person on the phone",
    },
    "false": {
        "user_error": "set off by mistake (code word given)",
        "device_fault": "device or wiring fault",
        "environment": "environment (animal, draught, steam)",
        "unknown": "cause unknown",
    },
    "test": {"announced_test": "announced test", "installer": "installer at work"},
    "technical": {
        "link": "transmission / link fault",
        "power": "power failure",
        "device": "device fault",
        "restored": "restored by itself, checked",
    },
}


class DeskError(ValueError):
    """An operator action that the alarm's state does not allow; the text is shown as is."""


# -- state -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    callee: int
    outcome: str
    at: datetime
    by: str


@dataclass(frozen=True)
class StepState:
    status: Literal["open", "done", "skipped"] = "open"
    by: str = ""
    at: datetime | None = None
    reason: str = ""
    attempts: tuple[Attempt, ...] = ()
    since: datetime | None = None  # a verifying call's timer restarted here (a person joined)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.status != "open":
            out |= {"by": self.by, "at": self.at.isoformat() if self.at else None, "reason": self.reason}
        if self.attempts:
            out["attempts"] = [[a.callee, a.outcome, a.at.isoformat(), a.by] for a in self.attempts]
        if self.since is not None:
            out["since"] = self.since.isoformat()
        return out

    @classmethod
    def from_json(cls, raw: Any) -> StepState:
        if isinstance(raw, int):  # before issue 20: a list of the indexes of done steps
            return cls(status="done")
        at, since = raw.get("at"), raw.get("since")
        return cls(
            status=raw.get("status", "open"),
            by=raw.get("by", ""),
            at=datetime.fromisoformat(at) if at else None,
            reason=raw.get("reason", ""),
            attempts=tuple(
                Attempt(int(a[0]), str(a[1]), datetime.fromisoformat(a[2]), str(a[3]))
                for a in raw.get("attempts", ())
            ),
            since=datetime.fromisoformat(since) if since else None,
        )


@dataclass(frozen=True)
class Handling:
    """Everything about how an alarm is handled (what the events say is the desk's)."""

    opened_at: datetime
    steps: tuple[StepState, ...] = ()
    owner: str | None = None
    taken_at: datetime | None = None
    acked_at: datetime | None = None
    acked_by: str | None = None
    escalated_at: datetime | None = None  # sent to the supervisors: nobody took it in time
    verdict: Literal["", "cleared", "escalated"] = ""
    verdict_at: datetime | None = None
    verdict_why: str = ""
    closed_at: datetime | None = None
    closed_by: str | None = None
    outcome: str | None = None
    reason: str | None = None

    def state_of(self, index: int) -> StepState:
        return self.steps[index] if index < len(self.steps) else StepState()

    def with_step(self, index: int, state: StepState) -> Handling:
        steps = list(self.steps) + [StepState()] * (index + 1 - len(self.steps))
        steps[index] = state
        return replace(self, steps=tuple(steps))


@dataclass(frozen=True)
class Policy:
    escalate_after: timedelta = timedelta(seconds=90)


# -- inputs and actions ------------------------------------------------------------------------
@dataclass(frozen=True)
class Ack:
    user: str


@dataclass(frozen=True)
class Take:
    user: str
    override: bool = False  # a supervisor may take an alarm over


@dataclass(frozen=True)
class Done:
    user: str
    step: int


@dataclass(frozen=True)
class Skip:
    user: str
    step: int
    reason: str


@dataclass(frozen=True)
class Called:
    user: str
    step: int
    callee: int
    outcome: str
    phone: str = ""  # the number the operator saw: refused when the list changed under the form


@dataclass(frozen=True)
class ThreatHeard:
    """The owner heard a threat on the listen-in (not on a call: that is ``Called`` "threat")."""

    user: str


@dataclass(frozen=True)
class Joined:
    """Someone raised the alarm again, or joined it with an alarm of their own (a mobile panic
    button's press): their numbers were put at the head of ``steps`` ((step, numbers added),
    for every step that calls the person who raised the alarm). ``phones`` are for the log."""

    who: str
    steps: tuple[tuple[int, int], ...]
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class HandOver:
    user: str
    to: str


@dataclass(frozen=True)
class Close:
    user: str
    outcome: str
    reason: str


@dataclass(frozen=True)
class Tick:
    """Time passed: deadlines may have expired."""


Input = Ack | Take | Done | Skip | Called | ThreatHeard | Joined | HandOver | Close | Tick


@dataclass(frozen=True)
class Log:
    kind: str
    who: str
    text: str


@dataclass(frozen=True)
class Audit:
    who: str
    action: str
    detail: str


@dataclass(frozen=True)
class Alert:
    """Something consoles must make loud: ``supervisors`` (nobody took it) or ``escalated``."""

    level: Literal["supervisors", "escalated"]
    text: str


Action = Log | Audit | Alert


@dataclass
class _Out:
    actions: list[Action] = field(default_factory=list)

    def did(self, kind: str, who: str, text: str, action: str | None = None) -> None:
        self.actions += [Log(kind, who, text), Audit(who, action or kind, text)]


# -- the core ----------------------------------------------------------------------------------
def step(
    plan: Sequence[Step], policy: Policy, state: Handling, event: Input, now: datetime
) -> tuple[Handling, tuple[Action, ...]]:
    """Apply one input; DeskError (and no change) when the alarm's state does not allow it."""
    out = _Out()
    if isinstance(event, Tick):
        state = _tick(plan, policy, state, now, out)
        return state, tuple(out.actions)
    if state.closed_at is not None:
        raise DeskError("this alarm is already closed")
    if isinstance(event, Ack):
        state = _ack(state, event.user, now, out)
    elif isinstance(event, Joined):
        state = _joined(plan, state, event, now, out)
    elif isinstance(event, Take):
        state = _take(state, event, now, out)
    else:
        _must_own(state, event.user)
        if isinstance(event, Done):
            state = _done(plan, state, event, now, out)
        elif isinstance(event, Skip):
            state = _skip(plan, state, event, now, out)
        elif isinstance(event, Called):
            state = _called(plan, state, event, now, out)
        elif isinstance(event, ThreatHeard):
            state = _threat(state, event, now, out)
        elif isinstance(event, HandOver):
            state = _hand_over(state, event, out)
        else:
            state = _close(plan, state, event, now, out)
    return state, tuple(out.actions)


def _must_own(state: Handling, user: str) -> None:
    if state.owner != user:
        raise DeskError(f"this alarm is taken by {state.owner or 'nobody'}; take it first")


def _ack(state: Handling, user: str, now: datetime, out: _Out) -> Handling:
    if state.acked_at is not None:
        return state
    out.did("ack", user, "acknowledged")
    return replace(state, acked_at=now, acked_by=user)


def _take(state: Handling, event: Take, now: datetime, out: _Out) -> Handling:
    if state.owner == event.user:
        return state
    if state.owner and not event.override:
        raise DeskError(f"this alarm is already taken by {state.owner}")
    out.did("take", event.user, f"taken over from {state.owner}" if state.owner else "taken")
    acked = (state.acked_at, state.acked_by) if state.acked_at else (now, event.user)
    return replace(
        state, owner=event.user, taken_at=state.taken_at or now, acked_at=acked[0], acked_by=acked[1]
    )


def _plan_step(plan: Sequence[Step], index: int) -> Step:
    if not 0 <= index < len(plan):
        raise DeskError(f"the action plan has no step {index + 1}")
    return plan[index]


def _done(plan: Sequence[Step], state: Handling, event: Done, now: datetime, out: _Out) -> Handling:
    s = _plan_step(plan, event.step)
    if state.state_of(event.step).status != "open":
        return state
    if s.verifies:
        raise DeskError(f"step {event.step + 1} verifies the alarm: record how the call went")
    out.did("step", event.user, f"step {event.step + 1} done: {s.text}")
    return state.with_step(
        event.step, replace(state.state_of(event.step), status="done", by=event.user, at=now)
    )


def _skip(plan: Sequence[Step], state: Handling, event: Skip, now: datetime, out: _Out) -> Handling:
    s, reason = _plan_step(plan, event.step), " ".join(event.reason.split())[:200]
    if not reason:
        raise DeskError(f"say why step {event.step + 1} is skipped")
    if state.state_of(event.step).status != "open":
        raise DeskError(f"step {event.step + 1} is already {state.state_of(event.step).status}")
    out.did("skip", event.user, f"step {event.step + 1} skipped ({reason}): {s.text}")
    current = state.state_of(event.step)
    return state.with_step(
        event.step, replace(current, status="skipped", by=event.user, at=now, reason=reason)
    )


def _called(plan: Sequence[Step], state: Handling, event: Called, now: datetime, out: _Out) -> Handling:
    s = _plan_step(plan, event.step)
    if s.kind != "call":
        raise DeskError(f"step {event.step + 1} is not a call step")
    if not 0 <= event.callee < len(s.callees):
        raise DeskError(f"step {event.step + 1} has no number {event.callee + 1} on its call list")
    if event.outcome not in CALL_OUTCOMES:
        raise DeskError(f"a call's outcome is one of: {', '.join(CALL_OUTCOMES)}")
    callee, current = s.callees[event.callee], state.state_of(event.step)
    if event.phone and event.phone != callee.phone:
        raise DeskError(
            f"the call list of step {event.step + 1} changed (someone joined the alarm): number"
            f" {event.callee + 1} is now {callee.name} ({callee.phone}); look again and record it once more"
        )
    attempts = (*current.attempts, Attempt(event.callee, event.outcome, now, event.user))
    words = f"{callee.name} ({callee.phone}): {CALL_OUTCOMES[event.outcome]}"
    out.did("call", event.user, f"step {event.step + 1} call: {words}")
    reached_all = all(
        any(a.callee == i and a.outcome in _UNREACHED for a in attempts) for i in range(len(s.callees))
    )
    finished = event.outcome == "ok" or event.outcome in _ESCALATING or (s.verifies and reached_all)
    status: Literal["open", "done", "skipped"] = "done" if finished else current.status
    state = state.with_step(
        event.step,
        replace(
            current,
            attempts=attempts,
            status=status,
            by=event.user if finished else current.by,
            at=now if finished else current.at,
        ),
    )
    if event.outcome in _ESCALATING:
        return _escalate(state, words, now, out)
    if s.verifies and event.outcome == "ok":
        return _clear(state, words, now, out)
    if s.verifies and reached_all and not _answered(event.step, state):
        return _escalate(state, f"nobody on the call list reached ({len(s.callees)} numbers)", now, out)
    return state


def _threat(state: Handling, event: ThreatHeard, now: datetime, out: _Out) -> Handling:
    why = f"threat heard on the listen-in by {event.user}"
    out.did("threat", event.user, why, "threat_heard")
    return _escalate(state, why, now, out)


def _joined(plan: Sequence[Step], state: Handling, event: Joined, now: datetime, out: _Out) -> Handling:
    """Numbers put at the head of a list move the earlier attempts down; a verifying step the
    person is on is decided again (a clearing is withdrawn, the step's timer restarts now),
    unless the alarm is escalated already: the police are on their way either way."""
    phones = ", ".join(event.phones) or "no number"
    if not event.steps:
        text = f"{event.who} raised the alarm too; no step of this plan calls them back: call {phones}"
        out.did("joined", SYSTEM, text)
        return state
    again: list[int] = []
    for index, added in event.steps:
        current = state.state_of(index)
        moved = tuple(replace(a, callee=a.callee + added) for a in current.attempts)
        current = replace(current, attempts=moved)
        if _plan_step(plan, index).verifies and state.verdict != "escalated":
            decided = current.status != "open" or state.verdict == "cleared"
            if decided:
                current = replace(current, status="open", by="", at=None, reason="", since=now)
            again.append(index)
        state = state.with_step(index, current)
    where = ", ".join(str(i + 1) for i, _ in event.steps)
    text = f"{event.who} raised the alarm too ({phones}): first on the call list of step {where}"
    if again and state.verdict == "cleared":
        text += "; the clearing is withdrawn: verify again"
        state = replace(state, verdict="", verdict_at=None, verdict_why="")
    elif again:
        text += "; verify them too"
    out.did("joined", SYSTEM, text)
    return state


def _escalate(state: Handling, why: str, now: datetime, out: _Out) -> Handling:
    if state.verdict == "escalated":
        return state
    out.did("verdict", SYSTEM, f"escalated: {why}", "escalated")
    out.actions.append(Alert("escalated", why))
    return replace(state, verdict="escalated", verdict_at=now, verdict_why=why)


def _clear(state: Handling, why: str, now: datetime, out: _Out) -> Handling:
    if state.verdict:
        return state  # escalation stands; cleared once is enough
    out.did("verdict", SYSTEM, f"cleared: {why}", "cleared")
    return replace(state, verdict="cleared", verdict_at=now, verdict_why=why)


def _hand_over(state: Handling, event: HandOver, out: _Out) -> Handling:
    to = event.to.strip()
    if not to or to == event.user:
        raise DeskError("hand over to whom?")
    out.did("handover", event.user, f"handed over to {to}")
    return replace(state, owner=to)


def open_required(plan: Sequence[Step], state: Handling) -> list[int]:
    """Indexes of the required steps still open (steps made needless by a clearing excepted)."""
    return [
        i
        for i, s in enumerate(plan)
        if s.required
        and state.state_of(i).status == "open"
        and not (s.skip_when_cleared and state.verdict == "cleared")
    ]


def _close(plan: Sequence[Step], state: Handling, event: Close, now: datetime, out: _Out) -> Handling:
    reasons = CLOSE_REASONS.get(event.outcome)
    if reasons is None:
        raise DeskError(f"choose an outcome: {', '.join(CLOSE_REASONS)}")
    if event.reason not in reasons:
        raise DeskError(f"choose a reason for '{event.outcome}': {', '.join(reasons.values())}")
    missing = open_required(plan, state)
    if missing:
        steps = ", ".join(str(i + 1) for i in missing)
        raise DeskError(f"required steps not done yet: {steps} (do or skip each, with a reason)")
    out.did("close", event.user, f"closed as {event.outcome}: {reasons[event.reason]}")
    return replace(state, closed_at=now, closed_by=event.user, outcome=event.outcome, reason=event.reason)


def _tick(plan: Sequence[Step], policy: Policy, state: Handling, now: datetime, out: _Out) -> Handling:
    if state.closed_at is not None:
        return state
    if state.owner is None and state.escalated_at is None and now >= state.opened_at + policy.escalate_after:
        seconds = policy.escalate_after.total_seconds()
        text = f"not taken within {seconds:g} s: sent to the supervisors"
        out.actions += [
            Log("escalated", SYSTEM, text),
            Audit(SYSTEM, "escalated_to_supervisors", text),
            Alert("supervisors", text),
        ]
        state = replace(state, escalated_at=now)
    for i, s in enumerate(plan):
        due = _call_deadline(s, i, state)
        if due is not None and now >= due:
            state = _escalate(state, f"step {i + 1}: no answer within {s.answer_within:g} s", now, out)
    return state


def timer_start(state: Handling, index: int) -> datetime:
    """When step ``index``'s call-back timer started: the alarm's opening, or the moment a
    person joined it after it had been decided."""
    return state.state_of(index).since or state.opened_at


def _answered(index: int, state: Handling) -> bool:
    """A correct code word on this step since its timer started."""
    start = timer_start(state, index)
    return any(a.outcome == "ok" and a.at >= start for a in state.state_of(index).attempts)


def _call_deadline(s: Step, index: int, state: Handling) -> datetime | None:
    if not s.verifies or s.answer_within is None or state.verdict:
        return None
    if _answered(index, state):
        return None
    return timer_start(state, index) + timedelta(seconds=s.answer_within)


def next_deadline(plan: Sequence[Step], policy: Policy, state: Handling) -> datetime | None:
    """When ``Tick`` next has something to do; None when nothing is timed any more."""
    if state.closed_at is not None:
        return None
    due = [_call_deadline(s, i, state) for i, s in enumerate(plan)]
    if state.owner is None and state.escalated_at is None:
        due.append(state.opened_at + policy.escalate_after)
    found = [d for d in due if d is not None]
    return min(found) if found else None
