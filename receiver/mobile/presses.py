"""A press from a phone becomes an event of the person's account, with its position attached.

The event goes through the same committer and de-duplication as a DC-09 frame, carries its
position as DC-09 location x-data ([X…][Y…]) and names the press in ``[V…]`` (verification:
the listen-in). The phone's press key makes a retry harmless: a press already recorded is
answered from ``mobile_presses``; a retry after a commit whose answer was lost is caught by the
event store's dedup (same account, sequence and content). Positions that follow hang off the
press, each with its own key, so a resent batch is stored once.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from protocol.dc09 import Dc09Error, Location, SiaEvent, format_sia, location_blocks, location_of
from receiver.audit import record
from receiver.db import Database
from receiver.mobile.devices import Device
from receiver.store import Clock, EventStore, NewEvent, Result

__all__ = ["MobileAlarms", "PositionIn", "PressIn", "PressRow", "TrackPoint"]

Commit = Callable[[NewEvent], Awaitable[Result]]
KEY = r"^[A-Za-z0-9_-]{8,64}$"
MAX_POSITIONS = 50  # per request
CLOCK_TRUST = (timedelta(days=7), timedelta(minutes=5))  # a phone time outside this is not used


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("time needs a UTC offset")
    return at


AwareTime = Annotated[datetime, AfterValidator(_aware)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PositionIn(_In):
    """One fix from the phone's geolocation (WGS 84), with the battery level when known."""

    key: Annotated[str, Field(pattern=KEY)] = "fix-00000"
    lat: Annotated[float, Field(ge=-90, le=90)]
    lon: Annotated[float, Field(ge=-180, le=180)]
    accuracy: Annotated[float | None, Field(ge=0, le=1_000_000)] = None  # metres
    at: AwareTime
    battery: Annotated[float | None, Field(ge=0, le=1)] = None


class PressIn(_In):
    """What the phone sends (and resends, byte for byte, until it gets an answer)."""

    key: Annotated[str, Field(pattern=KEY)]
    silent: bool = False
    at: AwareTime
    position: PositionIn | None = None
    battery: Annotated[float | None, Field(ge=0, le=1)] = None


@dataclass(frozen=True)
class PressRow:
    id: int
    device: int
    key: str
    site: str
    code: str
    event: int
    alarm: int | None
    pressed_at: datetime
    received_at: datetime
    battery: float | None
    mic_until: datetime
    ended_at: datetime | None
    end_reason: str | None

    @property
    def open(self) -> bool:
        return self.ended_at is None

    def as_json(self) -> dict[str, object]:
        return {"press": self.id, "event": self.event, "alarm": self.alarm, "code": self.code,
                "open": self.open, "mic_until": self.mic_until.isoformat(),
                "ended": self.end_reason}


@dataclass(frozen=True)
class TrackPoint:
    at: datetime
    latitude: float
    longitude: float
    accuracy: float | None
    source: str  # "phone" (mobile app) or "dc09" (x-data of an event)
    battery: float | None = None

    def as_json(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "lat": self.latitude, "lon": self.longitude,
                "accuracy": self.accuracy, "source": self.source, "battery": self.battery}


_PRESS_COLUMNS = ("id, device, press_key, site, code, event, alarm, pressed_at, received_at, battery,"
                  " mic_until, ended_at, end_reason")


def _t(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


def _press(r: tuple[Any, ...]) -> PressRow:
    return PressRow(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), int(r[5]),
                    None if r[6] is None else int(r[6]), datetime.fromisoformat(str(r[7])),
                    datetime.fromisoformat(str(r[8])), r[9], datetime.fromisoformat(str(r[10])),
                    _t(r[11]), r[12])


_SAFE_KEY = re.compile(KEY)


class MobileAlarms:
    """Presses, positions and their link to the desk's alarms."""

    def __init__(self, db: Database, store: EventStore, commit: Commit, accounts: Mapping[str, str],
                 clock: Clock, mic_limit: timedelta) -> None:
        self.db, self.store, self.commit, self.clock = db, store, commit, clock
        self.accounts = accounts  # site -> account
        self.mic_limit = mic_limit

    def _trusted(self, at: datetime, now: datetime) -> datetime:
        back, ahead = CLOCK_TRUST
        return at if now - back <= at <= now + ahead else now

    async def press(self, device: Device, press: PressIn, *, peer: str) -> tuple[PressRow, bool]:
        """Record a press (once); (the press, whether it had been recorded before)."""
        known = await self.by_key(device.id, press.key)
        if known is not None:
            return known, True
        account = self.accounts[device.site]
        code = "HA" if press.silent or device.silent else "PA"
        position = press.position
        extended: tuple[tuple[str, str], ...] = ()
        if position is not None:
            extended = location_blocks(Location(position.lat, position.lon))
        extended += (("V", f"mobile:{device.id}:{press.key}"),)
        now = self.clock()
        pressed = self._trusted(press.at, now)
        event = NewEvent(
            site=device.site, account=account, sequence=0, token="SIA-DCS",
            data=format_sia(SiaEvent(account, code, user=str(device.id))), code=code,
            extended=extended, sent_at=pressed, transport="mobile", peer=peer[:64],
        )
        event_id, _ = await self.commit(event)  # committed: the alarm is as safe as a DC-09 one
        async with self.db.transaction() as tx:
            await tx.execute(
                f"INSERT INTO mobile_presses ({_PRESS_COLUMNS.replace('id, ', '', 1)})"  # noqa: S608
                " VALUES (?,?,?,?,?,NULL,?,?,?,?,NULL,NULL) ON CONFLICT (device, press_key) DO NOTHING",
                (device.id, press.key, device.site, code, event_id, pressed.isoformat(), now.isoformat(),
                 press.battery, (now + self.mic_limit).isoformat()),
            )
            await tx.execute("UPDATE mobile_devices SET last_seen_at = ? WHERE id = ?",
                             (now.isoformat(), device.id))
            where = f" at {position.lat:.5f},{position.lon:.5f}" if position else " (no position yet)"
            await record(tx, now, device.name, "mobile_press", f"event:{event_id}",
                         f"{code} {device.person}{where}")
        row = await self.by_key(device.id, press.key)
        assert row is not None
        if position is not None:
            fix = position.model_copy(update={"key": "press", "battery": press.battery})
            await self.add_positions(row, [fix])
        return row, False

    async def add_positions(self, press: PressRow, positions: Sequence[PositionIn]) -> int:
        """Store fixes once each (by key); returns how many were new."""
        now = self.clock()
        added = 0
        async with self.db.transaction() as tx:
            for p in positions[:MAX_POSITIONS]:
                added += await tx.execute(
                    "INSERT INTO mobile_positions (press, position_key, at, received_at, latitude, longitude,"
                    " accuracy, battery) VALUES (?,?,?,?,?,?,?,?)"
                    " ON CONFLICT (press, position_key) DO NOTHING",
                    (press.id, p.key, self._trusted(p.at, now).isoformat(), now.isoformat(), p.lat, p.lon,
                     p.accuracy, p.battery),
                )
        return added

    async def by_key(self, device: int, key: str) -> PressRow | None:
        row = await self.db.one(
            f"SELECT {_PRESS_COLUMNS} FROM mobile_presses WHERE device = ? AND press_key = ?",  # noqa: S608
            (device, key),
        )
        return _press(row) if row else None

    async def get(self, press_id: int) -> PressRow | None:
        row = await self.db.one(f"SELECT {_PRESS_COLUMNS} FROM mobile_presses WHERE id = ?", (press_id,))  # noqa: S608
        return _press(row) if row else None

    async def for_alarm(self, alarm_id: int) -> list[PressRow]:
        rows = await self.db.all(
            f"SELECT {_PRESS_COLUMNS} FROM mobile_presses WHERE alarm = ? ORDER BY id", (alarm_id,)  # noqa: S608
        )
        return [_press(r) for r in rows]

    async def open_presses(self) -> list[PressRow]:
        rows = await self.db.all(
            f"SELECT {_PRESS_COLUMNS} FROM mobile_presses WHERE ended_at IS NULL ORDER BY id"  # noqa: S608
        )
        return [_press(r) for r in rows]

    async def resolve(self) -> list[PressRow]:
        """Link presses to the alarm the desk opened or joined with their event."""
        rows = await self.db.all("SELECT id, site, event FROM mobile_presses WHERE alarm IS NULL")
        linked = []
        for press_id, site, event in rows:
            found = await self.db.one(
                "SELECT l.alarm FROM alarm_log l JOIN alarms a ON a.id = l.alarm"
                " WHERE a.site = ? AND l.event = ?",
                (site, event),
            )
            if found is None:
                continue
            async with self.db.transaction() as tx:
                await tx.execute("UPDATE mobile_presses SET alarm = ? WHERE id = ?", (found[0], press_id))
            press = await self.get(int(press_id))
            if press is not None:
                linked.append(press)
        return linked

    async def to_end(self, now: datetime) -> list[tuple[PressRow, str]]:
        """Open presses that must end now: their alarm was closed, or the microphone limit passed."""
        rows = await self.db.all(
            f"SELECT {', '.join('p.' + c.strip() for c in _PRESS_COLUMNS.split(','))}, a.closed_at"  # noqa: S608
            " FROM mobile_presses p LEFT JOIN alarms a ON a.id = p.alarm WHERE p.ended_at IS NULL"
        )
        due = []
        for r in rows:
            press = _press(r[:-1])
            if r[-1] is not None:
                due.append((press, "alarm closed"))
            elif press.mic_until <= now:
                due.append((press, "time limit"))
        return due

    async def end(self, press: PressRow, reason: str) -> bool:
        now = self.clock()
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE mobile_presses SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL",
                (now.isoformat(), reason, press.id),
            )
            if changed:
                await record(tx, now, "system", "mobile_press_ended", f"alarm:{press.alarm}",
                             f"press {press.id}: {reason}; microphone off")
        return bool(changed)

    async def track(self, alarm_id: int, site: str) -> list[TrackPoint]:
        """Every position known for an alarm, oldest first: the phone's fixes and the location
        x-data of DC-09 events that joined it."""
        rows = await self.db.all(
            "SELECT m.at, m.latitude, m.longitude, m.accuracy, m.battery FROM mobile_positions m"
            " JOIN mobile_presses p ON p.id = m.press WHERE p.alarm = ? ORDER BY m.at, m.id",
            (alarm_id,),
        )
        points = [TrackPoint(datetime.fromisoformat(str(r[0])), float(r[1]), float(r[2]), r[3], "phone", r[4])
                  for r in rows]
        events = await self.db.all(
            "SELECT event FROM alarm_log WHERE alarm = ? AND event IS NOT NULL ORDER BY id", (alarm_id,)
        )
        for (event_id,) in events:
            event = await self.store.event(int(event_id))
            if event is None or event.transport == "mobile" or event.site != site:
                continue
            try:
                place = location_of((x["id"], x["value"]) for x in event.extended)
            except Dc09Error:
                continue
            if place is not None:
                points.append(TrackPoint(event.sent_at or event.received_at, place.latitude,
                                         place.longitude, None, "dc09"))
        points.sort(key=lambda p: p.at)
        return points


def valid_key(key: str) -> bool:
    return bool(_SAFE_KEY.fullmatch(key))
