"""PostgreSQL notifications between receiver processes on one database (LISTEN/NOTIFY).

Two channels: ``wachter_events`` (an event was committed: wake the alarm desks) and
``wachter_live`` (a console notice: an alarm changed, evidence arrived). Payloads are
``"<origin> <text>"``; each process ignores its own, which it has already handled locally.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg

from protocol.tasks import stop
from receiver.console.live import RESYNC, Bulletin

__all__ = ["EVENTS_CHANNEL", "LIVE_CHANNEL", "NoticeRelay", "Subscription", "new_origin"]

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "wachter_events"
LIVE_CHANNEL = "wachter_live"
RETRY = 1.0  # seconds between checks of the LISTEN connection, and between reconnects


def new_origin() -> str:
    return secrets.token_hex(6)


class Subscription:
    """A dedicated connection LISTENing on channels. When PostgreSQL goes away it reconnects
    and calls ``on_reconnect``: notifications sent meanwhile are lost, so catch up then."""

    def __init__(
        self,
        url: str,
        handlers: Mapping[str, Callable[[str], None]],
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self.url = url
        self.handlers = dict(handlers)
        self.on_reconnect = on_reconnect
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Subscription:
        await self._connect()
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="pg-listen")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stop(self._task)
        self._task = None
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), 2)
            self._conn = None

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self.url, timeout=RETRY * 10)
        for channel, handler in self.handlers.items():
            await conn.add_listener(channel, _callback(handler))
        self._conn = conn

    async def _watch(self) -> None:
        warned = False
        while True:
            await asyncio.sleep(RETRY)
            if self._conn is not None and not self._conn.is_closed():
                continue
            try:
                await self._connect()
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                if not warned:
                    log.warning("LISTEN connection lost, reconnecting every %.0f s (%s)", RETRY, exc)
                    warned = True
                continue
            log.info("LISTEN connection restored")
            warned = False
            if self.on_reconnect is not None:
                self.on_reconnect()


def _callback(handler: Callable[[str], None]) -> Callable[[Any, int, str, object], None]:
    def deliver(_conn: Any, _pid: int, _channel: str, payload: object) -> None:
        handler(str(payload))

    return deliver


class NoticeRelay:
    """Carries this process's console notices to every other receiver on the database, and
    theirs into this process's ``Bulletin``: a console on any receiver sees every change."""

    def __init__(self, url: str, bulletin: Bulletin, timeout: float = 10.0) -> None:
        self.url = url
        self.timeout = timeout
        self.bulletin = bulletin
        self.origin = new_origin()
        self.failed = 0  # notices that could not be sent (logged); consoles resync on reconnect
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._pool: asyncpg.Pool | None = None
        self._subscription = Subscription(url, {LIVE_CHANNEL: self._heard}, self._resync)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> NoticeRelay:
        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=1,
                                               command_timeout=self.timeout, timeout=self.timeout)
        try:
            await self._subscription.__aenter__()
        except BaseException:
            await self._pool.close()
            raise
        self._task = asyncio.get_running_loop().create_task(self._send_loop(), name="pg-notify")
        self.bulletin.relay_to(self._queue.put_nowait)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stop(self._task)
        self._task = None
        await self._subscription.__aexit__()
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def _send_loop(self) -> None:
        assert self._pool is not None
        while True:
            text = await self._queue.get()
            try:
                await self._pool.execute("SELECT pg_notify($1, $2)", LIVE_CHANNEL, f"{self.origin} {text}")
            except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                self.failed += 1
                log.warning("console notice not relayed to the other receivers (%s): %s", exc, text)

    def _heard(self, payload: str) -> None:
        origin, _, text = payload.partition(" ")
        if origin != self.origin:
            self.bulletin.deliver(text)

    def _resync(self) -> None:
        """Notices from other receivers may have been missed: every console reloads its queue."""
        self.bulletin.deliver(RESYNC)
