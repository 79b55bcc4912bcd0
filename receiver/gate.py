"""Every request passes here: who is it (session cookie on the console, bearer token on the
API), may they, did a form carry its CSRF token, and are the ids and months it names well
formed. Pages without a session redirect to the login; the API answers 401.

Bearer tokens open ``/api/`` only, and a token changes something (any method but GET/HEAD)
only with the ``act`` scope: a read token stolen from a dashboard cannot take an alarm. The
console's forms need a session cookie and the session's CSRF token. Every response, errors
included, carries the security headers (``secure_headers``, run as each response is prepared).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from receiver.auth import Principal, Role, Scope, Session
from receiver.console.context import CENTRE
from receiver.console.live import SIGNED_IN

__all__ = ["COOKIE", "PRINCIPAL", "SECURITY_HEADERS", "SESSION", "gate", "require", "secure_headers"]

COOKIE = "wachter_session"
PRINCIPAL = web.RequestKey("principal", Principal)
SESSION = web.RequestKey("session", Session)  # absent for bearer-token requests
PUBLIC = ("/login", "/static/", "/mobile/")  # /mobile/: the phone app, its device token checked there
ROLE_FOR_PREFIX = (("/admin", Role.ADMIN), ("/audit", Role.SUPERVISOR), ("/api/audit", Role.SUPERVISOR))
SITE_TOKEN_PATHS = ("/api/evidence",)
READING = ("GET", "HEAD", "OPTIONS")
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self';"
    " script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_ID = re.compile(r"[0-9]{1,18}")  # ASCII digits that fit a 64-bit row id (not "²", not 20 digits)
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
#: the shape of the parameters (query or form) routes share; anything else is refused before a
#: handler sees it
PATH_IDS = ("alarm", "evidence")
QUERY_RULES = {
    "after": (_ID, "a whole number"),
    "before": (_ID, "a whole number"),
    "limit": (_ID, "a whole number"),
    "step": (_ID, "a whole number"),
    "month": (re.compile(r"(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])"), "a month such as 2026-11"),
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
        if not _is_api(request):
            raise web.HTTPUnauthorized(text="API tokens open /api/ only; the console needs a session")
        return await centre.accounts.token(auth.removeprefix("Bearer ").strip()), None
    secret = request.cookies.get(COOKIE)
    session = await centre.accounts.session(secret) if secret else None
    return (session.user if session else None), session


async def _csrf_ok(request: web.Request, session: Session) -> bool:
    sent = request.headers.get("X-CSRF-Token")
    if sent is None and request.content_type in FORMS:
        sent = str((await request.post()).get("csrf", ""))
    return sent == session.csrf


async def _well_formed(request: web.Request) -> None:
    """Ids and months in the path, query and form: refused here, not a 500 in a handler."""
    for name in PATH_IDS:
        raw = request.match_info.get(name)
        if raw is not None and not _ID.fullmatch(raw):
            raise web.HTTPNotFound(text=f"no such {name}")
    fields: list[Mapping[str, object]] = [request.query]
    if request.method not in READING and request.content_type in FORMS:
        fields.append(await request.post())  # read once; handlers get it from the cache
    for values in fields:
        for name, (shape, what) in QUERY_RULES.items():
            value = values.get(name)
            if isinstance(value, str) and value and not shape.fullmatch(value):
                raise web.HTTPBadRequest(text=f"{name} must be {what}")


@web.middleware
async def gate(request: web.Request, handler: Handler) -> web.StreamResponse:
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
    if request.method not in READING:
        if session is not None and not await _csrf_ok(request, session):
            return _denied(request, 403, "the form is stale or forged (CSRF token missing); reload the page")
        if session is None and principal.role != Role.SITE and principal.scope != Scope.ACT:
            return _denied(request, 403, "this token may only read; an admin can issue one that may act")
    await _well_formed(request)
    request[PRINCIPAL] = principal
    if session is not None:
        request[SESSION] = session
        request[SIGNED_IN] = lambda: _still_signed_in(request, session)
    return await handler(request)


async def _still_signed_in(request: web.Request, session: Session) -> bool:
    """For long responses (the live stream): is the session still valid (not signed out,
    expired, or its user removed)?"""
    return await request.app[CENTRE].accounts.session(session.secret) is not None


async def secure_headers(_request: web.Request, response: web.StreamResponse) -> None:
    """``on_response_prepare``: every response gets the headers, errors and streams too."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def require(request: web.Request, role: Role) -> Principal:
    principal: Principal = request[PRINCIPAL]
    if not principal.may(role):
        raise web.HTTPForbidden(text=f"this needs the {role.name.lower()} role")
    return principal
