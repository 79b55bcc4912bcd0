"""The mobile side of the receiver: devices, presses, positions and listen-in, and the one loop
that keeps them in step with the desk (link presses to alarms, switch microphones off when an
alarm closes or its limit passes, tell the timeline what the police were given, sync and expire
recordings). The call-back is the console's own workflow: the desk learns who pressed from
``raised_by`` and puts them first on the hold-up plan's call list."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from config.mobile import Mobile, Person
from config.receiver import Contact
from protocol.tasks import stop
from receiver.audit import record
from receiver.console.render import local
from receiver.db import Database, Tx
from receiver.desk import AlarmDesk, RaisedBy
from receiver.mobile.devices import DeviceRegistry
from receiver.mobile.limits import PhoneLimits
from receiver.mobile.listen import ListenHub
from receiver.mobile.presses import Commit, MobileAlarms
from receiver.mobile.tiles import TileProxy
from receiver.store import Clock, EventStore

__all__ = ["TRANSPORT", "MobileService", "contact", "map_link", "press_device"]

log = logging.getLogger(__name__)

TRANSPORT = "mobile"  # the events' transport: the desk asks ``raised_by`` who pressed
TICK = 1.0  # seconds between checks of limits and deadlines; desk changes wake the loop at once
SYNC_EVERY = 2.0  # seconds: recordings reach the disk at least this often
SWEEP_EVERY = 3600.0  # seconds between retention sweeps


def contact(person: Person) -> Contact:
    """The person as the call list knows them: their numbers in order."""
    phones = [*person.phones, ""]
    return Contact(name=person.name, role=person.role, phone=phones[0], alt_phone=phones[1])


def press_device(extended: str) -> int | None:
    """The device behind a press event, from its ``[V mobile:<device>:<press key>]`` x-data."""
    try:
        blocks = json.loads(extended)
    except ValueError:
        return None
    for key, value in blocks if isinstance(blocks, list) else ():
        parts = str(value).split(":") if key == "V" else []
        if len(parts) == 3 and parts[0] == "mobile" and parts[1].isdigit():
            return int(parts[1])
    return None


class MobileService:
    def __init__(self, config: Mobile, db: Database, store: EventStore, desk: AlarmDesk, commit: Commit,
                 accounts: dict[str, str], clock: Clock, recordings: Path,
                 notify: Callable[[dict[str, object]], None] = lambda _n: None) -> None:
        self.config, self.db, self.desk, self.clock = config, db, desk, clock
        self.registry = DeviceRegistry(db, clock, config.enrol_valid)
        self.alarms = MobileAlarms(db, store, commit, accounts, clock, config.mic_limit)
        self.notify = notify
        self.hub = ListenHub(db, clock, recordings, self.section_changed)
        self.recordings = recordings
        self.limits = PhoneLimits()
        self.tiles = TileProxy(config.tiles) if config.tiles else None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        desk.callers[TRANSPORT] = self.raised_by

    def person(self, person_id: str) -> Person | None:
        return self.config.person(person_id)

    def section_changed(self, alarm: int | None) -> None:
        """The alarm page's mobile section changed (a position, a recording): only the consoles
        showing that alarm redraw it; the queue and the alerts have nothing new."""
        if alarm is not None:
            self.notify({"section": alarm})

    def desk_changed(self, _alarm: int) -> None:
        """The desk's listener: link new presses and end closed ones now, not at the next tick."""
        self._wake.set()

    async def raised_by(self, tx: Tx, event_id: int) -> RaisedBy | None:
        """Who pressed: the desk asks inside its transaction, for each alarm event of a phone."""
        row = await tx.one("SELECT extended FROM events WHERE id = ?", (event_id,))
        device_id = press_device(str(row[0])) if row else None
        found = await tx.one("SELECT person FROM mobile_devices WHERE id = ?", (device_id,)) \
            if device_id is not None else None
        person = self.person(str(found[0])) if found else None
        return RaisedBy(contact(person), "mobile panic button") if person else None

    async def __aenter__(self) -> MobileService:
        await self.hub.recover()  # the recordings directory is made with the first recording
        self.desk.listeners.append(self.desk_changed)
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="mobile")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await stop(self._task)
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
        """One round: link presses to their alarms, switch microphones off, tell the timeline
        what the police get, end listeners who no longer own their alarm (the loop's body)."""
        for press in await self.alarms.resolve():
            self.hub.linked(press)
            self.section_changed(press.alarm)
        for press, reason in await self.alarms.to_end(now):
            if await self.alarms.end(press, reason):
                self.hub.end_press(press.id, reason)
                if press.alarm is not None and reason != "alarm closed":
                    await self.desk.add_log(press.alarm, "microphone", "system",
                                            f"microphone of press {press.id} off: {reason}")
                self.section_changed(press.alarm)
        for alarm_id in await self._escalated_mobile_alarms():
            text = f"for the police: {await self.police_words(alarm_id)}"
            if await self.desk.add_log(alarm_id, "police_info", "system", text, audit="police_handover",
                                       once=True):
                log.warning("alarm %d escalated: %s", alarm_id, text)
        for alarm_id in list(self.hub.listeners):
            alarm = await self.desk.alarm(alarm_id)
            self.hub.keep_only(alarm_id, alarm.owner if alarm is not None and alarm.is_open else None)

    async def _escalated_mobile_alarms(self) -> list[int]:
        """Open escalated alarms with a press whose police information is not on the timeline."""
        rows = await self.db.all(
            "SELECT DISTINCT p.alarm FROM mobile_presses p JOIN alarms a ON a.id = p.alarm"
            " WHERE a.closed_at IS NULL AND a.verdict = 'escalated' AND NOT EXISTS"
            " (SELECT 1 FROM alarm_log l WHERE l.alarm = p.alarm AND l.kind = 'police_info')"
        )
        return [int(r[0]) for r in rows]

    async def police_words(self, alarm: int) -> str:
        """What the police get: the latest position (with a map link) and the recordings."""
        row = await self.db.one("SELECT site FROM alarms WHERE id = ?", (alarm,))
        track = await self.alarms.track(alarm, str(row[0]) if row else "")
        recordings = await self.recording_ids(alarm)
        where = "position unknown"
        if track:
            p = track[-1]
            where = (f"last position {p.latitude:.5f}, {p.longitude:.5f} ±{p.accuracy or 0:.0f} m at"
                     f" {local(p.at)} ({map_link(p.latitude, p.longitude)})")
        heard = ", ".join(f"/api/mobile/recordings/{r}" for r in recordings) or "no recording"
        return f"{where}; heard: {heard}"

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
