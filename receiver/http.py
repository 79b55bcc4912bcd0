"""The receiver's HTTP side: JSON API for other ARC software and the first console page."""

from __future__ import annotations

from html import escape

from aiohttp import web

from receiver.handler import FrameHandler
from receiver.store import EventStore

__all__ = ["make_app"]

STORE = web.AppKey("store", EventStore)
HANDLER = web.AppKey("handler", FrameHandler)


def _int(request: web.Request, name: str, default: int, high: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 0 <= int(raw) <= high:
        raise web.HTTPBadRequest(text=f"{name} must be a whole number from 0 to {high}")
    return int(raw)


async def api_events(request: web.Request) -> web.Response:
    events = await request.app[STORE].events(
        site=request.query.get("site"),
        code=request.query.get("code"),
        after_id=_int(request, "after", 0, 2**62),
        limit=_int(request, "limit", 500, 5000),
    )
    return web.json_response([e.as_json() for e in events])


async def api_stats(request: web.Request) -> web.Response:
    handler = request.app[HANDLER]
    links = {
        acct: {
            "last_heard": s.last_heard.isoformat() if s.last_heard else None,
            "last_poll": s.last_poll.isoformat() if s.last_poll else None,
            "rejections": s.rejections,
        }
        for acct, s in handler.links.links.items()
    }
    return web.json_response({"counters": dict(handler.counters), "links": links})


_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="refresh" content="2"><title>Wachter alarm centre</title>
<style>body{{font:14px system-ui,sans-serif;margin:1.5em}}table{{border-collapse:collapse}}
td,th{{padding:.3em .8em;border-bottom:1px solid #ddd;text-align:left}}
tr.urgent{{background:#fdd;font-weight:bold}}</style></head><body>
<h1>Wachter alarm centre</h1><p>{count} most recent events, newest first.</p>
<table><thead><tr><th>#</th><th>received (UTC)</th><th>site</th><th>account</th><th>code</th>
<th>zone</th><th>Contact ID</th><th>data</th></tr></thead><tbody>{rows}</tbody></table></body></html>"""

URGENT = {"PA", "HA", "BV", "FA", "MA", "QA"}


async def console(request: web.Request) -> web.Response:
    events = await request.app[STORE].events(limit=100)
    rows = "".join(
        f'<tr class="{"urgent" if e.code in URGENT else ""}"><td>{e.id}</td>'
        f"<td>{escape(e.received_at.strftime('%Y-%m-%d %H:%M:%S'))}</td><td>{escape(e.site)}</td>"
        f"<td>{escape(e.account)}</td><td>{escape(e.code or '')}</td><td>{escape(e.zone or '')}</td>"
        f"<td>{escape(e.cid or '')}</td><td><code>{escape(e.data)}</code></td></tr>"
        for e in reversed(events)
    )
    return web.Response(text=_PAGE.format(count=len(events), rows=rows), content_type="text/html")


def make_app(store: EventStore, handler: FrameHandler) -> web.Application:
    app = web.Application()
    app[STORE] = store
    app[HANDLER] = handler
    app.router.add_get("/", console)
    app.router.add_get("/api/events", api_events)
    app.router.add_get("/api/stats", api_stats)
    return app
