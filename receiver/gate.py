"""Every request passes here: who is it (session cookie or bearer token), may they, and did a
form carry its CSRF token. Pages without a session redirect to the login; the API answers 401.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from receiver.auth import Principal, Role, Session
from receiver.console.context import CENTRE

__all__ = ["COOKIE", "PRINCIPAL", "SESSION", "gate", "require"]

COOKIE = "wachter_session"
PRINCIPAL = web.RequestKey("principal", Principal)
SESSION = web.RequestKey("session", Session)  # absent for bearer-token requests
PUBLIC = ("/login", "/static/", "/mobile/")  # /mobile/: the phone app, its device token checked there
ROLE_FOR_PREFIX = (("/admin", Role.ADMIN), ("/audit", Role.SUPERVISOR), ("/api/audit", Role.SUPERVISOR))
SITE_TOKEN_PATHS = ("/api/evidence",)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self';"
    " script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _is_api(request: web.Request) -> bool:
    return request.path.startswith("/api/")


def _denied(request: web.Request, status: int, why: str) -> web.StreamResponse:
    if _is_api(request) or status != 401:
        cls = web.HTTPUnauthorized if status == 401 else web.HTTPForbidden
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        raise cls(text=why, headers=headers)
    raise web.HTTPFound(f"/login?next={request.path_qs}" if request.method == "GET" else "/login")


async def _who(request: web.Request) -> tuple[Principal | None, Session | None]:
    centre = request.app[CENTRE]
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        return await centre.accounts.token(auth.removeprefix("Bearer ").strip()), None
    secret = request.cookies.get(COOKIE)
    session = await centre.accounts.session(secret) if secret else None
    return (session.user if session else None), session


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        sent = str((await request.post()).get("csrf", ""))
    return sent == session.csrf


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
    response = await _checked(request, handler)
    response.headers.update({k: v for k, v in SECURITY_HEADERS.items() if k not in response.headers})
    return response


async def _checked(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(PUBLIC):
        return await handler(request)
    principal, session = await _who(request)
    if principal is None:
        return _denied(request, 401, "sign in, or send Authorization: Bearer <token>")
    if principal.role == Role.SITE and not request.path.startswith(SITE_TOKEN_PATHS):
        return _denied(request, 403, "a site token may only upload and read its own evidence")
    for prefix, role in ROLE_FOR_PREFIX:
        if request.path.startswith(prefix) and not principal.may(role):
            return _denied(request, 403, f"this needs the {role.name.lower()} role")
    if (
        request.method not in ("GET", "HEAD", "OPTIONS")
        and session is not None
        and not await _csrf_ok(request, session)
    ):
        return _denied(request, 403, "the form is stale or forged (CSRF token missing); reload the page")
    request[PRINCIPAL] = principal
    if session is not None:
        request[SESSION] = session
    return await handler(request)


def require(request: web.Request, role: Role) -> Principal:
    principal: Principal = request[PRINCIPAL]
    if not principal.may(role):
        raise web.HTTPForbidden(text=f"this needs the {role.name.lower()} role")
    return principal
