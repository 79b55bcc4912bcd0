"""The mobile part of an alarm's page, one of the console's alarm sections: who pressed (their
numbers and words), the listen-in, a threat heard on it, what to give the police once the alarm
is escalated, the track (positions, map) and the recordings. The call-back itself is the
plan's call step, above it. The console redraws the section in place on every notice about the
alarm (``{"section": id}`` for positions and recordings); ``data-keep`` nodes (the listen-in
control, a recording being played) survive the redraw, so listening never stops for it."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from receiver.console.context import CENTRE
from receiver.console.render import csrf_field, esc, local
from receiver.desk import Alarm
from receiver.gate import PRINCIPAL
from receiver.mobile.context import service
from receiver.mobile.operator import alarm_state
from receiver.mobile.service import map_link

__all__ = ["ASSETS", "panel"]

#: what the section needs on every alarm page (it may appear with a live update)
ASSETS = ("/mobile/static/desk.css", "/mobile/static/desk.js")

State = dict[str, object]


def _when(iso: object) -> str:
    return local(datetime.fromisoformat(str(iso))) if iso else "–"


def _tel(number: str) -> str:
    return f'<a class="phone" href="tel:{esc(number.replace(" ", ""))}">{esc(number)}</a>'


def _people(request: web.Request, state: State, called: set[str]) -> str:
    people = state["people"]
    assert isinstance(people, list)
    out = []
    for p in people:
        person = service(request).person(str(p["id"]))
        phones = [str(n) for n in p["phones"]]
        words = "code word and duress word: the site's (in the plan)"
        if person is not None and (person.code_word or person.duress_word):
            code = person.code_word.get_secret_value() if person.code_word else "the site's"
            duress = person.duress_word.get_secret_value() if person.duress_word else "the site's"
            words = (f'code word <strong class="codeword">{esc(code)}</strong> · duress word'
                     f' <strong class="codeword duress">{esc(duress)}</strong>')
        missing = "" if called & set(phones) else (
            '<p class="warning">No step of this alarm\'s plan calls them back: call them yourself.</p>')
        out.append(f'<p class="person">Pressed by <strong>{esc(p["name"])}</strong>:'
                   f' {", ".join(_tel(n) for n in phones)} · {words}</p>{missing}')
    return "".join(out)


def _listen(request: web.Request, alarm: Alarm, state: State, mine: bool) -> str:
    if not alarm.is_open:
        return ""
    if not mine:
        return "<p class='hint'>Take the alarm to listen in.</p>"
    threat = "" if state["verdict"] == "escalated" else (
        f'<form method="post" action="/alarms/{alarm.id}/threat" class="inline threat-form">'
        f'{csrf_field(request)}<button class="danger">Threat heard on the listen-in → police</button></form>')
    return (f'<div id="listen-in" class="listen" data-keep="listen-{alarm.id}">'
            '<button type="button" id="listen">Listen in</button>'
            ' <span id="listen-state">not listening</span>'
            ' <meter id="listen-level" min="0" max="1" value="0"></meter></div>' + threat)


def _police(state: State, police: str) -> str:
    if state["verdict"] != "escalated":
        return ""
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
    dial = f" Police: {_tel(police)}." if police else ""
    return (f'<div id="police-info" class="police-info"><h3>For the police</h3><p>{where}</p>'
            f"<p>Heard: {heard}.{dial}</p></div>")


def _metres(value: object) -> str:
    return f"±{float(str(value)):.0f} m" if value is not None else "–"


def _percent(value: object) -> str:
    return f"{float(str(value)) * 100:.0f}%" if value is not None else ""


def _track(state: State) -> str:
    track = state["track"]
    assert isinstance(track, list)
    if not track:
        return '<div id="track"><h3>Position</h3><p>No position yet.</p></div>'
    rows = "".join(
        f'<tr data-source="{esc(p["source"])}" data-key="p{esc(p["at"])}"><td>{_when(p["at"])}</td>'
        f'<td class="lat">{p["lat"]:.5f}</td><td class="lon">{p["lon"]:.5f}</td>'
        f"<td>{_metres(p['accuracy'])}</td><td>{esc(p['source'])}</td><td>{_percent(p['battery'])}"
        f'</td><td><a href="{esc(map_link(p["lat"], p["lon"]))}" rel="noopener noreferrer"'
        ' target="_blank">map</a></td></tr>'
        for p in reversed(track)
    )
    last = track[-1]
    return (f'<div id="track" data-lat="{last["lat"]}" data-lon="{last["lon"]}"><h3>Position</h3>'
            f'<p class="latest">Latest: <strong>{last["lat"]:.5f}, {last["lon"]:.5f}</strong>'
            f' at {_when(last["at"])}</p>'
            + ('<div id="mobile-map" class="map"></div>' if state.get("tiles") else "")
            + '<table class="track"><thead><tr><th>Time</th><th>Lat</th><th>Lon</th><th>Accuracy</th>'
            f"<th>From</th><th>Battery</th><th></th></tr></thead><tbody>{rows}</tbody></table></div>")


def _recordings(state: State) -> str:
    recordings = state["recordings"]
    assert isinstance(recordings, list)
    items = "".join(
        f'<li data-recording="{r["id"]}" data-key="r{r["id"]}-{"live" if r["ended_at"] is None else "done"}">'
        f'{_when(r["started_at"])}: '
        + ("deleted (retention)" if r["deleted"] else
           "recording…" if r["ended_at"] is None else
           f'{r["seconds"]:.0f} s <audio controls preload="none" src="{esc(r["url"])}"'
           f' data-keep="recording-{r["id"]}"></audio> <a href="{esc(r["url"])}?download=1">download</a>')
        + "</li>"
        for r in recordings
    )
    return f'<div id="recordings"><h3>Recordings</h3><ul>{items or "<li>none yet</li>"}</ul></div>'


def _presses(state: State) -> str:
    presses = state["presses"]
    assert isinstance(presses, list)
    return "".join(
        f"<li data-key='m{p['press']}-{int(p['open'])}'>{'Silent press' if p['silent'] else 'Press'}"
        f" {_when(p['pressed_at'])}"
        + (f", battery {p['battery'] * 100:.0f}%" if p["battery"] is not None else "")
        + (" · microphone on" if p["open"] else f" · microphone off ({esc(p['ended'])})") + "</li>"
        for p in presses
    )


async def panel(request: web.Request, alarm: Alarm) -> str:
    """The section for the alarm page; empty for alarms with neither presses nor positions."""
    svc = service(request)
    state = await alarm_state(request, alarm)
    if not state["presses"] and not state["track"]:
        return ""
    plan = await request.app[CENTRE].desk.plan(alarm)
    called = {c.phone for s in plan for c in s.callees}
    police = next((s.phone for s in plan if s.dispatch == "police" and s.phone), "")
    mine = alarm.is_open and alarm.owner == request[PRINCIPAL].name
    title = "Mobile panic button" if state["presses"] else "Position (from the alarm's events)"
    return (f'<div id="mobile" class="mobile" data-alarm="{alarm.id}" data-open="{int(alarm.is_open)}"'
            f' data-tiles="{int(svc.tiles is not None)}"><h2>{title}</h2>'
            f"{_people(request, state, called)}{_listen(request, alarm, state, mine)}"
            f'<ul class="presses" id="mobile-presses">{_presses(state)}</ul>'
            f"{_police(state, police)}{_track(state)}{_recordings(state)}</div>")
