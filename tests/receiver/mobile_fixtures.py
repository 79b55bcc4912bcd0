"""A real receiver with a mobile person, and a phone that speaks its API (enrol, press, audio)."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from config.mobile import Mobile
from config.receiver import PlanStep
from receiver.mobile.audio import RATE, ulaw_encode
from receiver.service import Receiver
from receiver.store import utcnow
from tests.receiver.console_fixtures import PASSWORD, USERS, Client, receiver_config

TONE_HZ = 1000.0
HOME = (52.0907, 5.1214)  # Utrecht
MOBILE = Mobile.model_validate({
    "mic_limit": "10m",
    "people": [{"id": "burgemeester", "name": "Burgemeester Jansen", "site": "demo-home",
                "phones": ["+31 6 1234 5678", "+31 6 2222 3333"], "code_word": "tulp",
                "duress_word": "roos"}],
})


#: the demo home's hold-up plan, as in config/examples/receiver.yaml: the call-back calls the
#: person who pressed first, then the official, within 60 s; the police step has its number
HOLDUP = [
    PlanStep(text="Listen in / view camera snapshots to verify"),
    PlanStep(text="Call the official back and ask for the code word", call=["person", "official"],
             verifies=True, answer_within=timedelta(seconds=60)),
    PlanStep(text="Verified, duress or no answer: pass to police at priority 1", dispatch="police",
             phone="+31 88 000 1122", skip_when_cleared=True),
    PlanStep(text="Inform the keyholder", call=["keyholder"], required=False),
]


def mobile_config(tmp: Path, store: str | None = None, **mobile: Any) -> Any:
    cfg = receiver_config(tmp, store)
    home = cfg.accounts[0].model_copy(update={"action_plans": {"holdup": HOLDUP}})
    mobile = {"recordings_dir": tmp / "recordings", **mobile}
    return cfg.model_copy(update={"accounts": [home, *cfg.accounts[1:]],
                                  "mobile": MOBILE.model_copy(update=mobile)})


class MovableClock:
    """The receiver's clock, moved on by a test (call-back timers) instead of waiting."""

    def __init__(self) -> None:
        self.ahead = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead


async def running_mobile_receiver(
    tmp: Path, store: str | None = None, clock: Callable[[], datetime] = utcnow, **mobile: Any
) -> AsyncIterator[Receiver]:
    async with Receiver(mobile_config(tmp, store, **mobile), clock) as receiver:
        for name, role in USERS.items():
            await receiver.accounts.add_user(name, role, PASSWORD)
        yield receiver


def base(receiver: Receiver) -> str:
    return f"http://127.0.0.1:{receiver.http_port}"


async def enrol_link(admin: Client, *, silent: bool = False) -> str:
    """An admin makes a one-time link on the console's page; returns it."""
    fields = {"person": "burgemeester", "label": "test phone"} | ({"silent": "1"} if silent else {})
    resp = await admin.form("/admin/mobile/enrol", **fields)
    page = await resp.text()
    assert resp.status == 200, page
    match = re.search(r'<code id="enrol-link">([^<]+)</code>', page)
    assert match, page
    return match.group(1)


def tone(seconds: float, hz: float = TONE_HZ, level: float = 0.4) -> bytes:
    t = np.arange(int(seconds * RATE)) / RATE
    return ulaw_encode((np.sin(2 * np.pi * hz * t) * level * 32767).astype(np.int16))


@dataclass
class Phone:
    """The phone app's API calls, made by hand."""

    http: aiohttp.ClientSession
    base: str
    token: str

    @classmethod
    async def enrolled(cls, base_url: str, link: str) -> Phone:
        http = aiohttp.ClientSession()
        secret = link.split("#", 1)[1]
        resp = await http.post(f"{base_url}/mobile/api/enrol", json={"secret": secret})
        assert resp.status == 201, await resp.text()
        return cls(http, base_url, (await resp.json())["token"])

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def press(self, key: str | None = None, *, position: tuple[float, float] | None = HOME,
                    silent: bool = False, at: datetime | None = None) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"key": key or uuid.uuid4().hex, "silent": silent,
                                "at": (at or datetime.now(UTC)).isoformat(), "battery": 0.81}
        if position is not None:
            body["position"] = {"key": "press-fix", "lat": position[0], "lon": position[1], "accuracy": 12.0,
                                "at": body["at"]}
        resp = await self.http.post(f"{self.base}/mobile/api/press", json=body, headers=self._auth())
        return resp.status, (await resp.json() if resp.status in (200, 201) else {"text": await resp.text()})

    async def position(self, key: str, lat: float, lon: float, fix: str) -> tuple[int, dict[str, Any]]:
        body = {"positions": [{"key": fix, "lat": lat, "lon": lon, "accuracy": 8.0,
                               "at": datetime.now(UTC).isoformat(), "battery": 0.8}]}
        resp = await self.http.post(f"{self.base}/mobile/api/press/{key}/positions", json=body,
                                    headers=self._auth())
        return resp.status, (await resp.json() if resp.status == 200 else {"text": await resp.text()})

    async def audio(self, key: str) -> aiohttp.ClientWebSocketResponse:
        ws = await self.http.ws_connect(f"{self.base.replace('http', 'ws')}/mobile/api/audio")
        await ws.send_str(json.dumps({"token": self.token, "press": key}))
        return ws

    async def close(self) -> None:
        await self.http.close()


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or check}")
        await asyncio.sleep(0.05)
