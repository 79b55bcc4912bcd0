"""The receiver service: store, DC-09 listeners, alarm desk and HTTP, owned by one async context.

The store URL picks the back end: ``sqlite:///PATH`` for one process, ``postgresql://...`` for
several receiver processes on one database (shared tables, notifications between them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from aiohttp import web

from config.receiver import DEFAULT_PLANS, ReceiverConfig, redact_url
from protocol.sdnotify import watchdog_loop
from protocol.tasks import stop
from receiver.admission import Admission, connection_room
from receiver.audit import AUDIT_SCHEMA, AuditLog
from receiver.auth import AUTH_SCHEMA, Accounts, LoginLimiter
from receiver.console.context import AlarmSection, Centre
from receiver.console.live import Bulletin
from receiver.db import Database, SqliteDatabase
from receiver.desk import DESK_SCHEMA, AlarmDesk
from receiver.evidence import EVIDENCE_SCHEMA, EvidenceStore
from receiver.handler import FrameHandler
from receiver.http import make_app
from receiver.links import LINKS_SCHEMA
from receiver.listener import Listener
from receiver.mobile.install import install as install_mobile
from receiver.mobile.schema import MOBILE_SCHEMA
from receiver.mobile.service import MobileService
from receiver.pg_db import PgDatabase
from receiver.pg_notify import NoticeRelay
from receiver.pg_store import PgEventStore
from receiver.shift import SHIFT_SCHEMA, Presence, ShiftLog
from receiver.sitebook import SITEBOOK_SCHEMA, SiteBook
from receiver.sqlite_store import SqliteEventStore
from receiver.store import Clock, EventStore, utcnow
from receiver.supervision import LinkBook, SiteWatch

__all__ = ["SCHEMAS", "Receiver", "open_storage", "run_receiver"]

SCHEMAS = (DESK_SCHEMA, AUDIT_SCHEMA, AUTH_SCHEMA, EVIDENCE_SCHEMA, LINKS_SCHEMA, SITEBOOK_SCHEMA,
           SHIFT_SCHEMA, MOBILE_SCHEMA)

log = logging.getLogger(__name__)

TICK = 1.0  # seconds between supervision checks; new events wake the desk at once
DESK_PACE = 0.02  # seconds: under a stream of events, one desk pass takes all that came meanwhile


def open_storage(config: ReceiverConfig, clock: Clock = utcnow) -> tuple[EventStore, Database]:
    """The event store and the console's tables, on the back end the store URL names."""
    if config.store_kind == "postgresql":
        timeout = config.limits.database_timeout.total_seconds()
        return (PgEventStore(config.store, clock, timeout=timeout),
                PgDatabase(config.store, SCHEMAS, timeout=timeout))
    return SqliteEventStore(config.store_path, clock), SqliteDatabase(config.store_path, SCHEMAS)


def recordings_dir(config: ReceiverConfig) -> Path:
    """Where listen-in recordings go: configured, else beside the SQLite file."""
    if config.mobile.recordings_dir is not None:
        return config.mobile.recordings_dir
    if config.store_kind == "sqlite":
        return config.store_path.parent / "recordings"
    return Path("/var/lib/wachter/recordings")


class Receiver:
    """``async with Receiver(cfg) as r`` serves until the block ends; ports are then known."""

    def __init__(self, config: ReceiverConfig, clock: Clock = utcnow) -> None:
        self.config = config
        self.clock = clock
        self.store, self.db = open_storage(config, clock)
        self.book = SiteBook(self.db, clock, DEFAULT_PLANS)
        self.desk = AlarmDesk(self.db, clock, self.book, config.alerting)
        self.accounts = Accounts(self.db, clock, config.console.session_ttl)
        limits = config.limits
        self.handler = FrameHandler(config.accounts, self.store, LinkBook(self.db), clock,
                                    log_interval=limits.log_interval.total_seconds())
        self.watch = SiteWatch(config.accounts, self.handler.links, self.desk, clock())
        self.bulletin = Bulletin()
        self.alarm_sections: list[AlarmSection] = []  # extra alarm-page sections (mobile)
        shared = config.store_kind == "postgresql"
        timeout = config.limits.database_timeout.total_seconds()
        self.relay = NoticeRelay(config.store, self.bulletin, timeout) if shared else None
        self._storage = contextlib.AsyncExitStack()
        self.admission = Admission(limits.connections, limits.connections_per_address,
                                   limits.ban.total_seconds())  # shared by every listener
        self.listeners = [Listener(ep, self.handler, limits, self.admission) for ep in config.listen]
        self._wake = asyncio.Event()
        self._urgent = asyncio.Event()  # a hold-up or panic was committed: no pacing
        self._desk_task: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self.http_port = config.http.port
        self.mobile = MobileService(
            config.mobile, self.db, self.store, self.desk, self.handler.committer.add,
            {a.site: a.account for a in config.accounts}, clock, recordings_dir(config),
            notify=self.bulletin.publish,
        )

    def centre(self) -> Centre:
        console = self.config.console
        return Centre(
            store=self.store, desk=self.desk, accounts=self.accounts, audit=AuditLog(self.db),
            evidence=EvidenceStore(self.db, self.clock), handler=self.handler,
            sites={a.site: a for a in self.config.accounts}, bulletin=self.bulletin,
            limiter=LoginLimiter(self.db, self.clock, console.login_attempts, console.login_window),
            clock=self.clock, secure_cookies=console.secure_cookies, book=self.book,
            presence=Presence(self.db, self.clock), shift_log=ShiftLog(self.db, self.clock),
            alarm_sections=self.alarm_sections,
            evidence_bytes=self.config.limits.evidence_bytes,
        )

    async def __aenter__(self) -> Receiver:
        log.info("event store %s", redact_url(self.config.store))
        try:
            await self._storage.enter_async_context(self.store)
            await self._storage.enter_async_context(self.db)
            await self.accounts.upgrade()
            if self.relay is not None:
                await self._storage.enter_async_context(self.relay)
            self.store.on_added(lambda _id: self._wake.set())
            self.handler.committer.on_urgent.append(self._urgent.set)
            added = await self.desk.migrate()
            if added:
                log.warning("alarms table migrated: added %s", ", ".join(added))
            await self.book.import_config(self.config)
            self.desk.listeners.append(lambda alarm_id: self.bulletin.publish({"alarm": alarm_id}))
            forgotten = await self.handler.links.forget_others(a.account for a in self.config.accounts)
            if forgotten:
                log.info("forgot the links of %d accounts this receiver does not serve", forgotten)
            await self.watch.load()
            await self.desk.process()
            await self._storage.enter_async_context(self.mobile)
            self._desk_task = asyncio.get_running_loop().create_task(self._desk_loop(), name="alarm-desk")
            if any(li.transport == "tcp" for li in self.listeners):
                self.admission.total = connection_room(self.admission.total)
            for listener in self.listeners:
                await listener.start()
            app = make_app(self.centre(), [lambda app: install_mobile(app, self.mobile)])
            self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
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

    async def _desk_loop(self) -> None:
        """Turns new events into alarms at once, and checks every site's link each tick.

        Wake-ups coalesce: one pass takes every event stored before it, and when more arrived
        during a pass (a stream of events) the next pass waits DESK_PACE to gather them, so
        the desk's write transactions stay few and short next to the event store's commits;
        a hold-up or panic committed meanwhile (the committer's alarm lane) ends that wait.
        """
        loop = asyncio.get_running_loop()
        next_tick = loop.time() + TICK
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(next_tick - loop.time(), 0.0))
            self._wake.clear()
            try:
                await self.desk.process()
            except Exception:
                log.exception("alarm desk pass failed; retrying on the next tick")
            if loop.time() >= next_tick:
                next_tick = loop.time() + TICK
                try:
                    await self.watch.tick(self.clock())
                except Exception:
                    log.exception("supervision check failed; retrying on the next tick")
                try:
                    await self.desk.tick()  # escalations and call-back deadlines
                except Exception:
                    log.exception("alarm deadlines failed; retrying on the next tick")
            if self._wake.is_set() and not self._urgent.is_set():
                with contextlib.suppress(TimeoutError):  # a panic committed meanwhile ends the pause
                    async with asyncio.timeout(DESK_PACE):
                        await self._urgent.wait()
            self._urgent.clear()

    async def __aexit__(self, *exc: object) -> None:
        for listener in self.listeners:
            await listener.aclose()
        await self.handler.committer.aclose()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        await stop(self._desk_task)
        self._desk_task = None
        await self._storage.aclose()

    def port(self, transport: str) -> int:
        return next(li.port for li in self.listeners if li.transport == transport)


async def run_receiver(config: ReceiverConfig, stop: asyncio.Event) -> None:
    async with Receiver(config), asyncio.TaskGroup() as tg:
        watchdog = tg.create_task(watchdog_loop(), name="watchdog")  # READY=1 once serving
        await stop.wait()
        watchdog.cancel()

