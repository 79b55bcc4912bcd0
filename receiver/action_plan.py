"""An alarm's action plan as the alarm keeps it: the configured steps (``config.receiver.PlanStep``)
copied when the alarm opens, each call step's list resolved to numbers in calling order.
``receiver/handling.py`` works through it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from config.receiver import Contact, PlanStep

__all__ = ["ROLES", "Callee", "Step", "resolve_plan", "with_person"]

ROLES = ("site", "official", "keyholder", "police", "fire_brigade", "guard", "other")


@dataclass(frozen=True)
class Callee:
    """One number of one contact on a call list."""

    name: str
    role: str
    phone: str


@dataclass(frozen=True)
class Step:
    """A plan step as the alarm keeps it: copied when the alarm opens, callees resolved."""

    text: str
    kind: Literal["check", "call", "dispatch"] = "check"
    required: bool = True
    callees: tuple[Callee, ...] = ()
    targets: tuple[str, ...] = ()  # as configured (person, official, a name)
    verifies: bool = False
    answer_within: float | None = None  # seconds after the alarm opened
    dispatch: str = ""
    skip_when_cleared: bool = False
    phone: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"text": self.text, "kind": self.kind, "required": self.required}
        if self.callees:
            out["callees"] = [[c.name, c.role, c.phone] for c in self.callees]
        for key in ("targets", "verifies", "answer_within", "dispatch", "skip_when_cleared", "phone"):
            value = getattr(self, key)
            if value:
                out[key] = list(value) if key == "targets" else value
        return out

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Step:
        return cls(
            text=str(raw["text"]),
            kind=raw.get("kind", "check"),
            required=bool(raw.get("required", True)),
            callees=tuple(Callee(*c) for c in raw.get("callees", ())),
            targets=tuple(raw.get("targets", ())),
            verifies=bool(raw.get("verifies", False)),
            answer_within=raw.get("answer_within"),
            dispatch=str(raw.get("dispatch", "")),
            skip_when_cleared=bool(raw.get("skip_when_cleared", False)),
            phone=str(raw.get("phone", "")),
        )


def _numbers(contact: Contact) -> list[Callee]:
    return [Callee(contact.name, contact.role, p) for p in (contact.phone, contact.alt_phone) if p]


def resolve_plan(
    plan: Sequence[PlanStep], contacts: Sequence[Contact], person: Contact | None
) -> tuple[Step, ...]:
    """Each call step's list of numbers, in order: ``person`` is whoever raised the alarm (a
    mobile panic button's owner); roles and names pick the site's contacts."""
    steps = []
    for p in plan:
        callees: list[Callee] = []
        for target in p.call:
            if target == "person":
                found = [person] if person is not None else []
            elif target in ROLES:
                found = [c for c in contacts if c.role == target]
            else:
                found = [c for c in contacts if c.name == target]
            for number in (n for c in found for n in _numbers(c)):
                if all(number.phone != c.phone for c in callees):  # each number called once
                    callees.append(number)
        kind: Literal["check", "call", "dispatch"] = (
            "call" if p.call else "dispatch" if p.dispatch else "check"
        )
        steps.append(
            Step(
                text=p.text,
                kind=kind,
                required=p.required,
                callees=tuple(callees),
                targets=tuple(p.call),
                verifies=p.verifies,
                answer_within=p.answer_within.total_seconds() if p.answer_within else None,
                dispatch=p.dispatch,
                skip_when_cleared=p.skip_when_cleared,
                phone=p.phone,
            )
        )
    return tuple(steps)


def with_person(
    plan: Sequence[Step], person: Contact
) -> tuple[tuple[Step, ...], tuple[tuple[int, int], ...]]:
    """The plan of an open alarm that ``person`` raised again (or joined with an alarm of their
    own): their numbers at the head of every step that calls ``person``, so whoever pressed last
    is called first; a number already on that list stays where it is. Returns the plan and,
    for each such step, (its index, how many numbers were put at its head)."""
    steps, changed = list(plan), []
    for i, s in enumerate(plan):
        if "person" not in s.targets:
            continue
        new = [n for n in _numbers(person) if all(n.phone != c.phone for c in s.callees)]
        steps[i] = replace(s, callees=(*new, *s.callees))
        changed.append((i, len(new)))
    return tuple(steps), tuple(changed)
