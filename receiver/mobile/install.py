"""Plugging the mobile side into the receiver's HTTP app: its routes, its static files, and
its section of the alarm page."""

from __future__ import annotations

from aiohttp import web

from receiver.console.context import CENTRE
from receiver.mobile import admin, operator, panel, phone
from receiver.mobile.context import MOBILE
from receiver.mobile.service import MobileService

__all__ = ["install"]


def install(app: web.Application, mobile: MobileService) -> None:
    app[MOBILE] = mobile
    for module in (phone, operator, admin):
        app.router.add_routes(module.routes)
    app.router.add_static("/mobile/static/", phone.STATIC)
    app[CENTRE].alarm_sections.append(panel.panel)
    app[CENTRE].alarm_assets.extend(panel.ASSETS)
