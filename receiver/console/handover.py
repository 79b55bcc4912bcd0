"""Shift handover: who is at a console, every open alarm with who has it and what is left, and
the outgoing operator's handover (their open alarms to a colleague, with a note for the next
shift), kept in the shift log and the audit log."""

from __future__ import annotations

from aiohttp import web

from receiver.console.context import CENTRE
from receiver.console.render import csrf_field, esc, hms, local, page, seconds
from receiver.desk import DeskError
from receiver.gate import PRINCIPAL
from receiver.handling import open_required

__all__ = ["routes"]

routes = web.RouteTableDef()


async def _body(request: web.Request, message: str = "") -> str:
    centre, me = request.app[CENTRE], request[PRINCIPAL].name
    now = centre.clock()
    queue = await centre.desk.queue()
    rows = []
    for a in queue:
        left = open_required(await centre.desk.plan(a), a.handling)
        rows.append(
            f'<tr class="p{int(a.priority)}"><td class="prio">P{int(a.priority)}</td>'
            f'<td><a href="/alarms/{a.id}">{esc(a.title)}</a></td><td>{esc(a.site)}</td>'
            f"<td>{esc(a.owner or 'NOT TAKEN')}</td><td>{seconds((now - a.opened_at).total_seconds())}</td>"
            f"<td>{esc(a.verdict or '–')}</td><td>{len(left)}</td></tr>"
        )
    mine = [a for a in queue if a.owner == me]
    present = ", ".join(f"{esc(n)} ({esc(r)})" for n, r in await centre.presence.present()) or "nobody"
    users = [n for n, _ in await centre.accounts.users() if n != me]
    options = '<option value="">(nobody: a note only)</option>' + "".join(
        f"<option>{esc(n)}</option>" for n in users
    )
    notes = "".join(
        f"<li><span class='meta'>{local(n.at)} {esc(n.who)}"
        f"{' → ' + esc(n.handed_to) if n.handed_to else ''}"
        f"{' · alarms ' + esc(n.alarms) if n.alarms else ''}</span> {esc(n.text)}</li>"
        for n in await centre.shift_log.recent()
    )
    return (
        f"{message}<p>At consoles now: <strong id='on-duty'>{present}</strong> · {hms(now)}</p>"
        f"<h2>Open alarms ({len(queue)})</h2><table id='handover-alarms'><thead><tr><th>P</th><th>Alarm</th>"
        "<th>Site</th><th>Handled by</th><th>Open for</th><th>Call-back</th><th>Required steps left</th>"
        f"</tr></thead><tbody>{''.join(rows) or '<tr><td colspan=7>none</td></tr>'}</tbody></table>"
        f"<h2>Hand over</h2><form method='post' action='/handover' id='handover-form'>{csrf_field(request)}"
        f"<p>Your open alarms: {len(mine)}{': ' + ', '.join(str(a.id) for a in mine) if mine else ''}.</p>"
        f"<label>To <select name='to'>{options}</select></label>"
        "<label>Note for the next shift <textarea name='text' rows='3' maxlength='2000'></textarea></label>"
        "<button>Hand over</button></form>"
        f"<h2>Shift log</h2><ul id='shift-log'>{notes or '<li>empty</li>'}</ul>"
    )


@routes.get("/handover")
async def handover_page(request: web.Request) -> web.Response:
    return page(request, "Shift handover", await _body(request))


@routes.post("/handover")
async def hand_over(request: web.Request) -> web.Response:
    centre, me = request.app[CENTRE], request[PRINCIPAL].name
    form = await request.post()
    to, text = str(form.get("to", "")).strip(), " ".join(str(form.get("text", "")).split())[:2000]
    if to and to not in {n for n, _ in await centre.accounts.users()}:
        return page(
            request, "Shift handover", await _body(request, '<p class="error">No such user.</p>'), status=400
        )
    mine = [a.id for a in await centre.desk.queue() if a.owner == me]
    if not text and not (to and mine):
        message = '<p class="error">Write a note, or choose whom to hand your alarms to.</p>'
        return page(request, "Shift handover", await _body(request, message), status=400)
    handed = []
    for alarm_id in mine if to else []:
        try:
            await centre.desk.hand_over(alarm_id, me, to)
            handed.append(alarm_id)
        except DeskError:
            continue  # closed or taken over meanwhile: nothing to hand over
    await centre.shift_log.write(me, to, handed, text)
    done = f"Handed over {len(handed)} alarm{'s' if len(handed) != 1 else ''}" + (f" to {to}" if to else "")
    return page(request, "Shift handover", await _body(request, f'<p class="ok">{esc(done)}.</p>'))
