"""The receiver's HTTP side: the JSON API and the operators' console behind one gate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from aiohttp import web

from receiver import api
from receiver.console import admin, admin_book, alarm_view, alerts, handover, login, queue, report, sites
from receiver.console.context import CENTRE, Centre
from receiver.gate import gate, secure_headers

__all__ = ["make_app"]

STATIC = Path(__file__).resolve().parent / "console" / "static"


async def _end_streams(app: web.Application) -> None:
    app[CENTRE].bulletin.close()


def make_app(centre: Centre, extensions: Sequence[Callable[[web.Application], None]] = ()) -> web.Application:
    """``extensions`` add their own routes (the mobile panic button: ``receiver.mobile.install``)."""
    # forms are small; evidence is read as a stream against its own limit (receiver/api.py)
    app = web.Application(middlewares=[gate], client_max_size=1024 * 1024)
    app[CENTRE] = centre
    app.on_response_prepare.append(secure_headers)
    for module in (login, queue, alerts, alarm_view, sites, report, handover, admin, admin_book, api):
        app.router.add_routes(module.routes)
    for extend in extensions:
        extend(app)
    app.router.add_static("/static/", STATIC)
    app.on_shutdown.append(_end_streams)
    return app
