"""Sign in and out. Failures are rate-limited per user name and per address, and audited."""

from __future__ import annotations

import re

from aiohttp import web

from receiver.audit import record
from receiver.console.context import CENTRE
from receiver.console.render import esc, html_page
from receiver.gate import COOKIE, SESSION

__all__ = ["routes"]

routes = web.RouteTableDef()


def _form(next_path: str, message: str = "") -> str:
    warn = f'<p class="error" role="alert">{esc(message)}</p>' if message else ""
    return (
        '<main class="login"><h1>Wachter alarm centre</h1>'
        f'{warn}<form method="post" action="/login"><input type="hidden" name="next"'
        f' value="{esc(next_path)}">'
        '<label>User <input name="user" autocomplete="username" required autofocus></label>'
        '<label>Password <input name="password" type="password" autocomplete="current-password"'
        ' required></label>'
        "<button>Sign in</button></form></main>"
    )


#: a path on this server: "/" then path characters, never "//" or a backslash (browsers read
#: "/\\evil" and "/\t/evil" as another host), no control characters, no scheme
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,500}")


def _safe_next(value: str) -> str:
    """Only local paths: a login link must not send the operator elsewhere."""
    return value if _LOCAL_PATH.fullmatch(value) else "/"


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    return html_page("Sign in", _form(_safe_next(request.query.get("next", "/"))))


@routes.post("/login")
async def login(request: web.Request) -> web.StreamResponse:
    centre = request.app[CENTRE]
    form = await request.post()
    name, password = str(form.get("user", ""))[:64], str(form.get("password", ""))
    keys = (f"user:{name}", f"addr:{request.remote}")
    next_path = _safe_next(str(form.get("next", "/")))
    attempt = await centre.limiter.attempt(*keys)  # counted before the password is checked
    if attempt is None:
        return html_page(
            "Sign in", _form(next_path, "Too many failed attempts; wait a few minutes."), status=429
        )
    session = await centre.accounts.login(name, password)
    if session is not None:
        await centre.limiter.forgive(attempt)
    else:
        async with centre.accounts.db.transaction() as tx:
            await record(tx, centre.clock(), name or "?", "login_failed", detail=f"from {request.remote}")
        return html_page("Sign in", _form(next_path, "Wrong user name or password."), status=401)
    response = web.HTTPFound(next_path)
    response.set_cookie(
        COOKIE,
        session.secret,
        httponly=True,
        samesite="Strict",
        secure=centre.secure_cookies,
        path="/",
        max_age=int(centre.accounts.session_ttl.total_seconds()),
    )
    raise response


@routes.post("/logout")
async def logout(request: web.Request) -> web.StreamResponse:
    session = request.get(SESSION)
    if session is not None:
        await request.app[CENTRE].accounts.logout(session)
    response = web.HTTPFound("/login")
    response.del_cookie(COOKIE, path="/")
    raise response
