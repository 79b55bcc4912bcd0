"""Plugging the mobile side into the receiver's HTTP app: its routes, its static files, and
its section of the alarm page."""

from __future__ import annotations

from aiohttp import web

from receiver.console.context import CENTRE
from receiver.mobile import admin, operator, panel, phone
from receiver.mobile.context import MOBILE
from receiver.mobile.service import MobileService

__all__ = ["install"]


async def _end_listeners(app: web.Application) -> None:
    app[MOBILE].hub.end_listeners()


def install(app: web.Application, mobile: MobileService) -> None:
    app[MOBILE] = mobile
    app.on_shutdown.append(_end_listeners)  # a listen-in's loop reads the database: end it first
    for module in (phone, operator, admin):
        app.router.add_routes(module.routes)
    app.router.add_static("/mobile/static/", phone.STATIC)
    app[CENTRE].alarm_sections.append(panel.panel)
    app[CENTRE].alarm_assets.extend(panel.ASSETS)
