"""Sites board (link, armed state, open alarms) and a site's page: address, zones by name,
contacts, schedule, the plan per response, open and recent alarms, and its searchable history
in words."""

from __future__ import annotations

from aiohttp import web

from config.receiver import RESPONSES
from receiver.alarms import Response
from receiver.console.context import CENTRE
from receiver.console.render import esc, local, page
from receiver.console.sitestate import armed_words, site_views
from receiver.sitebook import SiteEntry
from receiver.store import StoredEvent
from receiver.wording import code_words, contact_id, zone_words

__all__ = ["routes"]

routes = web.RouteTableDef()
PAGE_SIZE = 100


@routes.get("/sites")
async def board(request: web.Request) -> web.Response:
    centre = request.app[CENTRE]
    views = await site_views(centre)
    rows = "".join(
        f'<tr class="{"online" if v.online else "offline"}"><td><a'
        f' href="/sites/{esc(v.site)}">{esc(v.site)}</a></td>'
        f"<td>{esc(v.name)}</td><td>{esc(v.account)}</td><td>{'online' if v.online else 'OFFLINE'}</td>"
        f"<td>{esc(v.armed)}</td><td>{local(v.last_poll)}</td><td>{v.rejections or ''}</td>"
        "<td>"
        + " ".join(f'<a href="/alarms/{i}">{esc(label)}</a>' for i, label in v.open_alarms)
        + "</td></tr>"
        for v in views
    )
    offline = sum(1 for v in views if not v.online)
    body = (
        f'<p class="hint">{len(views)} sites · {offline} not heard within their poll interval</p>'
        "<table id='sites'><thead><tr><th>Site</th><th>Name</th><th>Account</th><th>Link</th><th>Armed</th>"
        "<th>Last poll</th><th>Refused frames (in a row)</th><th>Open"
        f" alarms</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return page(request, "Sites", body)


def _history_rows(events: list[StoredEvent], entry: SiteEntry) -> str:
    rows = []
    for e in events:
        cid, derived = contact_id(e.code, e.cid)
        rows.append(
            f"<tr><td>{e.id}</td><td>{local(e.received_at)}</td><td><strong>{esc(e.code)}</strong>"
            f" {esc(code_words(e.code))}</td><td>{esc(zone_words(e.zone, entry.zone(e.zone)))}</td>"
            f"<td>{esc(cid)}{' <small>(from SIA)</small>' if derived else ''}</td>"
            f"<td><code>{esc(e.data)}</code></td></tr>"
        )
    return "".join(rows)


def _book(entry: SiteEntry, site: str) -> str:
    zones = "".join(
        f"<tr><td>{z.zone}</td><td>{esc(z.name)}</td><td>{esc(z.location)}</td><td>{esc(z.device)}</td></tr>"
        for z in sorted(entry.zones, key=lambda z: z.zone)
    )
    contacts = "".join(
        f"<tr><td>{n}</td><td>{esc(c.name)}</td><td>{esc(c.role)}</td>"
        f"<td><a class='phone' href='tel:{esc(c.phone)}'>{esc(c.phone)}</a></td>"
        f"<td><a class='phone' href='tel:{esc(c.alt_phone)}'>{esc(c.alt_phone)}</a></td></tr>"
        for n, c in enumerate(entry.contacts, 1)
    )
    own = ", ".join(Response(r).label for r in RESPONSES if r in entry.plans) or "none (the centre's plans)"
    return (
        '<div class="columns"><section><h2>Address and schedule</h2>'
        f'<p class="address">{esc(entry.address or "no address in the site book")}</p>'
        f"<p>Schedule: {esc(entry.schedule or '–')}</p>"
        + (f'<p class="instructions">{esc(entry.instructions)}</p>' if entry.instructions else "")
        + f"<p>Own action plans: {esc(own)}</p></section>"
        f"<section><h2>Contacts <small>(called in this order)</small></h2><table id='contacts'><thead><tr>"
        "<th>#</th><th>Name</th><th>Role</th><th>Phone</th><th>Other phone</th></tr></thead>"
        f"<tbody>{contacts or '<tr><td colspan=5>none</td></tr>'}</tbody></table></section></div>"
        f"<section><h2>Zones <small>({len(entry.zones)})</small></h2><table id='zones'>"
        "<thead><tr><th>Zone</th><th>Name</th><th>Where</th><th>Device</th></tr></thead>"
        f"<tbody>{zones or '<tr><td colspan=4>none in the site book</td></tr>'}</tbody></table></section>"
    )


@routes.get("/sites/{site}")
async def detail(request: web.Request) -> web.Response:
    centre = request.app[CENTRE]
    site = request.match_info["site"]
    if site not in centre.sites:
        raise web.HTTPNotFound(text="no such site")
    search = request.query.get("q", "").strip()[:64]
    before = request.query.get("before", "")
    events = await centre.store.history(
        site, search=search, before_id=int(before) if before.isdigit() else None, limit=PAGE_SIZE
    )
    [view] = await site_views(centre, site)
    entry = await centre.book.get(site)
    more = (
        f'<a href="/sites/{esc(site)}?q={esc(search)}&amp;before={events[-1].id}">older</a>'
        if len(events) == PAGE_SIZE
        else ""
    )
    alarms = "".join(
        f'<li><a href="/alarms/{a.id}">{local(a.opened_at)} {esc(a.title)}</a> '
        f"{esc(a.outcome or ('OPEN' if a.is_open else ''))}</li>"
        for a in await centre.desk.recent(site, 10)
    )
    body = (
        f"<p>{esc(entry.name or view.name)} · account {esc(view.account)} · "
        f"{'online' if view.online else 'OFFLINE'} · {esc(armed_words(view.armed))}"
        f" · last poll {local(view.last_poll)} · "
        f'<a href="/sites/{esc(site)}/report">monthly report</a></p>'
        f"{_book(entry, site)}"
        f"<h2>Recent alarms</h2><ul>{alarms or '<li>none</li>'}</ul><h2>History</h2>"
        f'<form method="get" class="search"><input name="q" value="{esc(search)}" placeholder="code, zone'
        ' or text">'
        "<button>Search</button></form>"
        "<table id='history'><thead><tr><th>#</th><th>Received</th><th>Event</th><th>Zone</th><th>Contact"
        " ID</th>"
        f"<th>Raw</th></tr></thead><tbody>{_history_rows(events, entry)}</tbody></table>{more}"
    )
    return page(request, f"Site {site}", body)
