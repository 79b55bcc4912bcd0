"""The action plan of one alarm on screen: steps with their state, call lists with a form per
number to record the outcome, timers, skip with a reason, and the close form (outcome and
reason code, nothing chosen in advance)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiohttp import web

from receiver.action_plan import Step
from receiver.console.render import csrf_field, esc, hms
from receiver.desk import Alarm
from receiver.handling import (
    CALL_OUTCOMES,
    CLOSE_REASONS,
    Handling,
    StepState,
    open_required,
    timer_start,
)
from receiver.sitebook import SiteEntry

__all__ = ["close_form", "plan_section"]

DISPATCH = {"police": "police", "fire_brigade": "fire brigade", "ambulance": "ambulance", "guard": "guard"}


def _form(
    request: web.Request, alarm: Alarm, action: str, inner: str, label: str, cls: str = "inline"
) -> str:
    return (
        f'<form method="post" action="/alarms/{alarm.id}/{action}" class="{cls}">'
        f"{csrf_field(request)}{inner}<button>{esc(label)}</button></form>"
    )


def _done_words(state: StepState) -> str:
    when = hms(state.at)
    if state.status == "done":
        return f'<span class="step-state">✔ done by {esc(state.by)} {when}</span>'
    if state.status == "skipped":
        return f'<span class="step-state">skipped by {esc(state.by)} {when}: {esc(state.reason)}</span>'
    return ""


def _timer(step: Step, index: int, h: Handling, now: datetime) -> str:
    if not step.verifies or step.answer_within is None:
        return ""
    start = timer_start(h, index)
    due = start + timedelta(seconds=step.answer_within)
    since = "opening" if start == h.opened_at else f"{hms(start)} (joined)"
    if h.verdict:
        return f'<p class="timer">answer within {step.answer_within:g} s of {since} (until {hms(due)})</p>'
    left = (due - now).total_seconds()
    return (
        f'<p class="timer running" data-deadline="{esc(due.isoformat())}">No answer by'
        f' {hms(due)} → escalate: <strong class="left">{max(0, int(left))} s</strong> left</p>'
    )


def _call_list(
    request: web.Request, alarm: Alarm, index: int, step: Step, state: StepState, active: bool
) -> str:
    if not step.callees:
        who = esc(", ".join(step.targets))
        return f'<p class="warning">Nobody to call: no contact for {who} in the site book.</p>'
    options = '<option value="">how did it go?</option>' + "".join(
        f'<option value="{k}">{esc(v)}</option>' for k, v in CALL_OUTCOMES.items()
    )
    rows = []
    for n, callee in enumerate(step.callees):
        tried = "".join(
            f'<li class="attempt {esc(a.outcome)}">{hms(a.at)} {esc(CALL_OUTCOMES[a.outcome])}'
            f" ({esc(a.by)})</li>"
            for a in state.attempts
            if a.callee == n
        )
        record = (
            _form(
                request,
                alarm,
                "call",
                f'<input type="hidden" name="step" value="{index}">'
                f'<input type="hidden" name="callee" value="{n}">'
                f'<input type="hidden" name="phone" value="{esc(callee.phone)}">'
                f'<select name="outcome" required aria-label="outcome of the call to {esc(callee.name)}">'
                f"{options}</select>",
                "Record",
            )
            if active
            else ""
        )
        rows.append(
            f'<tr data-callee="{n}" data-key="c{index}-{esc(callee.phone)}"><td>{n + 1}.</td>'
            f"<td>{esc(callee.name)} <small>({esc(callee.role)})</small></td>"
            f'<td><a class="phone" href="tel:{esc(callee.phone)}">{esc(callee.phone)}</a></td>'
            f'<td><ul class="attempts">{tried}</ul>{record}</td></tr>'
        )
    return f'<table class="call-list"><tbody>{"".join(rows)}</tbody></table>'


def _step(
    request: web.Request, alarm: Alarm, index: int, step: Step, h: Handling, mine: bool, now: datetime
) -> str:
    state = h.state_of(index)
    needless = step.skip_when_cleared and h.verdict == "cleared" and state.status == "open"
    urgent = step.dispatch and step.skip_when_cleared and h.verdict == "escalated" and state.status == "open"
    active = mine and alarm.is_open and state.status == "open" and not needless
    classes = [state.status, step.kind] + (["needless"] if needless else []) + (["urgent"] if urgent else [])
    what = {"call": "Call", "dispatch": f"Pass to {DISPATCH.get(step.dispatch, step.dispatch)}", "check": ""}[
        step.kind
    ]
    req = "" if step.required else " <small>(optional)</small>"
    phone = f' <a class="phone" href="tel:{esc(step.phone)}">{esc(step.phone)}</a>' if step.phone else ""
    verifies = ' <small class="verifies">decides: cleared or escalated</small>' if step.verifies else ""
    status = _done_words(state)
    if needless:
        status = f'<span class="step-state">not needed: cleared ({esc(h.verdict_why)})</span>'
    elif urgent:
        status = '<strong class="now">NEEDED NOW</strong>'
    buttons = ""
    if active:
        done = (
            ""
            if step.verifies
            else _form(request, alarm, "step", f'<input type="hidden" name="step" value="{index}">', "Done")
        )
        skip = _form(
            request,
            alarm,
            "skip",
            f'<input type="hidden" name="step" value="{index}"><input name="reason" required'
            f' maxlength="200" placeholder="why skip?" aria-label="why skip step {index + 1}">',
            "Skip",
        )
        buttons = f'<div class="step-actions">{done}{skip}</div>'
    can_record = mine and alarm.is_open and state.status == "open"
    body = _call_list(request, alarm, index, step, state, can_record) if step.kind == "call" else ""
    return (
        f'<li class="{" ".join(classes)}" data-step="{index}" data-key="s{index}-{state.status}">'
        f'<div class="step-head"><span class="kind">{esc(what)}</span>'
        f' <span class="text">{esc(step.text)}</span>{phone}{req}{verifies}'
        f" {status}</div>{_timer(step, index, h, now)}{body}{buttons}</li>"
    )


def plan_section(
    request: web.Request, alarm: Alarm, plan: tuple[Step, ...], entry: SiteEntry, mine: bool, now: datetime
) -> str:
    h = alarm.handling
    steps = "".join(_step(request, alarm, i, s, h, mine, now) for i, s in enumerate(plan))
    verdict = ""
    if h.verdict == "escalated":
        verdict = f'<p class="verdict escalated">ESCALATED {hms(h.verdict_at)}: {esc(h.verdict_why)}</p>'
    elif h.verdict == "cleared":
        verdict = f'<p class="verdict cleared">Cleared {hms(h.verdict_at)}: {esc(h.verdict_why)}</p>'
    words = (
        f'<p class="words">Code word: <strong class="codeword">{esc(entry.code_word or "–")}</strong>'
        f' · duress word: <strong class="codeword duress">{esc(entry.duress_word or "–")}</strong></p>'
    )
    hint = "" if mine or not alarm.is_open else '<p class="hint">Take the alarm to work its plan.</p>'
    return (
        f"<h2>Action plan: {esc(alarm.response.label)}</h2>{words}{verdict}{hint}"
        f'<ol id="plan">{steps or "<li>No plan configured</li>"}</ol>'
    )


def close_form(request: web.Request, alarm: Alarm, plan: tuple[Step, ...]) -> str:
    missing = open_required(plan, alarm.handling)
    steps = ", ".join(str(i + 1) for i in missing)
    todo = f'<p class="hint">Still to do or skip before closing: step {steps}.</p>' if missing else ""
    outcomes = '<option value="">choose…</option>' + "".join(
        f'<option value="{o}">{o}</option>' for o in CLOSE_REASONS
    )
    reasons = '<option value="">choose…</option>' + "".join(
        f'<optgroup label="{o}">'
        + "".join(f'<option value="{k}" data-outcome="{o}">{esc(v)}</option>' for k, v in rs.items())
        + "</optgroup>"
        for o, rs in CLOSE_REASONS.items()
    )
    inner = (
        f'<label>Outcome <select name="outcome" required>{outcomes}</select></label> '
        f'<label>Reason <select name="reason" required>{reasons}</select></label> '
    )
    return f"<h2>Close</h2>{todo}" + _form(request, alarm, "close", inner, "Close alarm", cls="close-form")
