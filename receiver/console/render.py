"""The page frame and small HTML helpers; every value passes through ``esc``.

Every signed-in page carries the alert bar (filled live by console.js from ``/alerts``: the
sound, the title flash, desktop notifications and who is at a console), so an alarm is heard
whatever page the operator is on.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from aiohttp import web

from receiver.auth import Role
from receiver.console.context import CENTRE
from receiver.gate import PRINCIPAL, SESSION

__all__ = ["LOCAL", "csrf_field", "esc", "hms", "html_page", "local", "page", "seconds"]

LOCAL = ZoneInfo("Europe/Amsterdam")  # UTC inside, local time only on screens


def esc(value: object) -> str:
    return escape("" if value is None else str(value))


def local(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S %Z") -> str:
    """A time as the operator reads it, with its zone (CET/CEST) unless ``fmt`` leaves it out."""
    return moment.astimezone(LOCAL).strftime(fmt) if moment else "–"


def hms(moment: datetime | None) -> str:
    """A time of today as the operator reads it: 21:03:05 CET."""
    return local(moment, "%H:%M:%S %Z")


def seconds(delta: float) -> str:
    """A duration in words an operator reads at a glance: "42 s", "3 min 5 s", "2 h 10 min"."""
    total = max(0, int(delta))
    if total < 60:
        return f"{total} s"
    if total < 3600:
        return f"{total // 60} min {total % 60} s"
    return f"{total // 3600} h {total % 3600 // 60} min"


def csrf_field(request: web.Request) -> str:
    session = request.get(SESSION)
    return f'<input type="hidden" name="csrf" value="{esc(session.csrf)}">' if session else ""


def html_page(title: str, body: str, *, status: int = 200, attrs: str = "") -> web.Response:
    text = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} · Wachter</title>"
        '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/console.css">'
        '<script src="/static/console.js" defer></script></head>'
        f"<body{attrs}>{body}</body></html>"
    )
    return web.Response(text=text, content_type="text/html", status=status)


def page(request: web.Request, title: str, body: str, *, status: int = 200) -> web.Response:
    """A signed-in page: navigation, alert bar, user, sign-out form, then ``body``."""
    user = request[PRINCIPAL]
    links = [("/", "Alarm queue", "q"), ("/sites", "Sites", "s"), ("/handover", "Shift handover", "h")]
    if user.may(Role.SUPERVISOR):
        links.append(("/audit", "Audit log", ""))
    if user.may(Role.ADMIN):
        links += [("/admin/sites", "Site book", ""), ("/admin/users", "Users", ""),
                  ("/admin/mobile", "Mobile", "")]
    nav = "".join(
        f'<a href="{href}"{f" data-key={key}" if key else ""}>{esc(text)}</a>' for href, text, key in links
    )
    header = (
        f"<header><strong>Wachter alarm centre</strong><nav>{nav}</nav>"
        '<span id="present" class="present" title="signed in with a console open"></span>'
        f'<span class="who">signed in as {esc(user.name)} ({esc(user.role.name.lower())})</span>'
        f'<form method="post" action="/logout">{csrf_field(request)}<button>Sign out</button></form>'
        "</header>"
        '<div id="alert-bar" class="alert-bar" role="alert" aria-live="assertive" hidden></div>'
        '<div id="sound-needed" class="sound-needed" hidden>Alarm sound is blocked by the browser:'
        ' <button type="button" id="sound-on">switch sound on</button></div>'
        '<div id="keys-help" class="keys-help" hidden><h2>Keys</h2><dl>'
        "<dt>j / k or ↓ / ↑</dt><dd>select the next / previous alarm</dd><dt>Enter</dt><dd>open it</dd>"
        "<dt>a</dt><dd>acknowledge (the alarm open, or the selected one)</dd><dt>t</dt><dd>take it</dd>"
        "<dt>n</dt><dd>write a note</dd><dt>1 – 9</dt><dd>go to that plan step</dd>"
        "<dt>q</dt><dd>alarm queue</dd><dt>s</dt><dd>sites</dd><dt>h</dt><dd>shift handover</dd>"
        "<dt>?</dt><dd>this help</dd><dt>Esc</dt><dd>close this help / leave a field</dd></dl></div>"
    )
    every = request.app[CENTRE].desk.alerting.repeat_every.total_seconds()
    attrs = (
        f' data-user="{esc(user.name)}" data-supervisor="{"1" if user.may(Role.SUPERVISOR) else ""}"'
        f' data-alert-every="{every * 1000:.0f}"'
    )
    return html_page(title, f"{header}<main><h1>{esc(title)}</h1>{body}</main>", status=status, attrs=attrs)
