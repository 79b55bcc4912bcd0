"""DC-09 transmitter: sends the outbox in order over a primary and a backup path.

Stop-and-wait per report; ACK removes it, NAK corrects our clock and resends the same
sequence, DUH records a rejection and is never repeated, silence retries then fails over. An
encrypted frame is answered only by an authenticated ``*ACK`` (``agent/answer.py``): a plain
ACK or DUH from whoever sits on the path counts as silence.
Urgent reports (panic, hold-up, duress) have a delivery loop of their own, the alarm lane, over
their own connection on each path (``agent/paths.py``): a panic goes at once, whatever report is
in flight, being retried or waiting for its retry pause, and whatever link test is running.
Other reports keep their order among themselves and start only while no urgent report is
waiting, so none is stored at the centre ahead of a panic committed before it.
Each path has its own supervision loop that sends NULL polls at the path's interval; a poll is
skipped when an event went over the path within the interval, and a failed path is probed the
same way, so the transmitter returns to the primary as soon as it answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from agent import hops
from agent.answer import SILENCE, Answer, Verdict, judge
from agent.outbox import Outbox, OutboxItem
from agent.panel.actions import Report
from agent.paths import ReceiverPath
from agent.reports import message_for
from config.site import AlarmCentre
from protocol.codes import EventKind
from protocol.dc09 import Dc09Error, DecryptError, Message, UnknownAccountError, decode, encode
from protocol.mqtt_client import still_wanted

__all__ = ["ReceiverPath", "Transmitter"]

log = logging.getLogger(__name__)

RETRY_PAUSE = timedelta(seconds=5)  # DC-09: first retry within 5-60 s
IDLE_WAIT = 60.0  # the delivery loop re-reads the outbox at least this often


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
    polls: int = 0
    lane_polls: int = 0  # NULLs that keep the alarm lane's connections open
    last_sequence: int = 0
    direct: deque[Report] = field(default_factory=deque)
    urgent_direct: deque[Report] = field(default_factory=deque)
    urgent_ready: dict[int, OutboxItem] = field(default_factory=dict)  # just committed, numbered
    urgent_wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    lane_idle: asyncio.Event = field(default_factory=asyncio.Event)  # no urgent report waits
    counters: Counter[str] = field(default_factory=Counter)
    recheck: float = 1.0  # seconds between looks at the clock (it may be stepped or injected)
    _last_path: str = ""

    def __post_init__(self) -> None:
        if not self.paths:
            self.paths = [ReceiverPath.from_config(p) for p in self.centre.paths]

    def now(self) -> datetime:
        """Our clock corrected by the receiver's (learnt from its NAK)."""
        return self.clock() + self.offset

    def send_direct(self, report: Report) -> None:
        """Send a report that could not be committed (disk full): from memory, before the outbox."""
        (self.urgent_direct if report.urgent else self.direct).append(report)
        self.wake(urgent=report.urgent)

    def committed(self, urgent: list[OutboxItem]) -> None:
        """Reports were just committed; the ``urgent`` ones (numbered) go from memory, at once."""
        self.urgent_ready.update((item.id, item) for item in urgent)
        self.wake(urgent=bool(urgent))

    def wake(self, *, urgent: bool = False) -> None:
        """New reports in the outbox; ``urgent``: among them an urgent one, which goes first."""
        if urgent:
            self.lane_idle.clear()  # at once: the other loop starts nothing new before it
            self.urgent_wakeup.set()
        self.wakeup.set()

    async def run(self) -> None:
        stored = await self.outbox.get_meta("clock_offset")
        self.offset = timedelta(seconds=float(stored)) if stored else timedelta(0)
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._deliver_loop(urgent=True), name="dc09-deliver-urgent")
                tg.create_task(self._deliver_loop(urgent=False), name="dc09-deliver")
                for index, path in enumerate(self.paths):
                    tg.create_task(self._supervise(index), name=f"dc09-poll:{path.name}")
        finally:
            for path in self.paths:
                path.close()

    # -- delivery ---------------------------------------------------------------------------
    async def _deliver_loop(self, *, urgent: bool) -> None:
        """The alarm lane (``urgent``) or the other reports, each in order."""
        wakeup, direct = (self.urgent_wakeup, self.urgent_direct) if urgent else (self.wakeup, self.direct)
        while True:
            still_wanted()  # Python 3.11's wait_for can swallow the stop; see protocol.mqtt_client
            wakeup.clear()
            if not urgent and not self.lane_idle.is_set():
                await self._wait(self.lane_idle)  # urgent reports first
                continue
            if direct:
                if await self._deliver(direct[0], None) is not None:
                    direct.popleft()
                continue
            ready = next(iter(self.urgent_ready.values()), None) if urgent else None
            item = ready or await self.outbox.next(urgent=urgent)
            if item is not None:
                await self._deliver_item(item)
                continue
            if urgent and not wakeup.is_set():
                self.lane_idle.set()
            await self._wait(wakeup)

    @staticmethod
    async def _wait(event: asyncio.Event) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(IDLE_WAIT):
                await event.wait()

    async def _deliver_item(self, item: OutboxItem) -> None:
        self.urgent_ready.pop(item.id, None)  # from here on the outbox has it (sent or not)
        kind = await self._deliver(item.report, item)
        try:
            if kind == "ack":
                await self.outbox.remove(item.id)
            elif kind == "duh":
                await self.outbox.reject(item, "DUH from " + self._last_path)
            else:
                await self.outbox.attempted(item.id)
        except (OSError, sqlite3.Error) as exc:  # disk full: remember the ACK, do not send it again
            self.counters["outbox_write_failed"] += 1
            if kind is not None:
                self.outbox.forget(item.id)
            log.error("outbox cannot record the outcome of report %d: %s", item.id, exc)

    async def _deliver(self, report: Report, item: OutboxItem | None) -> str | None:
        """Send one report on the active path, then the others; "ack", "duh" or None (no path)."""
        sequence = await self._sequence(item)
        for index in self._path_order():
            path = self.paths[index]
            for _attempt in range(path.config.retries + 1):
                if report.urgent:
                    hops.mark("sending")
                outcome = await self._exchange(path, lambda: self._message(report, sequence),
                                               urgent=report.urgent)
                if outcome.answer in (Answer.ACK, Answer.DUH):
                    self._last_path = path.name
                    await self._path_result(index, True)
                    if outcome.answer is Answer.ACK:
                        self.sent += 1
                    else:
                        log.error("alarm centre rejected %s %d (DUH) on %s", report.kind,
                                  report.number, path.name)
                        self.on_fault("alarm centre rejected a report (DUH)", True)
                    return outcome.answer.value
            await self._path_result(index, False)
        log.warning("no path delivered %s %d; retrying in %.0f s", report.kind, report.number,
                    RETRY_PAUSE.total_seconds())
        await asyncio.sleep(RETRY_PAUSE.total_seconds())
        return None

    async def _sequence(self, item: OutboxItem | None) -> int:
        if item is not None and item.sequence is not None:
            self.last_sequence = item.sequence
            return item.sequence
        try:
            seq = await self.outbox.assign_sequence(item.id if item else None, self.last_sequence)
        except (OSError, sqlite3.Error) as exc:  # disk full: it still goes, numbered from memory
            self.counters["outbox_write_failed"] += 1
            seq = self.last_sequence % 9999 + 1
            self.outbox.sequence_floor = seq  # the next commit numbers after it
            log.error("sequence %d not stored (%s); sending anyway", seq, exc)
        self.last_sequence = seq
        return seq

    def _path_order(self) -> list[int]:
        """The active path first, then the others; a path marked down is still tried."""
        return [self.active] + [i for i in range(len(self.paths)) if i != self.active]

    def _message(self, report: Report, sequence: int) -> Message:
        return message_for(self.centre, report, sequence, self.now())

    async def _exchange(self, path: ReceiverPath, make: Callable[[], Message], *,
                        urgent: bool = False) -> Verdict:
        """One frame and its answer under the path's lock (the lane's for an urgent report); a
        NAK is answered once at once."""
        async with path.lane_lock if urgent else path.lock:
            outcome = await self._send(path, make(), urgent)
            if outcome.answer is Answer.NAK:
                await self._adopt_clock(outcome.reply)
                outcome = await self._send(path, make(), urgent)
            return outcome

    async def _send(self, path: ReceiverPath, msg: Message, urgent: bool = False) -> Verdict:
        msg = Message(**{**msg.__dict__, "encrypted": path.key is not None})
        frame = encode(msg, path.key)
        try:
            raw = await path.exchange(frame, urgent=urgent)
        except OSError as exc:
            log.info("path %s: %s", path.name, exc.__class__.__name__)
            raw = None
        path.last_sent = self.clock()
        if raw is None:
            return SILENCE
        try:
            reply = decode(raw, lambda _acct: [path.key] if path.key else [])
        except (DecryptError, UnknownAccountError) as exc:  # not under our key: not the centre
            self.counters["unauthenticated_answer"] += 1
            log.warning("path %s: reply not under the account's key (%s)", path.name, exc)
            return SILENCE
        except Dc09Error as exc:
            self.counters["unreadable_answer"] += 1
            log.warning("path %s: unreadable reply (%s)", path.name, exc)
            return SILENCE
        verdict = judge(msg, reply, self.now(), self.centre.answer_window)
        if not verdict.answered:
            self.counters["unauthenticated_answer" if msg.encrypted else "not_an_answer"] += 1
            log.warning("path %s: reply to %s %04d not taken as an answer: %s", path.name,
                        msg.token, msg.sequence, verdict.refused)
            path.close(urgent=urgent)  # out of step or not our receiver: next time a fresh connection
        return verdict

    async def _adopt_clock(self, reply: Message | None) -> None:
        if reply is None or reply.timestamp is None:
            return
        self.offset = reply.timestamp - self.clock()
        log.warning("receiver NAKed our time; clock offset now %.1f s", self.offset.total_seconds())
        try:
            await self.outbox.set_meta("clock_offset", str(self.offset.total_seconds()))
        except (OSError, sqlite3.Error) as exc:  # a full disk must not stop the corrected resend
            self.counters["outbox_write_failed"] += 1
            log.error("clock offset not stored (%s); kept in memory until the next restart", exc)

    async def link_test(self) -> dict[str, float | None]:
        """Round trip of one NULL link test per path in ms (None: no answer), for commissioning."""
        results: dict[str, float | None] = {}
        for path in self.paths:
            started = time.perf_counter()
            outcome = await self._exchange(path, self._null)
            elapsed = round((time.perf_counter() - started) * 1000, 1)
            results[path.name] = elapsed if outcome.answered else None
        return results

    # -- link supervision ---------------------------------------------------------------------
    async def _supervise(self, index: int) -> None:
        """NULL polls on one path, skipped while events keep it busy; also probes a failed path."""
        path = self.paths[index]
        interval = path.config.poll_interval
        while True:
            still_wanted()
            now = self.clock()
            due = now if path.last_sent is None else path.last_sent + interval
            if due > now:
                path.idle_looks += 1
                await asyncio.sleep(min((due - now).total_seconds(), self.recheck))
                continue
            ok = False
            for _attempt in range(path.config.retries + 1):
                outcome = await self._exchange(path, self._null)
                self.polls += 1
                if outcome.answered:
                    ok = True
                    break
            await self._path_result(index, ok)
            if ok and path.lane is not None and not path.lane_lock.locked():
                await self._keep_lane_open(path)

    async def _keep_lane_open(self, path: ReceiverPath) -> None:
        """A NULL poll on the alarm lane's connection too: the receiver closes a connection
        that is quiet for its idle timeout (120 s), and a panic must not wait for a new one. It
        follows a poll that was just answered, so it holds the lane for one round trip."""
        await self._exchange(path, self._null, urgent=True)
        self.lane_polls += 1

    def _null(self) -> Message:
        return Message(
            token="NULL", sequence=0, account=self.centre.account, receiver=self.centre.receiver,
            prefix=self.centre.prefix, timestamp=self.now(),
        )

    async def _path_result(self, index: int, ok: bool) -> None:
        path = self.paths[index]
        if ok != path.up:
            path.up = ok
            log.warning("path %s %s", path.name, "restored" if ok else "failed")
            self.on_fault(f"path {path.name} failed", not ok)
            await self._queue_comms(index, restore=ok)
        preferred = next((i for i, p in enumerate(self.paths) if p.up), self.active)
        if preferred != self.active and (ok or index == self.active):
            log.warning("transmitting on %s (was %s)", self.paths[preferred].name,
                        self.paths[self.active].name)
            self.active = preferred

    async def _queue_comms(self, index: int, *, restore: bool) -> None:
        report = Report(EventKind.COMMS_TROUBLE, index + 1, restore=restore)
        try:
            await self.outbox.commit_step([report])
        except (OSError, sqlite3.Error) as exc:  # the disk is full: it still goes, from memory
            self.counters["outbox_write_failed"] += 1
            log.error("comms trouble of path %s not queued (%s); sending it directly", self.paths[index].name,
                      exc)
            self.send_direct(report)
        self.wake()
