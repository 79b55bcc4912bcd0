"""JSON API for other ARC software (events, alarms, sites, stats) and evidence upload for agents."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from receiver.auth import Principal, Role
from receiver.console.context import CENTRE
from receiver.console.sitestate import site_views
from receiver.gate import PRINCIPAL, require

__all__ = ["routes"]

routes = web.RouteTableDef()


def _int(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= high:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number from 0 to {high}")
    return int(raw)


def _time(request: web.Request, name: str) -> datetime | None:
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an ISO 8601 time with offset") from None
    if moment.tzinfo is None:
        raise web.HTTPBadRequest(text=f"{name} needs a UTC offset, e.g. 2026-11-28T21:00:00+00:00")
    return moment


@routes.get("/api/events")
async def api_events(request: web.Request) -> web.Response:
    """Filter by site, code, id cursor (``after``) or time (``since``/``until``); newest last."""
    store = request.app[CENTRE].store
    since, until = _time(request, "since"), _time(request, "until")
    site, code = request.query.get("site"), request.query.get("code")
    limit = _int(request, "limit", 500, 5000)
    if (since or until) and site:
        events = list(
            reversed(await store.history(site, since=since, until=until, search=code or "", limit=limit))
        )
    else:
        events = await store.events(
            site=site, code=code, after_id=_int(request, "after", 0, 2**62), limit=limit
        )
        events = [
            e
            for e in events
            if (since is None or e.received_at >= since) and (until is None or e.received_at < until)
        ]
    return web.json_response([e.as_json() for e in events])


@routes.get("/api/stats")
async def api_stats(request: web.Request) -> web.Response:
    handler = request.app[CENTRE].handler
    links = {
        acct: {
            "last_heard": s.last_heard.isoformat() if s.last_heard else None,
            "last_poll": s.last_poll.isoformat() if s.last_poll else None,
            "rejections": s.rejections,
        }
        for acct, s in handler.links.links.items()
    }
    return web.json_response({"counters": dict(handler.counters), "links": links,
                              "unknown_accounts": handler.strangers.summary()})


@routes.get("/api/alarms")
async def api_alarms(request: web.Request) -> web.Response:
    """Open alarms in queue order; ``?state=all`` adds the most recent closed ones."""
    desk = request.app[CENTRE].desk
    alarms = (
        await desk.recent(limit=_int(request, "limit", 200, 5000))
        if request.query.get("state") == "all"
        else await desk.queue()
    )
    return web.json_response([a.as_json() for a in alarms])


@routes.get("/api/alarms/{alarm}")
async def api_alarm(request: web.Request) -> web.Response:
    desk = request.app[CENTRE].desk
    raw = request.match_info["alarm"]
    alarm = await desk.alarm(int(raw)) if raw.isdigit() else None
    if alarm is None:
        raise web.HTTPNotFound(text="no such alarm")
    log = [
        {"at": e.at.isoformat(), "kind": e.kind, "who": e.who, "event": e.event, "text": e.text}
        for e in await desk.log(alarm.id)
    ]
    return web.json_response({**alarm.as_json(), "log": log})


@routes.get("/api/sites")
async def api_sites(request: web.Request) -> web.Response:
    def iso(t: datetime | None) -> str | None:
        return t.isoformat() if t else None

    views = await site_views(request.app[CENTRE])
    return web.json_response(
        [
            {
                "site": v.site,
                "name": v.name,
                "account": v.account,
                "online": v.online,
                "armed": v.armed,
                "last_heard": iso(v.last_heard),
                "last_poll": iso(v.last_poll),
                "rejections": v.rejections,
                "open_alarm": v.open_alarms[0][0] if v.open_alarms else None,  # the most urgent
                "open_alarms": [alarm_id for alarm_id, _ in v.open_alarms],
            }
            for v in views
        ]
    )


@routes.get("/api/audit")
async def api_audit(request: web.Request) -> web.Response:
    entries = await request.app[CENTRE].audit.entries(target=request.query.get("target", ""), limit=500)
    return web.json_response(
        [
            {"at": e.at.isoformat(), "who": e.who, "action": e.action, "target": e.target, "detail": e.detail}
            for e in entries
        ]
    )


def _evidence_site(principal: Principal, request: web.Request) -> str:
    site = principal.site if principal.role == Role.SITE else request.query.get("site", "")
    if site not in request.app[CENTRE].sites:
        raise web.HTTPBadRequest(text="unknown site")
    return str(site)


async def _whole_body(request: web.Request, limit: int) -> bytes:
    """All of the body, or 413 once it outgrows ``limit``: never a part of it as if it were all
    (``content.read(n)`` returns what has arrived so far, one chunk)."""
    if (request.content_length or 0) > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length or 0)
    body = bytearray()
    while chunk := await request.content.read(64 * 1024):
        body += chunk
        if len(body) > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(body))
    if request.content_length is not None and len(body) != request.content_length:
        raise web.HTTPBadRequest(text="the body ended before its Content-Length")
    return bytes(body)


@routes.post("/api/evidence")
async def upload_evidence(request: web.Request) -> web.Response:
    """An agent's site token uploads a JPEG for its own site; ``ref`` names the event."""
    principal: Principal = request[PRINCIPAL]
    if principal.role != Role.SITE:
        require(request, Role.ADMIN)
    site = _evidence_site(principal, request)
    if request.content_type != "image/jpeg":
        raise web.HTTPUnsupportedMediaType(text="send the snapshot as image/jpeg")
    data = await _whole_body(request, request.app[CENTRE].evidence_bytes)
    if not data.startswith(b"\xff\xd8"):
        raise web.HTTPBadRequest(text="not a JPEG")
    evidence_id = await request.app[CENTRE].evidence.add(
        site, request.query.get("ref", ""), "image/jpeg", data
    )
    request.app[CENTRE].bulletin.publish({"evidence": evidence_id, "site": site})
    return web.json_response({"id": evidence_id, "url": f"/api/evidence/{evidence_id}"}, status=201)


@routes.get("/api/evidence/{evidence}")
async def get_evidence(request: web.Request) -> web.Response:
    """Operators see every site's evidence; a site token only its own (others look absent)."""
    principal: Principal = request[PRINCIPAL]
    raw = request.match_info["evidence"]
    found = await request.app[CENTRE].evidence.get(int(raw)) if raw.isdigit() else None
    if found is None or (principal.role == Role.SITE and found[0].site != principal.site):
        raise web.HTTPNotFound(text="no such evidence")
    return web.Response(body=found[1], content_type=found[0].content_type)
