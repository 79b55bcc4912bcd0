"""Admin pages (users, API tokens) and the audit log for supervisors."""

from __future__ import annotations

from aiohttp import web

from receiver.auth import Role, Scope
from receiver.console.context import CENTRE
from receiver.console.render import csrf_field, esc, local, page
from receiver.gate import PRINCIPAL

__all__ = ["routes"]

routes = web.RouteTableDef()
ROLES = ("operator", "supervisor", "admin")
SCOPES = {Scope.READ: "the whole API (read)", Scope.ACT: "the whole API (read and act)"}


async def _users_body(request: web.Request, message: str = "") -> str:
    centre, me = request.app[CENTRE], request[PRINCIPAL].name
    csrf = csrf_field(request)

    def remove(name: str) -> str:
        if name == me:
            return ""
        return (f'<form method="post" action="/admin/users/remove" class="inline">{csrf}'
                f'<input type="hidden" name="name" value="{esc(name)}"><button>Remove</button></form>')

    users = "".join(
        f"<tr><td>{esc(n)}</td><td>{esc(r.name.lower())}</td><td>{remove(n)}</td></tr>"
        for n, r in await centre.accounts.users()
    )
    tokens = "".join(
        f"<tr><td>{esc(t.name)}</td><td>{esc(t.site or SCOPES[t.scope])}</td>"
        f"<td>{local(t.created_at)}</td><td>"
        f'<form method="post" action="/admin/tokens/revoke" class="inline">{csrf}'
        f'<input type="hidden" name="token" value="{esc(t.digest)}"><button>Revoke</button></form>'
        "</td></tr>"
        for t in await centre.accounts.tokens()
    )
    options = "".join(f"<option>{r}</option>" for r in ROLES)
    sites = "".join(f"<option>{esc(s)}</option>" for s in sorted(centre.sites))
    scopes = "".join(f'<option value="*{s.value}">{esc(text)}</option>' for s, text in SCOPES.items())
    return (
        f"{message}<table id='users'><thead><tr><th>User</th><th>Role</th><th></th></tr></thead>"
        f"<tbody>{users}</tbody></table>"
        f'<h2>Add or change a user</h2><form method="post" action="/admin/users">{csrf}'
        '<label>Name <input name="name" required pattern="[a-z0-9._-]{2,32}"></label>'
        f'<label>Role <select name="role">{options}</select></label>'
        '<label>Password <input name="password" type="password" minlength="10"'
        ' required></label><button>Save</button></form>'
        "<h2>API tokens</h2><table id='tokens'><thead><tr><th>Name</th><th>For</th><th>Created</th>"
        f"<th></th></tr></thead><tbody>{tokens}</tbody></table>"
        f'<h2>New API token</h2><form method="post" action="/admin/tokens">{csrf}'
        '<label>Name <input name="name" required></label>'
        f'<label>For <select name="site">{scopes}{sites}</select></label>'
        "<button>Create</button></form>"
    )


async def _refused(request: web.Request, why: object) -> web.Response:
    return page(request, "Users", await _users_body(request, f'<p class="error">{esc(why)}</p>'), status=400)


@routes.get("/admin/users")
async def users_page(request: web.Request) -> web.Response:
    return page(request, "Users", await _users_body(request))


@routes.post("/admin/users")
async def save_user(request: web.Request) -> web.Response:
    form = await request.post()
    name, role = str(form.get("name", "")), str(form.get("role", ""))
    if role not in ROLES or not 2 <= len(name) <= 32:
        return await _refused(request, "Name and role needed.")
    try:
        await request.app[CENTRE].accounts.add_user(
            name, Role[role.upper()], str(form.get("password", "")), by=request[PRINCIPAL].name
        )
    except ValueError as exc:
        return await _refused(request, exc)
    return page(request, "Users", await _users_body(request, f'<p class="ok">Saved {esc(name)}.</p>'))


@routes.post("/admin/users/remove")
async def remove_user(request: web.Request) -> web.Response:
    form = await request.post()
    name = str(form.get("name", ""))
    try:
        await request.app[CENTRE].accounts.remove_user(name, by=request[PRINCIPAL].name)
    except ValueError as exc:
        return await _refused(request, exc)
    return page(request, "Users", await _users_body(request, f'<p class="ok">Removed {esc(name)}.</p>'))


@routes.post("/admin/tokens/revoke")
async def revoke_token(request: web.Request) -> web.Response:
    form = await request.post()
    token, by = str(form.get("token", "")), request[PRINCIPAL].name
    try:
        await request.app[CENTRE].accounts.revoke_token(token, by=by)
    except ValueError as exc:
        return await _refused(request, exc)
    return page(request, "Users", await _users_body(request, '<p class="ok">Token revoked.</p>'))


@routes.post("/admin/tokens")
async def new_token(request: web.Request) -> web.Response:
    form = await request.post()
    name, target = str(form.get("name", ""))[:64], str(form.get("site", ""))
    scope = next((s for s in SCOPES if target == f"*{s.value}"), None)  # "*read": the whole API
    site = None if scope is not None else target
    if not name or (site is not None and site not in request.app[CENTRE].sites):
        return await _refused(request, "Name (and a known site).")
    token = await request.app[CENTRE].accounts.add_token(
        name, Role.SITE if site else Role.OPERATOR, site=site, scope=scope or Scope.READ,
        by=request[PRINCIPAL].name,
    )
    shown = f'<p class="ok">Token for {esc(name)} (shown once): <code id="new-token">{esc(token)}</code></p>'
    return page(request, "Users", await _users_body(request, shown))


@routes.get("/audit")
async def audit_page(request: web.Request) -> web.Response:
    target = request.query.get("target", "")[:64]
    entries = await request.app[CENTRE].audit.entries(target=target, limit=300)
    rows = "".join(
        f"<tr><td>{local(e.at)}</td><td>{esc(e.who)}</td><td>{esc(e.action)}</td><td>{esc(e.target)}</td>"
        f"<td>{esc(e.detail)}</td></tr>"
        for e in entries
    )
    body = (
        f'<form method="get"><input name="target" value="{esc(target)}"'
        ' placeholder="alarm:12"><button>Filter</button>'
        "</form><table id='audit'><thead><tr><th>When</th><th>Who</th><th>What</th><th>Target</th>"
        "<th>Detail</th>"
        f"</tr></thead><tbody>{rows}</tbody></table>"
    )
    return page(request, "Audit log", body)
