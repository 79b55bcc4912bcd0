"""DC-09 transmitter: sends the outbox in order over a primary and a backup path.

Stop-and-wait per report; ACK removes it, NAK corrects our clock and resends the same
sequence, DUH records a rejection and is never repeated, silence retries then fails over.
Each path is link-tested with NULL polls; a poll is skipped while events keep the link busy.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from agent.outbox import Outbox, OutboxItem, PendingReport
from agent.reports import message_for
from config.site import AlarmCentre, ReceiverPathConfig
from protocol.dc09 import Dc09Error, Dc09Key, Message, decode, encode
from protocol.dc09.client import exchange

__all__ = ["ReceiverPath", "Transmitter"]

log = logging.getLogger(__name__)

RETRY_PAUSE = timedelta(seconds=5)  # DC-09: first retry within 5-60 s


@dataclass
class ReceiverPath:
    config: ReceiverPathConfig
    key: Dc09Key | None
    up: bool = True
    last_sent: datetime | None = None

    @property
    def name(self) -> str:
        return self.config.name

    @classmethod
    def from_config(cls, config: ReceiverPathConfig) -> ReceiverPath:
        key = Dc09Key.parse(config.key.get_secret_value()) if config.key else None
        return cls(config, key)

    async def exchange(self, frame: bytes) -> bytes | None:
        parts = urlsplit(self.config.url)
        return await exchange(
            parts.hostname or "127.0.0.1",
            parts.port or 0,
            frame,
            udp=parts.scheme == "udp",
            timeout=self.config.ack_timeout.total_seconds(),
        )


@dataclass
class Outcome:
    reply: Message | None
    kind: str  # "ack", "nak", "duh", "silence"


@dataclass
class Transmitter:
    centre: AlarmCentre
    outbox: Outbox
    clock: Callable[[], datetime]
    on_fault: Callable[[str, bool], None] = lambda name, active: None
    paths: list[ReceiverPath] = field(default_factory=list)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    offset: timedelta = timedelta(0)
    active: int = 0
    sent: int = 0

    def __post_init__(self) -> None:
        if not self.paths:
            self.paths = [ReceiverPath.from_config(p) for p in self.centre.paths]

    def now(self) -> datetime:
        """Our clock corrected by the receiver's (learnt from its NAK)."""
        return self.clock() + self.offset

    async def run(self) -> None:
        stored = await self.outbox.get_meta("clock_offset")
        self.offset = timedelta(seconds=float(stored)) if stored else timedelta(0)
        while True:
            item = await self.outbox.next()
            if item is not None:
                await self._deliver(item)
                continue
            await self._poll_due_paths()
            self.wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), self._until_next_poll())

    def _until_next_poll(self) -> float:
        now = self.clock()
        waits = [
            ((p.last_sent or now) + p.config.poll_interval - now).total_seconds()
            for p in self.paths
        ]
        return max(0.05, min(waits))

    async def _poll_due_paths(self) -> None:
        now = self.clock()
        for index, path in enumerate(self.paths):
            if path.last_sent is None or now - path.last_sent >= path.config.poll_interval:
                outcome = await self._send(path, self._null())
                await self._path_result(index, outcome.kind != "silence")

    def _null(self) -> Message:
        return Message(
            token="NULL", sequence=0, account=self.centre.account, receiver=self.centre.receiver,
            prefix=self.centre.prefix, timestamp=self.now(),
        )

    async def _deliver(self, item: OutboxItem) -> None:
        sequence = item.sequence or await self.outbox.assign_sequence(item.id)
        for index in self._path_order():
            path = self.paths[index]
            for _attempt in range(path.config.retries + 1):
                await self.outbox.attempted(item.id)
                outcome = await self._send(path, self._message(item.report, sequence))
                if outcome.kind == "nak":
                    await self._adopt_clock(outcome.reply)
                    outcome = await self._send(path, self._message(item.report, sequence))
                if outcome.kind == "ack":
                    await self.outbox.remove(item.id)
                    self.sent += 1
                    await self._path_result(index, True)
                    return
                if outcome.kind == "duh":
                    await self.outbox.reject(item, "DUH from " + path.name)
                    self.on_fault("alarm centre rejected a report (DUH)", True)
                    await self._path_result(index, True)
                    return
            await self._path_result(index, False)
        await asyncio.sleep(RETRY_PAUSE.total_seconds())

    def _path_order(self) -> list[int]:
        """The active path first, then the others; a path marked down is still tried."""
        return [self.active] + [i for i in range(len(self.paths)) if i != self.active]

    def _message(self, report: PendingReport, sequence: int) -> Message:
        return message_for(self.centre, report, sequence, self.now())

    async def _send(self, path: ReceiverPath, msg: Message) -> Outcome:
        encrypted = path.key is not None
        frame = encode(
            Message(**{**msg.__dict__, "encrypted": encrypted}), path.key
        )
        try:
            raw = await path.exchange(frame)
        except OSError as exc:
            log.info("path %s: %s", path.name, exc.__class__.__name__)
            raw = None
        path.last_sent = self.clock()
        if raw is None:
            return Outcome(None, "silence")
        try:
            reply = decode(raw, lambda _acct: [path.key] if path.key else [])
        except Dc09Error as exc:
            log.warning("path %s: unreadable reply (%s)", path.name, exc)
            return Outcome(None, "silence")
        if reply.sequence != msg.sequence and reply.token != "NAK":
            log.warning("path %s: reply for sequence %d, expected %d", path.name,
                        reply.sequence, msg.sequence)
            return Outcome(None, "silence")
        return Outcome(reply, {"ACK": "ack", "NAK": "nak", "DUH": "duh"}.get(reply.token, "silence"))

    async def _adopt_clock(self, reply: Message | None) -> None:
        if reply is None or reply.timestamp is None:
            return
        self.offset = reply.timestamp - self.clock()
        log.warning("receiver NAKed our time; clock offset now %.1f s", self.offset.total_seconds())
        await self.outbox.set_meta("clock_offset", str(self.offset.total_seconds()))

    async def _path_result(self, index: int, ok: bool) -> None:
        path = self.paths[index]
        if ok == path.up:
            if ok and index != self.active and index < self.active:
                self.active = index  # the primary answers again: go back to it
            return
        path.up = ok
        log.warning("path %s %s", path.name, "restored" if ok else "failed")
        self.on_fault(f"path {path.name} failed", not ok)
        if not ok and index == self.active:
            self.active = next((i for i, p in enumerate(self.paths) if p.up), self.active)
        if ok and index < self.active:
            self.active = index
        await self.outbox.commit_step(
            [PendingReport(kind="comms_trouble", number=index + 1, restore=ok)]
        )
