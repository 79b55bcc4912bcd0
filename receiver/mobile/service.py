"""The mobile side of the receiver: devices, presses, listen-in and call-backs, and the one loop
that keeps them in step with the desk (link presses to alarms, switch microphones off when an
alarm closes or its limit passes, wake call-back deadlines, sync and expire recordings)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from config.mobile import Mobile, Person
from receiver.audit import record
from receiver.db import Database
from receiver.desk import AlarmDesk
from receiver.mobile.callbacks import CallBacks
from receiver.mobile.devices import DeviceRegistry
from receiver.mobile.limits import PhoneLimits
from receiver.mobile.listen import ListenHub
from receiver.mobile.presses import Commit, MobileAlarms, PressRow
from receiver.mobile.tiles import TileProxy
from receiver.store import Clock, EventStore

__all__ = ["MobileService"]

log = logging.getLogger(__name__)

TICK = 1.0  # seconds between checks of limits and deadlines; desk changes wake the loop at once
SYNC_EVERY = 2.0  # seconds: recordings reach the disk at least this often
SWEEP_EVERY = 3600.0  # seconds between retention sweeps


class MobileService:
    def __init__(self, config: Mobile, db: Database, store: EventStore, desk: AlarmDesk, commit: Commit,
                 accounts: dict[str, str], clock: Clock, recordings: Path,
                 notify: Callable[[dict[str, object]], None] = lambda _n: None) -> None:
        self.config, self.db, self.desk, self.clock = config, db, desk, clock
        self.registry = DeviceRegistry(db, clock, config.enrol_valid)
        self.alarms = MobileAlarms(db, store, commit, accounts, clock, config.mic_limit)
        self.hub = ListenHub(db, clock, recordings)
        self.callbacks = CallBacks(db, clock, self.handover, self._changed)
        self.recordings = recordings
        self.limits = PhoneLimits()
        self.tiles = TileProxy(config.tiles) if config.tiles else None
        self.notify = notify
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def person(self, person_id: str) -> Person | None:
        return self.config.person(person_id)

    def _changed(self, alarm: int) -> None:
        self.notify({"mobile": alarm})

    def desk_changed(self, _alarm: int) -> None:
        """The desk's listener: link new presses and end closed ones now, not at the next tick."""
        self._wake.set()

    async def __aenter__(self) -> MobileService:
        await self.hub.recover()  # the recordings directory is made with the first recording
        self.desk.listeners.append(self.desk_changed)
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="mobile")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.hub.close_all()
        if self.tiles is not None:
            await self.tiles.aclose()

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_sync, next_sweep = loop.time() + SYNC_EVERY, loop.time()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK)
            self._wake.clear()
            try:
                await self.pass_once(self.clock())
                if loop.time() >= next_sync:
                    next_sync = loop.time() + SYNC_EVERY
                    await self.hub.sync()
                if loop.time() >= next_sweep:
                    next_sweep = loop.time() + SWEEP_EVERY
                    await self.sweep(self.clock())
            except Exception:
                log.exception("mobile pass failed; retrying on the next tick")

    async def pass_once(self, now: datetime) -> None:
        """One round: link, end, wake deadlines (the loop's body; tests call it directly)."""
        for press in await self.alarms.resolve():
            await self._linked(press)
        for press, reason in await self.alarms.to_end(now):
            if await self.alarms.end(press, reason):
                self.hub.end_press(press.id, reason)
                if press.alarm is not None:
                    if reason == "alarm closed":
                        await self.callbacks.stop(press.alarm)
                    self._changed(press.alarm)
        for alarm in await self.callbacks.wake_due(now):
            log.warning("alarm %d: no answer on the call-back in time: handed to the police", alarm)

    async def _linked(self, press: PressRow) -> None:
        self.hub.linked(press)
        device = await self.registry.get(press.device)
        alarm = await self.desk.alarm(press.alarm or 0)
        person = self.person(device.person) if device else None
        if alarm is None or person is None:
            return
        await self.callbacks.ensure(alarm.id, person.id, tuple(person.phones), alarm.opened_at,
                                    person.answer_within)
        self._changed(alarm.id)

    async def handover(self, alarm: int) -> str:
        """What the police get: the latest position (with a map link) and the recordings."""
        row = await self.db.one("SELECT site FROM alarms WHERE id = ?", (alarm,))
        track = await self.alarms.track(alarm, str(row[0]) if row else "")
        recordings = await self.recording_ids(alarm)
        where = "position unknown"
        if track:
            p = track[-1]
            where = (f"last position {p.latitude:.5f},{p.longitude:.5f} ±{p.accuracy or 0:.0f} m at"
                     f" {p.at.isoformat()} ({map_link(p.latitude, p.longitude)})")
        heard = ", ".join(f"/api/mobile/recordings/{r}" for r in recordings) or "no recording"
        return f"{where}; recordings: {heard}"

    async def recording_ids(self, alarm: int) -> list[int]:
        rows = await self.db.all(
            "SELECT r.id FROM mobile_recordings r JOIN mobile_presses p ON p.id = r.press"
            " WHERE p.alarm = ? AND r.deleted_at IS NULL ORDER BY r.id",
            (alarm,),
        )
        return [int(r[0]) for r in rows]

    async def sweep(self, now: datetime) -> int:
        """Delete recordings of alarms closed longer than the retention ago; the rows stay."""
        cutoff = (now - self.config.recording_retention).isoformat()
        rows = await self.db.all(
            "SELECT r.id, r.file, p.alarm FROM mobile_recordings r JOIN mobile_presses p ON p.id = r.press"
            " JOIN alarms a ON a.id = p.alarm WHERE r.deleted_at IS NULL AND a.closed_at IS NOT NULL"
            " AND a.closed_at < ?",
            (cutoff,),
        )
        for recording_id, name, alarm in rows:
            with contextlib.suppress(FileNotFoundError):
                (self.recordings / str(name)).unlink()
            async with self.db.transaction() as tx:
                await tx.execute("UPDATE mobile_recordings SET deleted_at = ? WHERE id = ?",
                                 (now.isoformat(), recording_id))
                await record(tx, now, "system", "recording_deleted", f"alarm:{alarm}",
                             f"recording {recording_id}: retention {self.config.recording_retention}")
        return len(rows)


def map_link(lat: float, lon: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}"
