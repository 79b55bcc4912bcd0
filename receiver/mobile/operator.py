"""What operators reach under ``/api/mobile/`` (behind the console's gate): an alarm's mobile
state (who pressed, track, streams, recordings), listening in, recordings, map tiles. Call-back
outcomes go through the console's own routes (``/alarms/{id}/call``, ``/alarms/{id}/threat``)."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import WSMsgType, web

from receiver.audit import record
from receiver.auth import Principal, Role
from receiver.console.context import CENTRE
from receiver.console.live import SIGNED_IN
from receiver.desk import Alarm
from receiver.gate import PRINCIPAL, SESSION
from receiver.mobile.audio import RATE, pcm_wav
from receiver.mobile.context import service
from receiver.mobile.listen import StreamRefused
from receiver.mobile.service import map_link
from receiver.mobile.tiles import MAX_ZOOM

__all__ = ["alarm_state", "routes"]

routes = web.RouteTableDef()
SESSION_CHECK = 5.0  # seconds between checks that a listener is still signed in


async def _alarm(request: web.Request) -> Alarm:
    raw = request.match_info["alarm"]
    alarm = await request.app[CENTRE].desk.alarm(int(raw)) if raw.isdigit() else None
    if alarm is None:
        raise web.HTTPNotFound(text="no such alarm")
    return alarm


def _iso(t: datetime | None) -> str | None:
    return t.isoformat() if t else None


async def alarm_state(request: web.Request, alarm: Alarm) -> dict[str, object]:
    """Everything the mobile panel shows, as JSON (the panel's script polls it)."""
    svc = service(request)
    presses = await svc.alarms.for_alarm(alarm.id)
    track = await svc.alarms.track(alarm.id, alarm.site)
    devices = {p.device: await svc.registry.get(p.device) for p in presses}
    people: list[dict[str, object]] = []
    for device in devices.values():
        person = svc.person(device.person) if device else None
        if person is not None and person.id not in [p["id"] for p in people]:
            people.append({"id": person.id, "name": person.name, "phones": person.phones})
    rows = await svc.db.all(
        "SELECT r.id, r.press, r.started_at, r.ended_at, r.bytes, r.deleted_at FROM mobile_recordings r"
        " JOIN mobile_presses p ON p.id = r.press WHERE p.alarm = ? ORDER BY r.id",
        (alarm.id,),
    )
    live = {s.press.id: s.received for s in svc.hub.live(alarm.id)}
    last = track[-1] if track else None
    return {
        "alarm": alarm.id, "open": alarm.is_open, "owner": alarm.owner,
        "presses": [p.as_json() | {"pressed_at": _iso(p.pressed_at), "battery": p.battery,
                                   "silent": p.code == "HA"} for p in presses],
        "people": people,
        "track": [p.as_json() for p in track],
        "map": map_link(last.latitude, last.longitude) if last else None,
        "live": [{"press": k, "seconds": v / RATE} for k, v in live.items()],
        "recordings": [
            {"id": r[0], "press": r[1], "started_at": r[2], "ended_at": r[3],
             "seconds": (svc.hub.streams[r[1]].recording.bytes if r[3] is None and r[1] in svc.hub.streams
                         else int(r[4])) / RATE,
             "deleted": r[5] is not None, "url": f"/api/mobile/recordings/{r[0]}"}
            for r in rows
        ],
        "verdict": alarm.handling.verdict,
        "tiles": bool(svc.config.tiles),
    }


@routes.get("/api/mobile/alarms/{alarm}")
async def state(request: web.Request) -> web.Response:
    return web.json_response(await alarm_state(request, await _alarm(request)))


def _listener(request: web.Request, alarm: Alarm) -> Principal:
    """Only a signed-in operator who owns the open alarm listens: no API token, no bystander."""
    if request.get(SESSION) is None:
        raise web.HTTPForbidden(text="listening in needs a signed-in console session")
    origin = request.headers.get("Origin")
    if origin is not None and origin.split("://", 1)[-1] != request.host:
        raise web.HTTPForbidden(text="listening in only from the console's own pages")
    principal: Principal = request[PRINCIPAL]
    if alarm.owner != principal.name:
        raise web.HTTPForbidden(text=f"take alarm {alarm.id} first: only its owner listens in")
    if not alarm.is_open:
        raise web.HTTPConflict(text=f"alarm {alarm.id} is closed")
    return principal


@routes.get("/api/mobile/alarms/{alarm}/listen")
async def listen(request: web.Request) -> web.StreamResponse:
    """Live µ-law chunks (binary) and notices (JSON text) for the alarm's owner."""
    alarm = await _alarm(request)
    principal = _listener(request, alarm)
    svc = service(request)
    try:
        listener = svc.hub.subscribe(alarm.id, principal.name)
    except StreamRefused as exc:
        raise web.HTTPTooManyRequests(text=str(exc)) from None
    ws = web.WebSocketResponse(heartbeat=10.0, max_msg_size=1024)
    try:
        await ws.prepare(request)
        await svc.desk.add_log(alarm.id, "listen_in", principal.name, "listening in")
        live = [s.press.id for s in svc.hub.live(alarm.id)]
        await ws.send_json({"type": "hello", "rate": RATE, "live": live})
        still_signed_in, loop = request[SIGNED_IN], asyncio.get_running_loop()
        next_check = loop.time() + SESSION_CHECK
        async with asyncio.TaskGroup() as tg:
            reader = tg.create_task(_drain(ws), name=f"listen-read-{alarm.id}")
            while not reader.done():
                try:
                    item = await asyncio.wait_for(listener.queue.get(), SESSION_CHECK)
                except TimeoutError:
                    item = ""
                if item is None:  # the alarm's owner changed, or the server is stopping
                    break
                if loop.time() >= next_check:  # signed out, expired or removed: stop hearing
                    if not await still_signed_in():
                        break
                    next_check = loop.time() + SESSION_CHECK
                if not item:
                    continue
                if isinstance(item, bytes):
                    await ws.send_bytes(item)
                else:
                    await ws.send_str(item)
            reader.cancel()
    except* ConnectionError:
        pass  # the console went away
    finally:
        svc.hub.unsubscribe(listener)
        await ws.close()
    return ws


async def _drain(ws: web.WebSocketResponse) -> None:
    """The console sends nothing that matters; this notices when it goes away."""
    async for msg in ws:
        if msg.type in (WSMsgType.ERROR, WSMsgType.CLOSE):
            break


@routes.get("/api/mobile/recordings/{recording}")
async def recording(request: web.Request) -> web.Response:
    """A recording as WAV; every fetch is audited (a player's range request counts once)."""
    principal: Principal = request[PRINCIPAL]
    if not principal.may(Role.OPERATOR):
        raise web.HTTPForbidden(text="operators only")
    raw = request.match_info["recording"]
    svc = service(request)
    row = await svc.db.one(
        "SELECT r.file, r.deleted_at, r.ended_at, p.alarm FROM mobile_recordings r"
        " JOIN mobile_presses p ON p.id = r.press WHERE r.id = ?",
        (int(raw),),
    ) if raw.isdigit() and len(raw) < 12 else None
    if row is None:
        raise web.HTTPNotFound(text="no such recording")
    if row[1] is not None:
        raise web.HTTPGone(text=f"recording {raw} was deleted at {row[1]} (retention)")
    path = svc.recordings / str(row[0])
    data = await asyncio.to_thread(path.read_bytes) if path.exists() else b""
    first = request.http_range.start in (None, 0)
    if first:
        async with svc.db.transaction() as tx:
            still = ", still recording" if row[2] is None else ""
            await record(tx, svc.clock(), principal.name, "recording_download", f"alarm:{row[3]}",
                         f"recording {raw} ({len(data) / RATE:.1f} s{still})")
    disposition = "attachment" if request.query.get("download") else "inline"
    return web.Response(body=pcm_wav(data), content_type="audio/wav", headers={
        "Content-Disposition": f'{disposition}; filename="alarm-{row[3]}-recording-{raw}.wav"'})


@routes.get("/api/mobile/tiles/{z}/{x}/{y}")
async def tile(request: web.Request) -> web.Response:
    proxy = service(request).tiles
    try:
        z, x, y = (int(request.match_info[k]) for k in "zxy")
    except ValueError:
        raise web.HTTPNotFound() from None
    if proxy is None or not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise web.HTTPNotFound(text="no such tile (or no tile server configured)")
    found = await proxy.get(z, x, y)
    if found is None:
        raise web.HTTPBadGateway(text="the tile server did not give this tile")
    cache = {"Cache-Control": "private, max-age=86400"}
    return web.Response(body=found[0], content_type=found[1], headers=cache)
