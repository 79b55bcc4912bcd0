"""What a scenario runs against: a fresh in-process stack, or a system that is already running.

Both give the runner the same things: the site's MQTT (``SiteRemote``), the alarm centre's
events since the scenario began, and (in-process only) the faults that need the stack itself.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from config.site import Site
from simulator.devices import SimAction
from simulator.remote import SiteRemote
from simulator.scenario import FaultStep

__all__ = ["RunningSystem", "Seen", "Target", "Unsupported", "default_state_dir", "read_token"]


class Unsupported(RuntimeError):
    """A fault this target cannot produce (e.g. a receiver restart on someone else's system)."""


@dataclass(frozen=True)
class Seen:
    """One event as the alarm centre stored it."""

    id: int
    code: str | None
    zone: int | None
    text: str
    received_at: datetime

    @classmethod
    def from_api(cls, row: dict[str, Any]) -> Seen:
        zone = row.get("zone")
        texts = [row.get("data") or ""] + [str(x.get("value", "")) for x in row.get("extended") or []]
        return cls(
            id=int(row["id"]), code=row.get("code"),
            zone=int(zone) if isinstance(zone, str) and zone.isdigit() else None,
            text=" | ".join(t for t in texts if t),
            received_at=datetime.fromisoformat(str(row["received_at"])),
        )

    def line(self, start: datetime) -> str:
        t = (self.received_at - start).total_seconds()
        zone = f"zone {self.zone:<3}" if self.zone is not None else "        "
        return f"{t:6.1f}s  {self.code or '--'}  {zone}  {self.text[:70]}"


class Target(Protocol):
    site: Site
    remote: SiteRemote

    async def mark(self) -> None:
        """From now on ``events`` returns only what arrives later."""

    async def act(self, device: str, action: SimAction) -> None:
        """Do it to the device: at the pin when in-process, else through the simulator's topic."""

    async def events(self) -> list[Seen]: ...

    def problems(self) -> list[str]:
        """Parts of the system that died (in-process only)."""
        ...

    async def fault(self, step: FaultStep) -> None: ...

    async def outbox_pending(self) -> int | None: ...


def default_state_dir() -> Path:
    """Where `wachter demo` keeps its state (and credentials.json) unless told otherwise."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "wachter" / "demo"


def read_token(path: Path) -> str:
    """The API token from the demo's credentials.json (or a file holding just the token)."""
    text = path.read_text(encoding="utf-8").strip()
    if text.startswith("{"):
        return str(json.loads(text)["api_token"])
    return text


class RunningSystem:
    """A broker and receiver someone else runs (``wachter demo`` or a test installation)."""

    def __init__(self, site: Site, remote: SiteRemote, receiver_url: str, token: str) -> None:
        self.site = site
        self.remote = remote
        self.receiver_url = receiver_url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"}
        self._after = 0
        self._cache: list[Seen] = []

    async def _fetch(self, after: int) -> list[Seen]:
        url = f"{self.receiver_url}/api/events"
        params = {"site": self.site.id, "after": str(after), "limit": "5000"}
        timeout = aiohttp.ClientTimeout(total=3)
        async with aiohttp.ClientSession(timeout=timeout) as http, http.get(
            url, params=params, headers=self._headers
        ) as resp:
            if resp.status in (401, 403):
                raise PermissionError(f"{url}: the receiver refused the API token ({resp.status})")
            resp.raise_for_status()
            body = await resp.json()
        rows = body["events"] if isinstance(body, dict) else body
        return [Seen.from_api(r) for r in rows]

    async def mark(self) -> None:
        seen = await self._fetch(0)
        self._after = max((e.id for e in seen), default=0)
        self._cache = []

    async def events(self) -> list[Seen]:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):  # keep what we saw last
            self._cache = await self._fetch(self._after)
        return self._cache

    async def act(self, device: str, action: SimAction) -> None:
        await self.remote.act(device, action)

    async def fault(self, step: FaultStep) -> None:
        raise Unsupported(f"{step.fault} needs the in-process stack: run without --demo/--broker")

    async def outbox_pending(self) -> int | None:
        return None

    def problems(self) -> list[str]:
        return []


def utcnow() -> datetime:
    return datetime.now(UTC)
