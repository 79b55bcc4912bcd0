"""One alarm on one screen: what happened in what order, evidence, site state, action plan,
and the operator's actions (take, tick a step, note, close)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from receiver.auth import Role
from receiver.console.context import CENTRE, Centre
from receiver.console.render import csrf_field, esc, local, page
from receiver.console.sitestate import site_views
from receiver.desk import OUTCOMES, Alarm, DeskError
from receiver.gate import PRINCIPAL

__all__ = ["routes"]

routes = web.RouteTableDef()
NOBODY = "Nobody handles this alarm yet."
LOOKBACK = timedelta(minutes=10)  # site events shown from this long before the alarm opened


def _alarm_id(request: web.Request) -> int:
    raw = request.match_info["alarm"]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


def _form(request: web.Request, alarm: Alarm, action: str, inner: str, label: str) -> str:
    return (
        f'<form method="post" action="/alarms/{alarm.id}/{action}" class="inline">'
        f"{csrf_field(request)}{inner}<button>{esc(label)}</button></form>"
    )


def _plan(request: web.Request, centre: Centre, alarm: Alarm, mine: bool) -> str:
    account = centre.sites.get(alarm.site)
    steps = []
    for i, step in enumerate(centre.desk.plan(alarm.site)):
        done = i in alarm.steps_done
        phone = f' <a class="phone" href="tel:{esc(step.phone)}">{esc(step.phone)}</a>' if step.phone else ""
        req = "" if step.required else " <small>(optional)</small>"
        tick = (
            "✔ done"
            if done
            else _form(request, alarm, "step", f'<input type="hidden" name="step" value="{i}">', "Done")
            if mine and alarm.is_open
            else ""
        )
        steps.append(
            f'<li class="{"done" if done else "todo"}" data-step="{i}">{esc(step.text)}{phone}{req}'
            f' {tick}</li>'
        )
    contacts = "".join(
        f"<li>{esc(c.role)}: {esc(c.name)} <a class='phone' href='tel:{esc(c.phone)}'>{esc(c.phone)}</a></li>"
        for c in (account.contacts if account else [])
    )
    code_word = account.code_word.get_secret_value() if account and account.code_word else "–"
    return (
        '<section class="plan"><h2>Action plan</h2><ol'
        f' id="plan">{"".join(steps) or "<li>No plan configured</li>"}</ol>'
        f'<p>Code word: <strong class="codeword">{esc(code_word)}</strong></p>'
        f"<h3>Contacts</h3><ul>{contacts or '<li>none configured</li>'}</ul></section>"
    )


def _actions(request: web.Request, alarm: Alarm) -> str:
    user = request[PRINCIPAL]
    if not alarm.is_open:
        return (
            f'<p class="closed">Closed {local(alarm.closed_at)} by {esc(alarm.closed_by)}'
            f" as <strong>{esc(alarm.outcome)}</strong>.</p>"
        )
    if alarm.owner != user.name:
        label = "Take over" if alarm.owner else "Take"
        if alarm.owner and not user.may(Role.SUPERVISOR):
            return f'<p class="owner">Taken by {esc(alarm.owner)}.</p>'
        return (
            f'<p class="owner">{f"Taken by {esc(alarm.owner)}" if alarm.owner else NOBODY}</p>'
            + _form(request, alarm, "take", "", label)
        )
    options = "".join(f'<option value="{o}">{o}</option>' for o in OUTCOMES)
    return '<p class="owner">You handle this alarm.</p>' + _form(
        request,
        alarm,
        "close",
        f'<label>Outcome <select name="outcome">{options}</select></label>',
        "Close alarm",
    )


async def _timeline(centre: Centre, alarm: Alarm) -> str:
    log = await centre.desk.log(alarm.id)
    events = await centre.store.history(alarm.site, since=alarm.opened_at - LOOKBACK, limit=200)
    joined = {e.event for e in log if e.event is not None}
    rows = [
        (
            e.received_at,
            f'<tr class="event{" joined" if e.id in joined else ""}"><td>{local(e.received_at)}</td>'
            f"<td>event</td><td>{esc(e.code)}"
            f" {esc(e.zone or '')}</td><td><code>{esc(e.data)}</code></td></tr>",
        )
        for e in events
    ]
    rows += [
        (
            e.at,
            f'<tr class="log {esc(e.kind)}"><td>{local(e.at)}</td><td>{esc(e.kind)}</td><td>{esc(e.who)}</td>'
            f"<td>{esc(e.text)}</td></tr>",
        )
        for e in log
        if e.event is None or e.kind in ("opened",)
    ]
    rows.sort(key=lambda r: r[0])
    return (
        '<section><h2>Timeline</h2><table'
        ' id="timeline"><thead><tr><th>Time</th><th>What</th><th></th><th></th></tr>'
        f"</thead><tbody>{''.join(r for _, r in rows)}</tbody></table></section>"
    )


async def _evidence(centre: Centre, alarm: Alarm) -> str:
    items = await centre.evidence.for_site(alarm.site, alarm.opened_at - LOOKBACK)
    if not items:
        return "<section><h2>Evidence</h2><p>No snapshots received.</p></section>"
    imgs = "".join(
        f'<figure><a href="/api/evidence/{e.id}"><img src="/api/evidence/{e.id}" alt="snapshot {e.id}" '
        f'width="240"></a><figcaption>{local(e.received_at)} {esc(e.ref)}</figcaption></figure>'
        for e in items
    )
    return f'<section><h2>Evidence</h2><div class="evidence">{imgs}</div></section>'


@routes.get("/alarms/{alarm}")
async def alarm_page(request: web.Request) -> web.Response:
    centre = request.app[CENTRE]
    alarm = await centre.desk.alarm(_alarm_id(request))
    if alarm is None:
        raise web.HTTPNotFound(text="no such alarm")
    mine = alarm.owner == request[PRINCIPAL].name
    views = await site_views(centre, alarm.site)
    view = views[0] if views else None
    state = (
        "<p class='site-state'>Site state unknown (not configured).</p>"
        if view is None
        else f'<p class="site-state">Site <a href="/sites/{esc(alarm.site)}">{esc(alarm.site)}</a>'
        f" {esc(view.name)}: "
        f'<span class="{"online" if view.online else "offline"}">'
        f"{'online' if view.online else 'OFFLINE'}</span>, "
        f"{esc(view.armed)}, last poll {local(view.last_poll)}, last heard {local(view.last_heard)}</p>"
    )
    note_form = _form(
        request, alarm, "note", '<textarea name="text" rows="2" required></textarea>', "Add note"
    )
    status = f"restored {local(alarm.restored_at)}" if alarm.restored_at else "active"
    panels = "".join([await panel(request, alarm) for panel in centre.alarm_panels])
    body = (
        f'<div class="alarm-head p{int(alarm.priority)}" id="alarm" data-id="{alarm.id}">'
        f"<p>Priority {int(alarm.priority)} · opened {local(alarm.opened_at)} · {esc(status)}"
        f"{' · cancelled by user' if alarm.cancelled else ''}</p>{state}{_actions(request, alarm)}</div>"
        f'<div class="columns"><div>{_plan(request, centre, alarm, mine)}'
        f"<section><h2>Notes</h2>{note_form}</section></div>"
        f"<div>{panels}{await _evidence(centre, alarm)}{await _timeline(centre, alarm)}</div></div>"
    )
    return page(request, f"Alarm {alarm.id}: {alarm.title}", body)


async def _act(request: web.Request) -> web.StreamResponse:
    centre, user, alarm_id = request.app[CENTRE], request[PRINCIPAL], _alarm_id(request)
    form = await request.post()
    action = request.match_info["action"]
    try:
        if action == "take":
            await centre.desk.take(alarm_id, user.name, override=user.may(Role.SUPERVISOR))
        elif action == "step":
            raw = str(form.get("step", ""))
            if not raw.isdigit():
                raise DeskError("which step?")
            await centre.desk.check_step(alarm_id, user.name, int(raw))
        elif action == "note":
            await centre.desk.note(alarm_id, user.name, str(form.get("text", "")))
        elif action == "close":
            await centre.desk.close(alarm_id, user.name, str(form.get("outcome", "")))
        else:
            raise web.HTTPNotFound()
    except DeskError as exc:
        return page(
            request,
            "Not done",
            f'<p class="error" role="alert">{esc(exc)}</p>'
            f'<p><a href="/alarms/{alarm_id}">Back to the alarm</a></p>',
            status=409,
        )
    raise web.HTTPSeeOther(f"/alarms/{alarm_id}")


routes.post("/alarms/{alarm}/{action}")(_act)
