"""The doorbell: an intercom's "action URL" (DoorBird, Akuvox) or a push button on a GPIO pin.

The HTTP endpoint accepts GET or POST on ``/doorbell``, authenticated by a shared token compared
in constant time: as ``Authorization: Bearer <token>``, or as the password of HTTP Basic auth
(what ``http://user:token@host/doorbell`` in a device's action URL sends). ``?token=`` in the
query is refused unless ``allow_query_token`` is set, because URLs end up in logs; the access
log is off either way. Rings closer than ``min_interval`` apart count once.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from aiohttp import web

__all__ = ["DoorbellEndpoint", "token_from_request"]

log = logging.getLogger(__name__)


def token_from_request(request: web.Request, allow_query: bool) -> str | None:
    """The presented token, from Bearer, Basic-auth password or (if allowed) the query."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            return None
    return request.query.get("token") if allow_query else None


@dataclass
class DoorbellEndpoint:
    """Async context manager serving ``/doorbell``; ``on_ring`` runs on the event loop."""

    token: str
    on_ring: Callable[[], None]
    host: str = "0.0.0.0"  # noqa: S104 - the intercom is on the LAN; the token guards it
    port: int = 8089
    allow_query_token: bool = False
    min_interval: float = 1.0
    rejected: int = 0
    _runner: web.AppRunner | None = field(default=None, init=False)
    _last: float = field(default=float("-inf"), init=False)

    def __post_init__(self) -> None:
        if len(self.token) < 16:
            raise ValueError("the doorbell token needs at least 16 characters")

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_route("GET", "/doorbell", self._ring)
        app.router.add_route("POST", "/doorbell", self._ring)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _ring(self, request: web.Request) -> web.Response:
        given = token_from_request(request, self.allow_query_token)
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            self.rejected += 1
            log.warning("doorbell: rejected request from %s (%d so far)", request.remote, self.rejected)
            return web.Response(status=401, text="unauthorised\n")
        now = time.monotonic()
        if now - self._last >= self.min_interval:
            self._last = now
            self.on_ring()
        return web.Response(text="ok\n")
