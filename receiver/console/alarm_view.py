"""One alarm on one screen (its parts: ``receiver/console/alarm_parts.py``), updated in place,
and the operator's actions on it: acknowledge, take, do or skip a step, record a call's
outcome, a threat heard on the listen-in, note, close."""

from __future__ import annotations

from aiohttp import web

from receiver.auth import Role
from receiver.console.alarm_parts import PARTS, load, render_parts
from receiver.console.context import CENTRE
from receiver.console.render import esc, page
from receiver.desk import Alarm, AlarmDesk, DeskError
from receiver.gate import PRINCIPAL

__all__ = ["routes"]

routes = web.RouteTableDef()


def _alarm_id(request: web.Request) -> int:
    raw = request.match_info["alarm"]
    if not raw.isdigit():
        raise web.HTTPNotFound()
    return int(raw)


async def _alarm(request: web.Request) -> Alarm:
    alarm = await request.app[CENTRE].desk.alarm(_alarm_id(request))
    if alarm is None:
        raise web.HTTPNotFound(text="no such alarm")
    return alarm


def _section(name: str, html: str) -> str:
    extra = ' id="alarm-extensions"' if name == "more" else ""
    return f'<section data-part="{name}"{extra} class="part-{name}">{html}</section>'


@routes.get("/alarms/{alarm}")
async def alarm_page(request: web.Request) -> web.Response:
    centre, alarm = request.app[CENTRE], await _alarm(request)
    parts = await render_parts(await load(centre, request, alarm))
    s = {name: _section(name, parts[name]) for name in PARTS}
    body = (
        f'<div id="alarm" data-id="{alarm.id}" data-site="{esc(alarm.site)}"'
        f' data-parts="/alarms/{alarm.id}/parts">'
        f'{s["head"]}{s["others"]}{s["more"]}<div class="columns">'
        f'<div>{s["plan"]}{s["work"]}{s["notes"]}</div>'
        f"<div>{s['evidence']}{s['timeline']}{s['site']}</div></div></div>"
        '<dialog id="viewer"><img alt=""><p class="caption"></p><button type="button" class="close">Close'
        "</button></dialog>"
    ) + "".join(
        f'<link rel="stylesheet" href="{esc(url)}">'
        if url.endswith(".css")
        else f'<script src="{esc(url)}" defer></script>'
        for url in centre.alarm_assets
    )
    return page(request, f"Alarm {alarm.id}: {alarm.priority.label} at {alarm.site}", body)


@routes.get("/alarms/{alarm}/parts")
async def alarm_parts(request: web.Request) -> web.Response:
    centre, alarm = request.app[CENTRE], await _alarm(request)
    return web.json_response(await render_parts(await load(centre, request, alarm)))


def _number(form: object, name: str) -> int:
    raw = str(form.get(name, ""))  # type: ignore[attr-defined]
    if not raw.isdigit() or len(raw) > 3:
        raise DeskError(f"which {name}?")
    return int(raw)


async def _apply(
    desk: AlarmDesk, action: str, alarm_id: int, user: str, supervisor: bool, form: object
) -> None:
    get = form.get  # type: ignore[attr-defined]
    if action == "ack":
        await desk.ack(alarm_id, user)
    elif action == "take":
        await desk.take(alarm_id, user, override=supervisor)
    elif action == "step":
        await desk.check_step(alarm_id, user, _number(form, "step"))
    elif action == "skip":
        await desk.skip_step(alarm_id, user, _number(form, "step"), str(get("reason", "")))
    elif action == "call":
        outcome, phone = str(get("outcome", "")), str(get("phone", ""))[:40]
        await desk.call_outcome(
            alarm_id, user, _number(form, "step"), _number(form, "callee"), outcome, phone
        )
    elif action == "threat":
        await desk.threat_heard(alarm_id, user)
    elif action == "note":
        await desk.note(alarm_id, user, str(get("text", "")))
    elif action == "close":
        await desk.close(alarm_id, user, str(get("outcome", "")), str(get("reason", "")))
    else:
        raise web.HTTPNotFound()


@routes.post("/alarms/{alarm}/{action}")
async def act(request: web.Request) -> web.StreamResponse:
    centre, user, alarm_id = request.app[CENTRE], request[PRINCIPAL], _alarm_id(request)
    form = await request.post()
    wants_json = "application/json" in request.headers.get("Accept", "")
    try:
        await _apply(
            centre.desk, request.match_info["action"], alarm_id, user.name, user.may(Role.SUPERVISOR), form
        )
    except DeskError as exc:
        if wants_json:
            return web.json_response({"error": str(exc)}, status=409)
        return page(
            request,
            "Not done",
            f'<p class="error" role="alert">{esc(exc)}</p>'
            f'<p><a href="/alarms/{alarm_id}">Back to the alarm</a></p>',
            status=409,
        )
    if wants_json:
        return web.json_response({"ok": True})
    raise web.HTTPSeeOther(f"/alarms/{alarm_id}")
