"""The alarm queue: open alarms by priority then age, refreshed live, coloured by age."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from receiver.console.context import CENTRE
from receiver.console.live import stream
from receiver.console.render import esc, local, page
from receiver.desk import Alarm

__all__ = ["AGE_DANGER", "AGE_WARNING", "age_class", "routes"]

routes = web.RouteTableDef()
AGE_WARNING = 60  # seconds an alarm may wait before it turns amber
AGE_DANGER = 180  # and red


def age_class(alarm: Alarm, now: datetime) -> str:
    age = (now - alarm.opened_at).total_seconds()
    return "age-danger" if age >= AGE_DANGER else "age-warning" if age >= AGE_WARNING else "age-new"


def _row(alarm: Alarm, now: datetime, names: dict[str, str]) -> str:
    owner = f"taken by {esc(alarm.owner)}" if alarm.owner else '<span class="untaken">waiting</span>'
    state = " · restored" if alarm.restored_at else ""
    state += " · cancelled by user" if alarm.cancelled else ""
    return (
        f'<tr class="alarm p{int(alarm.priority)} {age_class(alarm, now)}" data-id="{alarm.id}"'
        f' data-opened="{esc(alarm.opened_at.isoformat())}">'
        f'<td class="prio">{int(alarm.priority)}</td><td><a'
        f' href="/alarms/{alarm.id}">{esc(alarm.title)}</a></td>'
        f"<td>{esc(alarm.site)}<br><small>{esc(names.get(alarm.site, ''))}</small></td>"
        f'<td>{local(alarm.opened_at, "%H:%M:%S")}</td><td class="age"'
        f' data-opened="{esc(alarm.opened_at.isoformat())}"></td>'
        f"<td>{owner}{esc(state)}</td></tr>"
    )


async def queue_rows(request: web.Request) -> str:
    centre = request.app[CENTRE]
    now = centre.clock()
    names = {site: account.name for site, account in centre.sites.items()}
    alarms = await centre.desk.queue()
    if not alarms:
        return '<tr class="empty"><td colspan="6">No open alarms.</td></tr>'
    return "".join(_row(a, now, names) for a in alarms)


@routes.get("/")
async def queue_page(request: web.Request) -> web.Response:
    body = (
        '<p class="hint">Most urgent first, then oldest. New alarms sound a tone '
        '(<button type="button" id="sound">enable sound</button>).</p>'
        '<table id="queue" data-live="/queue/rows"><thead><tr><th>P</th><th>Alarm</th><th>Site</th>'
        "<th>Opened</th><th>Waiting</th><th>Handling</th></tr></thead>"
        f'<tbody id="queue-rows">{await queue_rows(request)}</tbody></table>'
    )
    return page(request, "Alarm queue", body)


@routes.get("/queue/rows")
async def queue_fragment(request: web.Request) -> web.Response:
    return web.Response(text=await queue_rows(request), content_type="text/html")


@routes.get("/live")
async def live(request: web.Request) -> web.StreamResponse:
    return await stream(request, request.app[CENTRE].bulletin)
