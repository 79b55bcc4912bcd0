"""What the phone reaches under ``/mobile/``: the web app (page, manifest, service worker,
scripts) and the device API (enrol, press, positions, audio). The console's gate lets
``/mobile/`` through; every device call here checks the device's own token.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from pathlib import Path

from aiohttp import WSMsgType, web
from pydantic import BaseModel, ConfigDict, Field

from receiver.mobile.context import device_of, json_body, service
from receiver.mobile.devices import EnrolmentError
from receiver.mobile.listen import Stream, StreamRefused
from receiver.mobile.presses import PositionIn, PressIn, valid_key

__all__ = ["routes"]

log = logging.getLogger(__name__)
routes = web.RouteTableDef()
STATIC = Path(__file__).resolve().parent / "static"

HELLO_WITHIN = 5.0  # seconds for a phone to name itself on the audio socket
IDLE_AFTER = 15.0  # seconds without audio before the socket is closed (the phone reconnects)
MAX_CHUNK = 4096  # bytes of audio per message (the app sends 320)

APP_HTML = """<!doctype html><html lang="nl"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#1b1b1f"><title>Noodknop</title>
<link rel="manifest" href="/mobile/manifest.webmanifest">
<link rel="icon" href="/mobile/static/icon-192.png">
<link rel="apple-touch-icon" href="/mobile/static/icon-192.png">
<link rel="stylesheet" href="/mobile/static/app.css">
<script src="/mobile/static/outbox.js" defer></script>
<script src="/mobile/static/app.js" defer></script></head>
<body data-state="loading" data-mic="off">
<main>
<section id="enrol" class="screen"><h1>Noodknop</h1><p id="enrol-text">Deze telefoon is nog niet
gekoppeld. Open de koppellink die u van de meldkamer kreeg.</p></section>
<section id="ready" class="screen"><p class="who" id="who"></p>
<button id="panic" type="button" aria-describedby="hint"><span class="ring"></span>
<span class="label">NOOD</span></button>
<p id="hint" class="hint">Houd 1 seconde ingedrukt</p></section>
<section id="sent" class="screen"><h1 id="sent-title">Alarm verstuurd</h1>
<p id="sent-text">De meldkamer is gewaarschuwd en belt u terug.</p>
<p id="mic" class="mic" hidden>● Microfoon aan: de meldkamer luistert mee</p>
<p id="where" class="where"></p></section>
<p id="status" class="status" role="status"></p>
</main></body></html>"""


def _manifest() -> dict[str, object]:
    return {
        "name": "Wachter noodknop", "short_name": "Noodknop", "lang": "nl",
        "start_url": "/mobile/", "scope": "/mobile/", "display": "standalone",
        "background_color": "#1b1b1f", "theme_color": "#1b1b1f",
        "icons": [{"src": f"/mobile/static/icon-{n}.png", "sizes": f"{n}x{n}", "type": "image/png",
                   "purpose": "any maskable"} for n in (192, 512)],
    }


@routes.get("/mobile/")
async def app_page(_request: web.Request) -> web.Response:
    return web.Response(text=APP_HTML, content_type="text/html")


@routes.get("/mobile/enrol")
async def enrol_page(_request: web.Request) -> web.Response:
    """The one-time link lands here; its secret stays in the fragment (never sent, never logged)."""
    return web.Response(text=APP_HTML, content_type="text/html")


@routes.get("/mobile/manifest.webmanifest")
async def manifest(_request: web.Request) -> web.Response:
    return web.Response(text=json.dumps(_manifest()), content_type="application/manifest+json")


@routes.get("/mobile/sw.js")
async def service_worker(_request: web.Request) -> web.Response:
    """At /mobile/ so that its scope is the whole app; never cached by HTTP (updates land)."""
    return web.Response(body=(STATIC / "sw.js").read_bytes(), content_type="text/javascript",
                        headers={"Cache-Control": "no-cache"})


class EnrolIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    secret: str = Field(max_length=100)


def _config(request: web.Request, silent: bool, person: str) -> dict[str, object]:
    mobile = service(request).config
    return {"silent": silent, "person": person, "mic_limit_s": mobile.mic_limit.total_seconds()}


@routes.post("/mobile/api/enrol")
async def enrol(request: web.Request) -> web.Response:
    if not service(request).limits.enrols.take(str(request.remote)):
        raise web.HTTPTooManyRequests(text="too many enrolment attempts; wait ten minutes")
    body: EnrolIn = await json_body(request, EnrolIn)
    svc = service(request)
    try:
        device, token = await svc.registry.redeem(body.secret, peer=str(request.remote))
    except EnrolmentError as exc:
        raise web.HTTPGone(text=str(exc)) from None
    person = svc.person(device.person)
    return web.json_response({"token": token, "device": device.id,
                              **_config(request, device.silent, person.name if person else device.person)},
                             status=201)


@routes.get("/mobile/api/me")
async def me(request: web.Request) -> web.Response:
    device = await device_of(request, "status")
    svc = service(request)
    person = svc.person(device.person)
    open_press = next((p for p in await svc.alarms.open_presses() if p.device == device.id), None)
    return web.json_response({
        "device": device.id, **_config(request, device.silent, person.name if person else device.person),
        "open_press": {"key": open_press.key, **open_press.as_json()} if open_press else None,
    })


@routes.post("/mobile/api/press")
async def press(request: web.Request) -> web.Response:
    """201 once the press is committed (the phone deletes it from its queue only then), 200 for
    a press that was recorded before (a retry)."""
    device = await device_of(request, "press")
    body: PressIn = await json_body(request, PressIn)
    svc = service(request)
    known = await svc.alarms.by_key(device.id, body.key)
    if known is None and not svc.limits.presses.take(str(device.id)):
        raise web.HTTPTooManyRequests(text="too many presses in a minute")
    row, duplicate = await svc.alarms.press(device, body, peer=str(request.remote))
    return web.json_response({"stored": True, "duplicate": duplicate, **row.as_json()},
                             status=200 if duplicate else 201)


class PositionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    positions: list[PositionIn] = Field(max_length=50)


@routes.post("/mobile/api/press/{key}/positions")
async def positions(request: web.Request) -> web.Response:
    device = await device_of(request, "position")
    key = request.match_info["key"]
    if not valid_key(key):
        raise web.HTTPNotFound(text="no such press")
    if not service(request).limits.positions.take(str(device.id)):
        raise web.HTTPTooManyRequests(text="positions too often")
    body: PositionsIn = await json_body(request, PositionsIn)
    svc = service(request)
    row = await svc.alarms.by_key(device.id, key)
    if row is None:
        raise web.HTTPConflict(text="send the press first")
    stored = await svc.alarms.add_positions(row, body.positions) if row.open else 0
    if stored:
        svc.section_changed(row.alarm)
    return web.json_response({"stored": stored, "open": row.open})


@routes.get("/mobile/api/audio")
async def audio(request: web.Request) -> web.StreamResponse:
    """The phone's microphone: a JSON hello ``{"token", "press"}``, then µ-law chunks. The
    receiver answers ``{"type": "end"}`` when the microphone must go off, and closes."""
    ws = web.WebSocketResponse(max_msg_size=MAX_CHUNK, heartbeat=10.0)
    await ws.prepare(request)
    svc = service(request)
    try:
        hello = await ws.receive(timeout=HELLO_WITHIN)
        fields = json.loads(hello.data) if hello.type == WSMsgType.TEXT else {}
    except (TimeoutError, ValueError):
        fields = {}
    token, key = str(fields.get("token", ""))[:200], str(fields.get("press", ""))[:80]
    device = await svc.registry.authenticate(token, peer=str(request.remote), use="audio") if token else None
    if device is None:
        await ws.close(code=4401, message=b"not enrolled")
        return ws
    row = await svc.alarms.by_key(device.id, key) if valid_key(key) else None
    if row is None or not row.open:
        await ws.send_json({"type": "end", "reason": row.end_reason if row else "no such press"})
        await ws.close()
        return ws
    stream = await svc.hub.open(row, device.name)
    await ws.send_json({"type": "ready", "mic_until": row.mic_until.isoformat()})
    reason = "phone closed"
    try:
        async with asyncio.TaskGroup() as tg:
            ender = tg.create_task(_end_when_told(ws, stream), name=f"audio-end-{row.id}")
            while True:
                try:
                    msg = await ws.receive(timeout=IDLE_AFTER)
                except TimeoutError:
                    reason = "no audio"
                    break
                if msg.type != WSMsgType.BINARY:
                    break  # closed by the phone, or by _end_when_told
                svc.hub.chunk(stream, msg.data)
            ender.cancel()
    except* StreamRefused as group:
        reason = str(group.exceptions[0])
        log.warning("audio from %s refused: %s", device.name, reason)
    finally:
        await svc.hub.close(stream, stream.end_reason or reason)
        await ws.close()
    return ws


async def _end_when_told(ws: web.WebSocketResponse, stream: Stream) -> None:
    """Microphone off: tell the phone, then close (which ends the receive loop)."""
    await stream.ended.wait()
    with contextlib.suppress(ConnectionError):
        await ws.send_json({"type": "end", "reason": stream.end_reason})
    await ws.close()
