"""Enrolled phones: an admin binds a device to a person (and so to a site), the phone redeems a
one-time link for its own token, and the token opens the device API until it is revoked.

Only SHA-256 digests of the link secret and of the token are stored, so a copy of the database
opens no door; every enrolment, redemption, revocation and refused use is in the audit log.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from receiver.audit import record
from receiver.db import Database
from receiver.store import Clock

__all__ = ["Device", "DeviceRegistry", "Enrolment", "EnrolmentError"]

_COLUMNS = "id, person, site, label, silent, created_at, created_by, enrolled_at, revoked_at, last_seen_at"
_INSERT = (
    "INSERT INTO mobile_devices (person, site, label, silent, enrol, enrol_expires, created_at, created_by)"  # noqa: S608
    f" VALUES (?,?,?,?,?,?,?,?) RETURNING {_COLUMNS}"
)
REFUSAL_AUDIT_GAP = timedelta(minutes=1)  # a revoked phone retrying is audited once a minute


class EnrolmentError(ValueError):
    """The link is unknown, used or expired; the text is shown to the person as is."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


@dataclass(frozen=True)
class Device:
    id: int
    person: str
    site: str
    label: str
    silent: bool
    created_at: datetime
    created_by: str
    enrolled_at: datetime | None
    revoked_at: datetime | None
    last_seen_at: datetime | None

    @property
    def name(self) -> str:
        """How the audit log names the device."""
        return f"mobile:{self.id}"

    @property
    def state(self) -> str:
        return "revoked" if self.revoked_at else "enrolled" if self.enrolled_at else "link not used yet"


def _device(row: tuple[Any, ...]) -> Device:
    return Device(int(row[0]), str(row[1]), str(row[2]), str(row[3]), bool(row[4]),
                  datetime.fromisoformat(str(row[5])), str(row[6]), _time(row[7]), _time(row[8]),
                  _time(row[9]))


@dataclass(frozen=True)
class Enrolment:
    device: Device
    secret: str  # goes into the one-time link (after the '#'), shown once, never stored


class DeviceRegistry:
    def __init__(self, db: Database, clock: Clock, enrol_valid: timedelta = timedelta(hours=24)) -> None:
        self.db, self.clock, self.enrol_valid = db, clock, enrol_valid
        self._refusals: dict[int, datetime] = {}

    async def enrol(
        self, person: str, site: str, *, by: str, label: str = "", silent: bool = False
    ) -> Enrolment:
        """A new device for ``person`` and its one-time link secret."""
        secret = "we_" + secrets.token_urlsafe(24)
        now = self.clock()
        async with self.db.transaction() as tx:
            row = await tx.one(
                _INSERT,
                (person, site, label[:64], int(silent), digest(secret),
                 (now + self.enrol_valid).isoformat(), now.isoformat(), by),
            )
            assert row is not None
            device = _device(row)
            mode = "silent" if silent else "normal"
            await record(tx, now, by, "mobile_enrolled", device.name, f"{person} at {site}, {mode}")
        return Enrolment(device, secret)

    async def redeem(self, secret: str, *, peer: str) -> tuple[Device, str]:
        """The link's secret, once, for the device and its token (which the phone keeps)."""
        now = self.clock()
        token = "wm_" + secrets.token_urlsafe(32)
        async with self.db.transaction() as tx:
            row = await tx.one(
                f"SELECT {_COLUMNS}, enrol_expires FROM mobile_devices WHERE enrol = ?",  # noqa: S608
                (digest(secret),),
            )
            if row is None:
                raise EnrolmentError("this enrolment link is unknown or was used already; ask for a new one")
            device = _device(row)
            if device.revoked_at is not None or datetime.fromisoformat(str(row[-1])) <= now:
                raise EnrolmentError("this enrolment link has expired; ask for a new one")
            await tx.execute(
                "UPDATE mobile_devices SET token = ?, enrol = NULL, enrol_expires = NULL, enrolled_at = ?,"
                " last_seen_at = ? WHERE id = ?",
                (digest(token), now.isoformat(), now.isoformat(), device.id),
            )
            await record(tx, now, device.name, "mobile_link_used", device.name, f"from {peer}")
        found = await self.get(device.id)
        assert found is not None
        return found, token

    async def authenticate(self, token: str, *, peer: str, use: str) -> Device | None:
        """The device a token belongs to; None for an unknown token, and for a revoked one
        (whose attempts are audited, at most once per REFUSAL_AUDIT_GAP)."""
        if not token.startswith("wm_") or len(token) > 100:
            return None
        row = await self.db.one(
            f"SELECT {_COLUMNS} FROM mobile_devices WHERE token = ?", (digest(token),)  # noqa: S608
        )
        if row is None:
            return None
        device = _device(row)
        if device.revoked_at is None:
            return device
        now = self.clock()
        last = self._refusals.get(device.id)
        if last is None or now - last >= REFUSAL_AUDIT_GAP:
            self._refusals[device.id] = now
            async with self.db.transaction() as tx:
                await record(tx, now, device.name, "mobile_refused", device.name,
                             f"revoked; {use} from {peer}")
        return None

    async def seen(self, device: Device) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("UPDATE mobile_devices SET last_seen_at = ? WHERE id = ?",
                             (self.clock().isoformat(), device.id))

    async def revoke(self, device_id: int, *, by: str) -> Device:
        """The token opens nothing from now on (its digest stays, so later attempts are audited)."""
        now = self.clock()
        async with self.db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE mobile_devices SET revoked_at = ?, revoked_by = ?, enrol = NULL"
                " WHERE id = ? AND revoked_at IS NULL",
                (now.isoformat(), by, device_id),
            )
            if changed != 1:
                raise EnrolmentError(f"there is no active device {device_id}")
            await record(tx, now, by, "mobile_revoked", f"mobile:{device_id}")
        found = await self.get(device_id)
        assert found is not None
        return found

    async def get(self, device_id: int) -> Device | None:
        row = await self.db.one(f"SELECT {_COLUMNS} FROM mobile_devices WHERE id = ?", (device_id,))  # noqa: S608
        return _device(row) if row else None

    async def all(self) -> list[Device]:
        rows = await self.db.all(f"SELECT {_COLUMNS} FROM mobile_devices ORDER BY id")  # noqa: S608
        return [_device(r) for r in rows]
