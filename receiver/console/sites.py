"""Sites board (link, armed state, open alarms) and a site's searchable event history."""

from __future__ import annotations

from aiohttp import web

from receiver.console.context import CENTRE
from receiver.console.render import esc, local, page
from receiver.console.sitestate import site_views

__all__ = ["routes"]

routes = web.RouteTableDef()
PAGE_SIZE = 100


@routes.get("/sites")
async def board(request: web.Request) -> web.Response:
    centre = request.app[CENTRE]
    rows = "".join(
        f'<tr class="{"online" if v.online else "offline"}"><td><a'
        f' href="/sites/{esc(v.site)}">{esc(v.site)}</a></td>'
        f"<td>{esc(v.name)}</td><td>{esc(v.account)}</td><td>{'online' if v.online else 'OFFLINE'}</td>"
        f"<td>{esc(v.armed)}</td><td>{local(v.last_poll)}</td><td>{v.rejections or ''}</td>"
        f"<td>{f'<a href=/alarms/{v.open_alarm}>alarm {v.open_alarm}</a>' if v.open_alarm else ''}</td></tr>"
        for v in await site_views(centre)
    )
    body = (
        "<table id='sites'><thead><tr><th>Site</th><th>Name</th><th>Account</th><th>Link</th><th>Armed</th>"
        "<th>Last poll</th><th>Refused frames</th><th>Open"
        f" alarm</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    return page(request, "Sites", body)


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
    rows = "".join(
        f"<tr><td>{e.id}</td><td>{local(e.received_at)}</td><td>{esc(e.code)}</td>"
        f"<td>{esc(e.zone or '')}</td>"
        f"<td>{esc(e.cid or '')}</td><td><code>{esc(e.data)}</code></td></tr>"
        for e in events
    )
    more = (
        f'<a href="/sites/{esc(site)}?q={esc(search)}&amp;before={events[-1].id}">older</a>'
        if len(events) == PAGE_SIZE
        else ""
    )
    alarms = "".join(
        f'<li><a href="/alarms/{a.id}">{local(a.opened_at)} {esc(a.title)}</a> '
        f"{esc(a.outcome or ('open' if a.is_open else ''))}</li>"
        for a in await centre.desk.recent(site, 10)
    )
    body = (
        f"<p>{esc(view.name)} · account {esc(view.account)} · {'online' if view.online else 'OFFLINE'} · "
        f"{esc(view.armed)} · last poll {local(view.last_poll)} · "
        f'<a href="/sites/{esc(site)}/report">monthly report</a></p>'
        f"<h2>Recent alarms</h2><ul>{alarms or '<li>none</li>'}</ul><h2>History</h2>"
        f'<form method="get" class="search"><input name="q" value="{esc(search)}" placeholder="code, zone'
        ' or text">'
        "<button>Search</button></form>"
        "<table id='history'><thead><tr><th>#</th><th>Received</th><th>Code</th><th>Zone</th><th>Contact"
        " ID</th>"
        f"<th>Data</th></tr></thead><tbody>{rows}</tbody></table>{more}"
    )
    return page(request, f"Site {site}", body)
