"""Where a request handler finds the mobile service, and who the phone behind a request is."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from receiver.mobile.devices import Device
from receiver.mobile.service import MobileService

__all__ = ["MAX_BODY", "MOBILE", "device_of", "json_body", "service"]

MOBILE = web.AppKey("mobile", MobileService)
MAX_BODY = 16 * 1024  # a press or a batch of positions is far smaller


def service(request: web.Request) -> MobileService:
    return request.app[MOBILE]


async def device_of(request: web.Request, use: str) -> Device:
    """The enrolled, unrevoked device whose token the request carries, else 401."""
    auth = request.headers.get("Authorization", "")
    token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    device = await service(request).registry.authenticate(token, peer=str(request.remote), use=use) \
        if token else None
    if device is None:
        raise web.HTTPUnauthorized(text="this phone is not enrolled (or was revoked)",
                                   headers={"WWW-Authenticate": "Bearer"})
    return device


async def json_body(request: web.Request, model: type[BaseModel] | None = None) -> Any:
    """The request's JSON (at most MAX_BODY bytes), validated against ``model`` when given."""
    if request.content_type != "application/json":
        raise web.HTTPUnsupportedMediaType(text="send application/json")
    raw = await request.content.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BODY, actual_size=len(raw))
    try:
        data = json.loads(raw)
        return model.model_validate(data) if model is not None else data
    except (ValueError, ValidationError) as exc:
        raise web.HTTPBadRequest(text=f"bad request body: {str(exc)[:300]}") from None
