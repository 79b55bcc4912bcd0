"""The parts of the alarm page. Each is rendered on its own, so the page updates in place
(``/alarms/{id}/parts``) instead of reloading: the operator's scroll position and half-filled
forms survive, and console.js marks what is new (rows carry a ``data-key``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from aiohttp import web

from receiver.action_plan import Step
from receiver.alarms import alarm_class, restore_response
from receiver.auth import Role
from receiver.console.alarm_plan import close_form, plan_section
from receiver.console.context import Centre
from receiver.console.queue import status_words
from receiver.console.render import csrf_field, esc, hms, local, seconds
from receiver.console.sitestate import armed_words, site_views
from receiver.desk import Alarm, LogEntry
from receiver.evidence import Evidence
from receiver.gate import PRINCIPAL
from receiver.handling import CLOSE_REASONS
from receiver.sitebook import SiteEntry
from receiver.store import StoredEvent
from receiver.wording import code_words, contact_id, zone_words

__all__ = ["PARTS", "AlarmContext", "render_parts"]

LOOKBACK = timedelta(minutes=10)  # site signals and snapshots shown from this long before opening
PARTS = ("head", "others", "plan", "work", "notes", "evidence", "timeline", "site", "more")
_TRIGGERS = {
    "command": "taken on the alarm",
    "motion": "motion",
    "person": "person detected",
    "doorbell": "doorbell",
    "tamper": "tamper",
    "": "snapshot",
}


@dataclass(frozen=True)
class AlarmContext:
    """Everything the parts are drawn from, read once per render."""

    centre: Centre
    request: web.Request
    alarm: Alarm
    entry: SiteEntry
    log: list[LogEntry]
    events: list[StoredEvent]  # the site's, in the alarm's window, oldest first
    others: list[Alarm]  # other open alarms at the site
    now: datetime

    @property
    def mine(self) -> bool:
        return self.alarm.owner == self.request[PRINCIPAL].name

    @property
    def own_events(self) -> set[int]:
        return {e.event for e in self.log if e.event is not None}


def _form(ctx: AlarmContext, action: str, label: str, inner: str = "", cls: str = "inline") -> str:
    return (
        f'<form method="post" action="/alarms/{ctx.alarm.id}/{action}" class="{cls}">'
        f"{csrf_field(ctx.request)}{inner}<button>{esc(label)}</button></form>"
    )


def _head(ctx: AlarmContext) -> str:
    a, user = ctx.alarm, ctx.request[PRINCIPAL]
    if not a.is_open:
        reason = CLOSE_REASONS.get(a.outcome or "", {}).get(a.reason or "", a.reason or "no reason recorded")
        state = (
            f'<p class="closed">CLOSED {local(a.closed_at)} by {esc(a.closed_by)} as'
            f" <strong>{esc(a.outcome)}</strong>: {esc(reason)}</p>"
        )
    else:
        state = f'<p class="open-state">OPEN for {seconds((ctx.now - a.opened_at).total_seconds())}</p>'
    upgraded = (
        f'<p class="upgraded">Opened as {esc(a.opened_as.label)}, upgraded to {esc(a.priority.label)}'
        f" {hms(a.upgraded_at)}.</p>"
        if a.upgraded
        else ""
    )
    words = "".join(f"<li>{esc(w)}</li>" for w in status_words(a) if not w.startswith("upgraded"))
    ack = (
        f"<li>acknowledged by {esc(a.acked_by)} {hms(a.acked_at)}</li>"
        if a.acked_at
        else f'<li class="unacked">not acknowledged {_form(ctx, "ack", "Acknowledge")}</li>'
        if a.is_open
        else ""
    )
    escalated = (
        f'<li class="escalated">sent to the supervisors {hms(a.escalated_at)}</li>'
        if a.escalated_at
        else ""
    )
    if not a.is_open:
        owner = f"<li>handled by {esc(a.owner or '–')}</li>"
    elif ctx.mine:
        owner = '<li class="owner">You handle this alarm.</li>'
    elif a.owner and not user.may(Role.SUPERVISOR):
        owner = f'<li class="owner">Taken by {esc(a.owner)}.</li>'
    else:
        label = "Take over" if a.owner else "Take"
        who = f"Taken by {esc(a.owner)}." if a.owner else "Nobody handles this alarm yet."
        owner = f'<li class="owner">{who} {_form(ctx, "take", label)}</li>'
    return (
        f'<div class="alarm-head p{int(a.priority)}">'
        f'<p class="big"><span class="prio">P{int(a.priority)}</span>'
        f' <span class="cls {a.response.value}">{esc(a.priority.label)}</span> {esc(a.title)}</p>'
        f"{state}<p>Opened {local(a.opened_at)}</p>{upgraded}"
        f'<ul class="facts">{words}{ack}{escalated}{owner}</ul></div>'
    )


def _others(ctx: AlarmContext) -> str:
    if not ctx.others:
        return '<p class="alone">No other open alarm at this site.</p>'
    items = "".join(
        f'<li class="p{int(o.priority)}" data-key="a{o.id}"><a href="/alarms/{o.id}">'
        f'<span class="cls {o.response.value}">'
        f"{esc(o.priority.label)}</span> {esc(o.title)}</a> · opened {hms(o.opened_at)}"
        f" · {'taken by ' + esc(o.owner) if o.owner else '<strong>not taken</strong>'}</li>"
        for o in ctx.others
    )
    return (
        f'<div class="others"><h2>Also open at this site ({len(ctx.others)})</h2>'
        f'<ul id="other-alarms">{items}</ul></div>'
    )


def _work(ctx: AlarmContext, plan: tuple[Step, ...]) -> str:
    if not (ctx.mine and ctx.alarm.is_open):
        return ""
    return close_form(ctx.request, ctx.alarm, plan)


def _notes(ctx: AlarmContext) -> str:
    notes = [e for e in ctx.log if e.kind == "note"]
    items = "".join(
        f'<li data-key="l{e.id}"><span class="meta">{hms(e.at)} {esc(e.who)}</span>'
        f" {esc(e.text)}</li>"
        for e in notes
    )
    form = (
        _form(
            ctx,
            "note",
            "Add note",
            '<textarea name="text" rows="2" required maxlength="2000" aria-label="note"></textarea>',
            cls="note-form",
        )
        if ctx.alarm.is_open
        else ""
    )
    count = f"{len(notes)} note{'s' if len(notes) != 1 else ''}"
    return f'<h2>Notes <small>({count})</small></h2><ul id="notes">{items}</ul>{form}'


def _event_words(e: StoredEvent, entry: SiteEntry) -> tuple[str, str]:
    where = zone_words(e.zone, entry.zone(e.zone))
    cid, derived = contact_id(e.code, e.cid)
    cid_text = f"{esc(cid)}{' <small>(from SIA)</small>' if derived else ''}" if cid else "–"
    return (
        f"<strong>{esc(e.code or '?')}</strong> {esc(code_words(e.code))}"
        + (f" · {esc(where)}" if where else ""),
        cid_text,
    )


def _timeline(ctx: AlarmContext) -> str:
    own, by_event = ctx.own_events, {e.event: e for e in ctx.log if e.event is not None}
    rows: list[tuple[datetime, int, str]] = []
    for e in ctx.events:
        context = alarm_class(e.code) is None and restore_response(e.code) is None
        if e.id not in own and not context:
            continue  # another alarm's event: it is on that alarm's page
        what, cid = _event_words(e, ctx.entry)
        kind = by_event[e.id].kind if e.id in own else "site signal"
        rows.append(
            (
                e.received_at,
                e.id,
                (
                    f'<tr class="event {"own" if e.id in own else "context"}" data-key="e{e.id}">'
                    f"<td>{hms(e.received_at)}</td><td>{esc(kind)}</td><td>{what}</td>"
                    f'<td>{cid}</td><td><code class="raw">{esc(e.data)}</code></td></tr>'
                ),
            )
        )
    for entry in ctx.log:
        if entry.event is not None:
            continue
        rows.append(
            (
                entry.at,
                0,
                (
                    f'<tr class="log {esc(entry.kind)}" data-key="l{entry.id}"><td>{hms(entry.at)}</td>'
                    f"<td>{esc(entry.kind)}</td><td>{esc(entry.text)}</td><td></td><td>{esc(entry.who)}</td></tr>"
                ),
            )
        )
    rows.sort(key=lambda r: (r[0], r[1]))
    return (
        "<h2>Timeline <small>(this alarm's events, the site's other signals, and what was done)</small></h2>"
        '<table id="timeline"><thead><tr><th>Time</th><th>What</th><th>Detail</th><th>Contact ID</th>'
        f"<th>Raw / who</th></tr></thead><tbody>{''.join(r for _, _, r in rows)}</tbody></table>"
    )


def _evidence_groups(ctx: AlarmContext, items: Sequence[Evidence]) -> str:
    own_zones = {int(e.zone) for e in ctx.events if e.id in ctx.own_events and e.zone and e.zone.isdigit()}
    groups: dict[str, list[tuple[Evidence, str, str]]] = {}
    for item in reversed(items):  # oldest first
        device, _, rest = item.ref.partition(":")
        cause, _, rest = rest.partition(":")
        trigger, _, index = rest.partition(":")
        zone = int(cause.removeprefix("zone-")) if cause.startswith("zone-") and cause[5:].isdigit() else None
        if zone is not None and own_zones and zone not in own_zones:
            continue  # another alarm's evidence
        if zone is not None:
            title = f"For the alarm on {zone_words(str(zone), ctx.entry.zone(zone))}"
        else:
            title = "Not tied to an alarm zone" if cause in ("", "unsolicited") else f"For {cause}"
        camera = ctx.entry.device(device)
        name = camera.name if camera else device or "camera"
        shot = f"snapshot {int(index) + 1}" if index.isdigit() else "snapshot"
        caption = (
            f"{name} · {hms(item.received_at)} · {shot} ({_TRIGGERS.get(trigger, trigger)})"
        )
        groups.setdefault(title, []).append((item, caption, name))
    if not groups:
        return "<h2>Evidence</h2><p>No snapshots for this alarm.</p>"
    out = []
    for title, shots in groups.items():
        figures = "".join(
            f'<figure data-key="v{item.id}"><a class="thumb" href="/api/evidence/{item.id}" target="_blank">'
            f'<img src="/api/evidence/{item.id}" alt="{esc(caption)}" loading="lazy" width="160"></a>'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
            for item, caption, _ in shots
        )
        out.append(
            f'<div class="evidence-group"><h3>{esc(title)} <small>({len(shots)} snapshots)</small></h3>'
            f'<div class="evidence">{figures}</div></div>'
        )
    return f"<h2>Evidence</h2>{''.join(out)}"


async def _site(ctx: AlarmContext) -> str:
    views = await site_views(ctx.centre, ctx.alarm.site)
    view = views[0] if views else None
    link = (
        "link unknown (site not configured)"
        if view is None
        else f'<span class="{"online" if view.online else "offline"}">'
        f"{'online' if view.online else 'OFFLINE'}</span>, {esc(armed_words(view.armed))},"
        f" last poll {local(view.last_poll)}, last heard {local(view.last_heard)}"
    )
    contacts = "".join(
        f"<li>{esc(c.name)} <small>({esc(c.role)})</small> <a class='phone' href='tel:{esc(c.phone)}'>"
        f"{esc(c.phone)}</a></li>"
        for c in ctx.entry.contacts
    )
    e = ctx.entry
    return (
        f'<h2>Site <a href="/sites/{esc(ctx.alarm.site)}">{esc(ctx.alarm.site)}</a> {esc(e.name)}</h2>'
        f'<p class="address">{esc(e.address or "no address in the site book")}</p><p>{link}</p>'
        + (f'<p class="instructions">{esc(e.instructions)}</p>' if e.instructions else "")
        + (f"<p>Schedule: {esc(e.schedule)}</p>" if e.schedule else "")
        + f"<h3>Contacts</h3><ul>{contacts or '<li>none in the site book</li>'}</ul>"
    )


async def _more(ctx: AlarmContext) -> str:
    """Sections other features add (the mobile panic button: positions, listen-in)."""
    parts = [await section(ctx.request, ctx.alarm) for section in ctx.centre.alarm_sections]
    return "".join(p for p in parts if p)


async def load(centre: Centre, request: web.Request, alarm: Alarm) -> AlarmContext:
    until = alarm.closed_at or centre.clock()
    events = await centre.store.history(
        alarm.site, since=alarm.opened_at - LOOKBACK, until=until + timedelta(seconds=1), limit=300
    )
    others = [o for o in await centre.desk.open_at(alarm.site) if o.id != alarm.id]
    return AlarmContext(
        centre,
        request,
        alarm,
        await centre.book.get(alarm.site),
        await centre.desk.log(alarm.id),
        list(reversed(events)),
        others,
        centre.clock(),
    )


async def render_parts(ctx: AlarmContext) -> dict[str, str]:
    plan = await ctx.centre.desk.plan(ctx.alarm)
    until = ctx.alarm.closed_at or ctx.now
    evidence = [
        e
        for e in await ctx.centre.evidence.for_site(ctx.alarm.site, ctx.alarm.opened_at - LOOKBACK, limit=60)
        if e.received_at <= until
    ]
    return {
        "head": _head(ctx),
        "others": _others(ctx),
        "plan": plan_section(ctx.request, ctx.alarm, plan, ctx.entry, ctx.mine, ctx.now),
        "work": _work(ctx, plan),
        "notes": _notes(ctx),
        "evidence": _evidence_groups(ctx, evidence),
        "timeline": _timeline(ctx),
        "site": await _site(ctx),
        "more": await _more(ctx),
    }
