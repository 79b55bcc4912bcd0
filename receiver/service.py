"""The receiver service: store, DC-09 listeners and HTTP, owned by one async context."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from config.receiver import ReceiverConfig
from receiver.handler import FrameHandler
from receiver.http import make_app
from receiver.listener import Listener
from receiver.store import EventStore
from receiver.supervision import LinkBook

__all__ = ["Receiver", "run_receiver"]

log = logging.getLogger(__name__)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Receiver:
    """``async with Receiver(cfg) as r`` serves until the block ends; ports are then known."""

    def __init__(self, config: ReceiverConfig, clock: Callable[[], datetime] = _utcnow) -> None:
        self.config = config
        self.store = EventStore(config.store_path)
        self.handler = FrameHandler(config.accounts, self.store, LinkBook(), clock)
        self.listeners = [Listener(ep, self.handler) for ep in config.listen]
        self._runner: web.AppRunner | None = None
        self.http_port = config.http.port

    async def __aenter__(self) -> Receiver:
        await self.store.__aenter__()
        try:
            for listener in self.listeners:
                await listener.start()
            self._runner = web.AppRunner(make_app(self.store, self.handler), access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.config.http.host, self.config.http.port)
            await site.start()
            server = site._server
            if server is not None and isinstance(server, asyncio.Server) and server.sockets:
                self.http_port = server.sockets[0].getsockname()[1]
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        log.info("receiver HTTP on http://%s:%d", self.config.http.host, self.http_port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for listener in self.listeners:
            await listener.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await self.store.__aexit__()

    def port(self, transport: str) -> int:
        return next(li.port for li in self.listeners if li.transport == transport)


async def run_receiver(config: ReceiverConfig, stop: asyncio.Event) -> None:
    async with Receiver(config):
        await stop.wait()
