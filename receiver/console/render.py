"""The page frame and small HTML helpers; every value passes through ``esc``."""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiohttp import web

from receiver.auth import Role
from receiver.gate import PRINCIPAL, SESSION

__all__ = ["LOCAL", "csrf_field", "esc", "html_page", "local", "page"]

LOCAL = ZoneInfo("Europe/Amsterdam")  # UTC inside, local time only on screens


def esc(value: object) -> str:
    return escape("" if value is None else str(value))


def local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    return moment.astimezone(LOCAL).strftime(fmt) if moment else "–"


def csrf_field(request: web.Request) -> str:
    session = request.get(SESSION)
    return f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">' if session else ""


def html_page(title: str, body: str, *, status: int = 200) -> web.Response:
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{esc(title)} · Wachter</title><link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head>'
        f"<body>{body}</body></html>"
    )
    return web.Response(text=text, content_type="text/html", status=status)


def page(request: web.Request, title: str, body: str, *, status: int = 200) -> web.Response:
    """A signed-in page: navigation, user, sign-out form, then ``body``."""
    user = request[PRINCIPAL]
    links = [("/", "Alarm queue"), ("/sites", "Sites")]
    if user.may(Role.SUPERVISOR):
        links.append(("/audit", "Audit log"))
    if user.may(Role.ADMIN):
        links.append(("/admin/users", "Users"))
        links.append(("/admin/mobile", "Mobile"))
    nav = "".join(f'<a href="{href}">{esc(text)}</a>' for href, text in links)
    header = (
        f'<header><strong>Wachter alarm centre</strong><nav>{nav}</nav><span class="who">'
        f"{esc(user.name)} ({esc(user.role.name.lower())})</span>"
        f'<form method="post" action="/logout">{csrf_field(request)}<button>Sign out</button></form>'
        "</header>"
    )
    return html_page(title, f"{header}<main><h1>{esc(title)}</h1>{body}</main>", status=status)
