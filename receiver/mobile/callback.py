"""The call-back step of a mobile alarm, as a pure core: ``step(state, input, now)``.

The operator calls the person back on their numbers (a ``tel:`` link) and asks for the code
word. Outcomes: the code word, correct -> de-escalate (the operator still closes the alarm);
the duress word, a wrong word, or a threat heard -> police; no answer by the deadline (stored,
``answer_within`` after the alarm opened) -> police, by the timer, also when nobody acts. The
shell stores the state as JSON and wakes ``step`` with ``Tick`` at ``state.deadline``.

Meant to be bound to the console's action-plan workflow (a call step with outcomes): the
surface is ``start``, ``step``, the inputs and the actions, nothing else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

__all__ = [
    "Answered",
    "Audit",
    "CallBack",
    "CallBackError",
    "DeEscalate",
    "Dialled",
    "HandToPolice",
    "Input",
    "NoAnswer",
    "Phase",
    "ThreatHeard",
    "Tick",
    "start",
    "step",
]


class Phase(StrEnum):
    WAITING = "waiting"  # not decided: calling, or about to
    DE_ESCALATED = "de-escalated"
    POLICE = "police"


class CallBackError(ValueError):
    """An input the state does not allow; the text is shown to the operator."""


@dataclass(frozen=True)
class CallBack:
    alarm: int
    person: str
    phones: tuple[str, ...]
    opened_at: datetime
    deadline: datetime | None  # the next moment ``Tick`` must be given; None once decided
    phase: Phase = Phase.WAITING
    calls: tuple[tuple[datetime, str, str], ...] = ()  # (when, number, operator)
    outcome: str = ""
    decided_at: datetime | None = None
    decided_by: str = ""

    def to_json(self) -> str:
        def iso(t: datetime | None) -> str | None:
            return t.isoformat() if t else None

        return json.dumps({
            "alarm": self.alarm, "person": self.person, "phones": list(self.phones),
            "opened_at": iso(self.opened_at), "deadline": iso(self.deadline), "phase": self.phase.value,
            "calls": [[iso(at), n, by] for at, n, by in self.calls], "outcome": self.outcome,
            "decided_at": iso(self.decided_at), "decided_by": self.decided_by,
        })

    @classmethod
    def from_json(cls, text: str) -> CallBack:
        d = json.loads(text)

        def t(v: str | None) -> datetime | None:
            return datetime.fromisoformat(v) if v else None

        opened = t(d["opened_at"])
        assert opened is not None
        return cls(int(d["alarm"]), str(d["person"]), tuple(d["phones"]), opened, t(d["deadline"]),
                   Phase(d["phase"]), tuple((datetime.fromisoformat(a), n, b) for a, n, b in d["calls"]),
                   str(d["outcome"]), t(d["decided_at"]), str(d["decided_by"]))


# -- inputs ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dialled:
    number: str
    by: str


@dataclass(frozen=True)
class Answered:
    """The person answered and said a word: the code word (``word="code"``), the duress word
    (``"duress"``), or something else (``"wrong"``)."""

    word: str
    by: str


@dataclass(frozen=True)
class ThreatHeard:
    by: str


@dataclass(frozen=True)
class NoAnswer:
    """The operator gives up calling before the deadline."""

    by: str


@dataclass(frozen=True)
class Tick:
    """Time passed; the shell gives it at ``state.deadline``."""


Input = Dialled | Answered | ThreatHeard | NoAnswer | Tick


# -- actions --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Audit:
    who: str
    action: str
    detail: str


@dataclass(frozen=True)
class HandToPolice:
    """Pass the alarm to the police now, with the latest position and the recording."""

    reason: str
    by: str


@dataclass(frozen=True)
class DeEscalate:
    by: str


Action = Audit | HandToPolice | DeEscalate

_WORDS = {"code": "code word correct", "duress": "duress word", "wrong": "wrong code word"}


def start(alarm: int, person: str, phones: tuple[str, ...], opened_at: datetime,
          answer_within: timedelta) -> CallBack:
    """The call-back of a new alarm: the timer runs from the moment the alarm opened."""
    return CallBack(alarm, person, phones, opened_at, opened_at + answer_within)


def _decide(
    state: CallBack, phase: Phase, outcome: str, by: str, now: datetime
) -> tuple[CallBack, tuple[Action, ...]]:
    done = replace(state, phase=phase, outcome=outcome, deadline=None, decided_at=now, decided_by=by)
    act: Action = HandToPolice(outcome, by) if phase is Phase.POLICE else DeEscalate(by)
    verb = "police" if phase is Phase.POLICE else "de-escalate"
    return done, (Audit(by, f"callback_{verb.replace('-', '')}", outcome), act)


def step(state: CallBack, event: Input, now: datetime) -> tuple[CallBack, tuple[Action, ...]]:
    """The state after ``event`` at ``now`` and what to do about it."""
    if state.phase is not Phase.WAITING:
        if isinstance(event, Tick):
            return state, ()
        raise CallBackError(f"the call-back was decided already ({state.outcome}, by {state.decided_by})")
    if state.deadline is not None and now >= state.deadline:
        # whatever arrives after the deadline: the timer decided first
        done, actions = _decide(state, Phase.POLICE, "no answer in time", "timer", state.deadline)
        if isinstance(event, Tick):
            return done, actions
        raise CallBackError("no answer in time: the alarm went to the police already")
    match event:
        case Tick():
            return state, ()
        case Dialled(number, by):
            if number not in state.phones:
                raise CallBackError(f"{number} is not one of {state.person}'s numbers")
            calls = (*state.calls, (now, number, by))
            return replace(state, calls=calls), (Audit(by, "callback_dialled", number),)
        case Answered(word, by):
            if word not in _WORDS:
                raise CallBackError(f"answered with what? one of {', '.join(_WORDS)}")
            phase = Phase.DE_ESCALATED if word == "code" else Phase.POLICE
            return _decide(state, phase, f"answered, {_WORDS[word]}", by, now)
        case ThreatHeard(by):
            return _decide(state, Phase.POLICE, "threat heard", by, now)
        case NoAnswer(by):
            return _decide(state, Phase.POLICE, "no answer", by, now)
    raise CallBackError(f"unknown input {event!r}")
