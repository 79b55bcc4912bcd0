"""Live audio from phones to the operators who listen in, recorded on the way through.

One ``Stream`` per phone connection (a reconnect starts a new recording segment); listeners
subscribe per alarm. A listener that falls behind loses its oldest chunks, never delays the
phone or the other listeners: the delay an operator hears stays bounded.

Scale note: the hub is in memory, so a phone and its listener must reach the same receiver
process (one process, or sticky routing per alarm behind a load balancer).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from receiver.audit import record
from receiver.db import Database
from receiver.mobile.audio import RATE, Recording
from receiver.mobile.presses import PressRow
from receiver.store import Clock

__all__ = ["BURST", "ListenHub", "Listener", "Stream", "StreamRefused"]

log = logging.getLogger(__name__)

#: a phone may send this much audio ahead of real time (what it buffered while offline, 30 s)
BURST = 30 * RATE
RATE_MARGIN = 1.5  # and then at most 1.5x real time
LISTENER_QUEUE = 50  # chunks (40 ms each: 2 s) a listener may lag before it loses the oldest
MAX_LISTENERS = 8  # per alarm


class StreamRefused(ValueError):
    """The phone sends more than the budget allows; the text goes into the close frame."""


@dataclass(eq=False)
class Listener:
    alarm: int
    user: str
    queue: asyncio.Queue[bytes | str | None] = field(
        default_factory=lambda: asyncio.Queue(LISTENER_QUEUE))
    dropped: int = 0

    def offer(self, item: bytes | str | None) -> None:
        while True:
            try:
                self.queue.put_nowait(item)
                return
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    self.queue.get_nowait()
                    self.dropped += 1


@dataclass(eq=False)
class Stream:
    press: PressRow
    recording_id: int
    recording: Recording
    opened: float  # loop time
    alarm: int | None
    received: int = 0
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    end_reason: str = ""

    def check_budget(self, size: int, now: float) -> None:
        allowed = BURST + (now - self.opened) * RATE * RATE_MARGIN
        if self.received + size > allowed:
            raise StreamRefused("more audio than real time allows")


class ListenHub:
    def __init__(self, db: Database, clock: Clock, directory: Path,
                 changed: Callable[[int | None], None] = lambda _alarm: None) -> None:
        self.db, self.clock, self.directory = db, clock, directory
        self.changed = changed  # a recording of this alarm started or stopped
        self.streams: dict[int, Stream] = {}  # by press id
        self.listeners: dict[int, set[Listener]] = {}  # by alarm id

    # -- phones -------------------------------------------------------------------------
    async def open(self, press: PressRow, who: str) -> Stream:
        """A phone's connection for ``press``; an earlier one for the same press is ended."""
        old = self.streams.get(press.id)
        if old is not None:
            await self.close(old, "replaced by a new connection")
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.one(
                "INSERT INTO mobile_recordings (press, file, started_at) VALUES (?, '', ?) RETURNING id",
                (press.id, now.isoformat()),
            )
            assert row is not None
            recording_id = int(row[0])
            # the random part keeps two stores on one directory (a restored backup) apart
            name = f"{press.id:08d}-{recording_id:08d}-{secrets.token_hex(4)}.ulaw"
            await tx.execute("UPDATE mobile_recordings SET file = ? WHERE id = ?", (name, recording_id))
            await record(tx, now, who, "mobile_audio_started", f"alarm:{press.alarm}",
                         f"press {press.id}, recording {recording_id}")
        stream = Stream(press, recording_id, Recording(self.directory / name),
                        asyncio.get_running_loop().time(), press.alarm)
        self.streams[press.id] = stream
        self._tell(stream.alarm, f'{{"type":"started","press":{press.id}}}')
        self.changed(stream.alarm)
        return stream

    def chunk(self, stream: Stream, data: bytes) -> None:
        """Record and relay one chunk (StreamRefused when over budget)."""
        stream.check_budget(len(data), asyncio.get_running_loop().time())
        stream.received += len(data)
        stream.recording.append(data)
        for listener in self.listeners.get(stream.alarm or 0, ()):
            listener.offer(data)

    async def close(self, stream: Stream, reason: str) -> None:
        if self.streams.get(stream.press.id) is stream:
            del self.streams[stream.press.id]
        if not stream.ended.is_set():
            stream.end_reason = reason
            stream.ended.set()
        await asyncio.to_thread(stream.recording.close)
        now = self.clock()
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE mobile_recordings SET ended_at = ?, bytes = ? WHERE id = ? AND ended_at IS NULL",
                (now.isoformat(), stream.recording.bytes, stream.recording_id),
            )
            if changed:
                seconds = stream.recording.bytes / RATE
                await record(tx, now, "system", "mobile_audio_stopped", f"alarm:{stream.alarm}",
                             f"recording {stream.recording_id}: {seconds:.1f} s; {reason}")
        self._tell(stream.alarm, f'{{"type":"stopped","press":{stream.press.id}}}')
        self.changed(stream.alarm)

    def end_press(self, press_id: int, reason: str) -> None:
        """Tell the phone streaming for ``press_id`` to switch its microphone off."""
        stream = self.streams.get(press_id)
        if stream is not None and not stream.ended.is_set():
            stream.end_reason = reason
            stream.ended.set()

    def linked(self, press: PressRow) -> None:
        """The desk linked a press to its alarm: its live stream now reaches that alarm's listeners."""
        stream = self.streams.get(press.id)
        if stream is not None and stream.alarm is None:
            stream.alarm = press.alarm
            self._tell(stream.alarm, f'{{"type":"started","press":{press.id}}}')

    async def sync(self) -> None:
        """What every open recording received so far, onto the disk."""
        for stream in list(self.streams.values()):
            with contextlib.suppress(ValueError, OSError):  # closed meanwhile
                await asyncio.to_thread(stream.recording.sync)

    async def recover(self) -> None:
        """After a crash: segments left open get their real size and an end time."""
        rows = await self.db.all("SELECT id, file FROM mobile_recordings WHERE ended_at IS NULL")
        now = self.clock()
        for recording_id, name in rows:
            path = self.directory / str(name)
            size = path.stat().st_size if path.exists() else 0
            async with self.db.transaction() as tx:
                await tx.execute("UPDATE mobile_recordings SET ended_at = ?, bytes = ? WHERE id = ?",
                                 (now.isoformat(), size, recording_id))

    # -- operators ----------------------------------------------------------------------
    def subscribe(self, alarm: int, user: str) -> Listener:
        listeners = self.listeners.setdefault(alarm, set())
        if len(listeners) >= MAX_LISTENERS:
            raise StreamRefused(f"alarm {alarm} has {MAX_LISTENERS} listeners already")
        listener = Listener(alarm, user)
        listeners.add(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        listeners = self.listeners.get(listener.alarm)
        if listeners is not None:
            listeners.discard(listener)
            if not listeners:
                del self.listeners[listener.alarm]

    def keep_only(self, alarm: int, owner: str | None) -> None:
        """Whoever no longer owns the alarm (taken over, handed over, closed) stops hearing it."""
        for listener in list(self.listeners.get(alarm, ())):
            if listener.user != owner:
                self.unsubscribe(listener)
                listener.offer(None)

    def live(self, alarm: int) -> list[Stream]:
        return [s for s in self.streams.values() if s.alarm == alarm]

    def _tell(self, alarm: int | None, notice: str) -> None:
        for listener in self.listeners.get(alarm or 0, ()):
            listener.offer(notice)

    def end_listeners(self) -> None:
        """Every operator's listen-in ends (the server is shutting down: before its database)."""
        for listeners in self.listeners.values():
            for listener in listeners:
                listener.offer(None)

    async def close_all(self) -> None:
        for stream in list(self.streams.values()):
            await self.close(stream, "receiver stopping")
        self.end_listeners()
