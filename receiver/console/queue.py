"""The alarm queue: open alarms by priority then age, one row per alarm and response (a fire at a
home with an open panic is a row of its own, marked as one of several at that site), refreshed
live; the waiting time counts until someone takes the alarm."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from aiohttp import web

from receiver.console.context import CENTRE
from receiver.console.render import csrf_field, esc, hms, page, seconds
from receiver.desk import Alarm

__all__ = ["AGE_DANGER", "AGE_WARNING", "age_class", "queue_rows", "routes", "status_words"]

routes = web.RouteTableDef()
AGE_WARNING = 60  # seconds an alarm may wait (not taken) before it turns amber
AGE_DANGER = 180  # and red


def age_class(alarm: Alarm, now: datetime) -> str:
    if alarm.owner:
        return "age-taken"
    age = (now - alarm.opened_at).total_seconds()
    return "age-danger" if age >= AGE_DANGER else "age-warning" if age >= AGE_WARNING else "age-new"


def status_words(alarm: Alarm) -> list[str]:
    """What is true of an alarm besides its class, in words (restored, cancelled, verdict)."""
    words = []
    if alarm.upgraded:
        words.append(f"upgraded from {alarm.opened_as.label}")
    if alarm.restored_at:
        words.append(f"restored {hms(alarm.restored_at)}")
    if alarm.cancelled:
        words.append("cancelled by the user")
    if alarm.verdict == "escalated":
        words.append("call-back: ESCALATED")
    elif alarm.verdict == "cleared":
        words.append("call-back: cleared")
    return words


def _handling(alarm: Alarm, csrf: str) -> str:
    if alarm.owner and alarm.taken_at:
        waited = seconds((alarm.taken_at - alarm.opened_at).total_seconds())
        return f"taken by <strong>{esc(alarm.owner)}</strong> after {waited}"
    ack = (
        f'<span class="acked">acknowledged by {esc(alarm.acked_by)}</span>'
        if alarm.acked_at
        else f'<form method="post" action="/alarms/{alarm.id}/ack" class="inline ack">{csrf}'
        '<button class="ack-button">Acknowledge</button></form>'
    )
    escalated = '<span class="escalated">sent to supervisors</span> ' if alarm.escalated_at else ""
    return f'{escalated}<span class="untaken">not taken</span> · {ack}'


def _row(alarm: Alarm, now: datetime, names: dict[str, str], per_site: Counter[str], csrf: str) -> str:
    others = per_site[alarm.site] - 1
    several = (
        f'<br><span class="several">{per_site[alarm.site]} open alarms at this site</span>' if others else ""
    )
    words = "".join(f'<br><small class="state">{esc(w)}</small>' for w in status_words(alarm))
    waiting = (
        f'<td class="age" data-opened="{esc(alarm.opened_at.isoformat())}">'
        f"{seconds((now - alarm.opened_at).total_seconds())}</td>"
        if not alarm.owner
        else '<td class="age">–</td>'
    )
    unacked = "" if alarm.acked_at else " unacked"
    return (
        f'<tr class="alarm p{int(alarm.priority)} {age_class(alarm, now)}{unacked}" data-id="{alarm.id}"'
        f' data-response="{alarm.response.value}" tabindex="-1">'
        f'<td class="prio" title="priority {int(alarm.priority)}">P{int(alarm.priority)}</td>'
        f'<td><span class="cls {alarm.response.value}">{esc(alarm.priority.label)}</span> '
        f'<a href="/alarms/{alarm.id}">{esc(alarm.title)}</a>{words}</td>'
        f'<td><a href="/sites/{esc(alarm.site)}">{esc(alarm.site)}</a><br>'
        f"<small>{esc(names.get(alarm.site, ''))}</small>{several}</td>"
        f"<td>{hms(alarm.opened_at)}</td>{waiting}"
        f"<td>{_handling(alarm, csrf)}</td></tr>"
    )


async def queue_rows(request: web.Request) -> str:
    centre = request.app[CENTRE]
    now = centre.clock()
    alarms = await centre.desk.queue()
    if not alarms:
        return '<tr class="empty"><td colspan="6">No open alarms.</td></tr>'
    names = await centre.book.names()
    per_site = Counter(a.site for a in alarms)
    csrf = csrf_field(request)
    unacked = sum(1 for a in alarms if not a.acked_at)
    untaken = sum(1 for a in alarms if not a.owner)
    summary = (
        f'<tr class="summary"><td colspan="6" id="queue-summary">{len(alarms)} open alarm'
        f"{'s' if len(alarms) != 1 else ''}"
        f" · {unacked} not acknowledged · {untaken} not taken</td></tr>"
    )
    return summary + "".join(_row(a, now, names, per_site, csrf) for a in alarms)


@routes.get("/")
async def queue_page(request: web.Request) -> web.Response:
    body = (
        '<p class="hint">Most urgent first, then oldest. Each response (hold-up, fire, burglary, tamper,'
        " technical) is its own alarm with its own plan. Press <kbd>?</kbd> for the keys.</p>"
        '<table id="queue" data-live="/queue/rows"><thead><tr><th>P</th><th>Alarm</th><th>Site</th>'
        "<th>Opened</th><th>Waiting (not taken)</th><th>Handling</th></tr></thead>"
        f'<tbody id="queue-rows">{await queue_rows(request)}</tbody></table>'
    )
    return page(request, "Alarm queue", body)


@routes.get("/queue/rows")
async def queue_fragment(request: web.Request) -> web.Response:
    return web.Response(text=await queue_rows(request), content_type="text/html")
