"""The mobile part of an alarm's page: who pressed, where they are (track and map link), the
listen-in, the recordings and the call-back. ``panel`` goes into the alarm page; its live part
is refetched from ``/api/mobile/alarms/{id}/panel`` by ``desk.js`` without reloading the page
(a reload would cut the operator's listen-in)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from receiver.console.context import CENTRE
from receiver.console.render import csrf_field, esc, local
from receiver.desk import Alarm
from receiver.gate import PRINCIPAL
from receiver.mobile.callback import Phase
from receiver.mobile.context import service
from receiver.mobile.operator import alarm_state
from receiver.mobile.service import map_link

__all__ = ["panel", "routes"]

routes = web.RouteTableDef()


def _when(iso: object) -> str:
    return local(datetime.fromisoformat(str(iso))) if iso else "–"


def _form(request: web.Request, alarm: Alarm, fields: dict[str, str], label: str, cls: str = "") -> str:
    hidden = "".join(f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in fields.items())
    action = f"/api/mobile/alarms/{alarm.id}/callback"
    return (f'<form method="post" action="{action}" class="inline callback-form">{csrf_field(request)}'
            f'{hidden}<button class="{cls}">{esc(label)}</button></form>')


def _callback(request: web.Request, alarm: Alarm, state: dict[str, object], mine: bool) -> str:
    callback = state["callback"]
    people = state["people"]
    if not isinstance(callback, dict) or not isinstance(people, list) or not people:
        return ""
    person = people[0]
    svc = service(request)
    config = svc.person(str(person["id"]))
    phase = str(callback["phase"])
    calls = "".join(f"<li>{_when(c['at'])} {esc(c['number'])} ({esc(c['by'])})</li>"
                    for c in callback["calls"])
    head = (f'<section id="callback" class="callback {esc(phase)}" data-phase="{esc(phase)}"'
            f' data-deadline="{esc(callback["deadline"] or "")}"><h3>Call-back</h3>')
    if phase != Phase.WAITING:
        verdict = ("Verified: the person is safe." if phase == Phase.DE_ESCALATED
                   else "HAND TO POLICE NOW.")
        body = (f'<p class="verdict">{esc(verdict)} {esc(callback["outcome"])}'
                f" ({esc(callback['decided_by'])}, {_when(callback['decided_at'])})</p>")
        if phase == Phase.POLICE:
            body += _handover(state, str(person.get("police") or ""))
        return f"{head}{body}<ul class='calls'>{calls}</ul></section>"
    numbers = "".join(
        f'<li><a class="phone" href="tel:{esc(str(n).replace(" ", ""))}">{esc(n)}</a> '
        + (_form(request, alarm, {"action": "dialled", "number": str(n)}, "Dialled") if mine else "")
        + "</li>"
        for n in person["phones"]
    )
    body = (f'<p>Call {esc(person["name"])} back; without an answer by'
            f' <strong class="deadline">{_when(callback["deadline"])}</strong>'
            f' (<span class="countdown"></span>) the alarm goes to the police.</p><ul>{numbers}</ul>')
    if mine and config is not None:
        code = config.code_word.get_secret_value() if config.code_word else "–"
        duress = config.duress_word.get_secret_value() if config.duress_word else "–"
        body += (f'<p>Code word <strong class="codeword">{esc(code)}</strong> · duress word'
                 f' <strong class="duress">{esc(duress)}</strong></p><p class="outcomes">'
                 + _form(request, alarm, {"action": "answered", "word": "code"},
                         "Answered, code word correct", "ok")
                 + _form(request, alarm, {"action": "answered", "word": "duress"}, "Duress word → police",
                         "danger")
                 + _form(request, alarm, {"action": "answered", "word": "wrong"}, "Wrong word → police",
                         "danger")
                 + _form(request, alarm, {"action": "threat"}, "Threat heard → police", "danger")
                 + _form(request, alarm, {"action": "no_answer"}, "No answer → police", "danger")
                 + "</p>")
    return f"{head}{body}<ul class='calls'>{calls}</ul></section>"


def _handover(state: dict[str, object], police: str) -> str:
    track, recordings = state["track"], state["recordings"]
    assert isinstance(track, list) and isinstance(recordings, list)
    where = "Position unknown."
    if track:
        p = track[-1]
        where = (f'Last position <strong class="position">{p["lat"]:.5f}, {p["lon"]:.5f}</strong>'
                 f' ±{p["accuracy"] or 0:.0f} m at {_when(p["at"])}'
                 f' · <a href="{esc(map_link(p["lat"], p["lon"]))}" rel="noopener noreferrer"'
                 ' target="_blank">map</a>')
    heard = ", ".join(f'<a href="{esc(r["url"])}">recording {r["id"]}</a>' for r in recordings
                      if not r["deleted"]) or "no recording"
    dial = f' Police: <a class="phone" href="tel:{esc(police.replace(" ", ""))}">{esc(police)}</a>.' \
        if police else ""
    return f'<div id="handover" class="handover"><p>{where}</p><p>Heard: {heard}.{dial}</p></div>'


def _metres(value: object) -> str:
    return f"±{float(str(value)):.0f} m" if value is not None else "–"


def _percent(value: object) -> str:
    return f"{float(str(value)) * 100:.0f}%" if value is not None else ""


def _track(state: dict[str, object]) -> str:
    track = state["track"]
    assert isinstance(track, list)
    if not track:
        return '<section id="track"><h3>Position</h3><p>No position yet.</p></section>'
    rows = "".join(
        f'<tr data-source="{esc(p["source"])}"><td>{_when(p["at"])}</td>'
        f'<td class="lat">{p["lat"]:.5f}</td><td class="lon">{p["lon"]:.5f}</td>'
        f"<td>{_metres(p['accuracy'])}</td><td>{esc(p['source'])}</td><td>{_percent(p['battery'])}"
        f'</td><td><a href="{esc(map_link(p["lat"], p["lon"]))}" rel="noopener noreferrer"'
        ' target="_blank">map</a></td></tr>'
        for p in reversed(track)
    )
    last = track[-1]
    return (f'<section id="track" data-lat="{last["lat"]}" data-lon="{last["lon"]}"><h3>Position</h3>'
            f'<p class="latest">Latest: <strong>{last["lat"]:.5f}, {last["lon"]:.5f}</strong>'
            f' at {_when(last["at"])}</p>'
            + ('<div id="mobile-map" class="map"></div>' if state.get("tiles") else "")
            + '<table class="track"><thead><tr><th>Time</th><th>Lat</th><th>Lon</th><th>Accuracy</th>'
            f"<th>From</th><th>Battery</th><th></th></tr></thead><tbody>{rows}</tbody></table></section>")


def _recordings(state: dict[str, object]) -> str:
    recordings = state["recordings"]
    assert isinstance(recordings, list)
    items = "".join(
        f'<li data-recording="{r["id"]}">{_when(r["started_at"])}: '
        + ("deleted (retention)" if r["deleted"] else
           "recording…" if r["ended_at"] is None else
           f'{r["seconds"]:.0f} s <audio controls preload="none" src="{esc(r["url"])}"></audio>'
           f' <a href="{esc(r["url"])}?download=1">download</a>')
        + "</li>"
        for r in recordings
    )
    return f'<section id="recordings"><h3>Recordings</h3><ul>{items or "<li>none yet</li>"}</ul></section>'


async def live_part(request: web.Request, alarm: Alarm) -> str:
    state = await alarm_state(request, alarm)
    mine = alarm.is_open and alarm.owner == request[PRINCIPAL].name
    presses = state["presses"]
    assert isinstance(presses, list)
    people = state["people"]
    assert isinstance(people, list)
    who = ", ".join(str(p["name"]) for p in people)
    facts = "".join(
        f"<li>{'Silent press' if p['silent'] else 'Press'} {_when(p['pressed_at'])}"
        + (f", battery {p['battery'] * 100:.0f}%" if p["battery"] is not None else "")
        + (" · microphone on" if p["open"] else f" · microphone off ({esc(p['ended'])})") + "</li>"
        for p in presses
    )
    return (f'<p class="person" id="mobile-person">{esc(who)}</p>'
            f'<ul class="presses" id="mobile-presses">{facts}</ul>'
            + _callback(request, alarm, state, mine) + _track(state) + _recordings(state))


async def panel(request: web.Request, alarm: Alarm) -> str:
    """The section for the alarm page; empty for alarms with neither presses nor positions."""
    svc = service(request)
    if not await svc.alarms.for_alarm(alarm.id) and not await svc.alarms.track(alarm.id, alarm.site):
        return ""
    mine = alarm.is_open and alarm.owner == request[PRINCIPAL].name
    listen = (
        '<div id="listen-in" class="listen"><button type="button" id="listen">Listen in</button>'
        ' <span id="listen-state">not listening</span>'
        ' <meter id="listen-level" min="0" max="1" value="0"></meter></div>'
        if mine else "<p class='hint'>Take the alarm to listen in and call back.</p>" if alarm.is_open else ""
    )
    return (f'<section id="mobile" class="mobile" data-alarm="{alarm.id}" data-open="{int(alarm.is_open)}">'
            f'<h2>Mobile alarm</h2>{listen}<div id="mobile-live">{await live_part(request, alarm)}</div>'
            '</section><link rel="stylesheet" href="/mobile/static/desk.css">'
            '<script src="/mobile/static/desk.js" defer></script>')


@routes.get("/api/mobile/alarms/{alarm}/panel")
async def panel_fragment(request: web.Request) -> web.Response:
    raw = request.match_info["alarm"]
    alarm = await request.app[CENTRE].desk.alarm(int(raw)) if raw.isdigit() else None
    if alarm is None:
        raise web.HTTPNotFound(text="no such alarm")
    return web.Response(text=await live_part(request, alarm), content_type="text/html")
