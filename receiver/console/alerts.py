"""What every console page must make loud, as JSON for console.js, and the live stream.

``/alerts`` lists the open alarms nobody acknowledged yet (the sound repeats, per priority,
until each is acknowledged), the ones sent to the supervisors because nobody took them in
time (louder, on supervisors' consoles, until taken), the escalated call-backs, and who is at
a console now. ``/live`` pushes a notice on every alarm change, so pages fetch this at once.
"""

from __future__ import annotations

from aiohttp import web

from receiver.auth import Role
from receiver.console.context import CENTRE
from receiver.console.live import stream
from receiver.desk import Alarm
from receiver.gate import PRINCIPAL

__all__ = ["routes"]

routes = web.RouteTableDef()


def _brief(alarm: Alarm, names: dict[str, str]) -> dict[str, object]:
    return {
        "id": alarm.id,
        "priority": int(alarm.priority),
        "response": alarm.response.value,
        "label": alarm.priority.label,
        "title": alarm.title,
        "site": alarm.site,
        "name": names.get(alarm.site, ""),
        "owner": alarm.owner,
    }


@routes.get("/alerts")
async def alerts(request: web.Request) -> web.Response:
    centre, user = request.app[CENTRE], request[PRINCIPAL]
    queue = await centre.desk.queue()
    names = await centre.book.names() if queue else {}
    return web.json_response(
        {
            "open": len(queue),
            "unacked": [_brief(a, names) for a in queue if a.acked_at is None],
            "supervisors": [
                _brief(a, names) for a in queue if a.escalated_at is not None and a.owner is None
            ],
            "escalated": [_brief(a, names) for a in queue if a.verdict == "escalated"],
            "supervisor": user.may(Role.SUPERVISOR),
            "present": [{"name": n, "role": r} for n, r in await centre.presence.present()],
        }
    )


@routes.get("/live")
async def live(request: web.Request) -> web.StreamResponse:
    centre, user = request.app[CENTRE], request[PRINCIPAL]
    first = True

    async def alive() -> None:
        nonlocal first
        await centre.presence.seen(user.name, user.role.name.lower())
        if first:  # the others' consoles show who came on
            centre.bulletin.publish({"presence": user.name})
            first = False

    return await stream(request, centre.bulletin, alive)
