"""A simulated mobile panic button: presses with a position, walks, and speaks (a tone with a
spoken-rhythm envelope) into the listen-in, through the same device API a phone uses.

    wachter sim phone-press --lat 52.0907 --lon 5.1214 [--silent] [--audio 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from receiver.mobile.audio import RATE, ulaw_encode
from simulator.target import default_state_dir

__all__ = ["SimulatedPhone", "add_parser", "speech_like"]

CHUNK = 320  # 40 ms, as the app sends


def speech_like(seconds: float, hz: float = 440.0) -> bytes:
    """µ-law audio that an operator recognises as sound: a tone in syllable-long bursts."""
    t = np.arange(int(seconds * RATE)) / RATE
    envelope = (np.sin(2 * np.pi * 3 * t) > -0.2).astype(float)
    return ulaw_encode((np.sin(2 * np.pi * hz * t) * envelope * 0.3 * 32767).astype(np.int16))


@dataclass
class SimulatedPhone:
    base: str
    token: str

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def press(self, http: aiohttp.ClientSession, lat: float, lon: float, *, silent: bool = False,
                    accuracy: float = 10.0, key: str | None = None) -> dict[str, Any]:
        now = datetime.now(UTC).isoformat()
        body = {"key": key or uuid.uuid4().hex, "silent": silent, "at": now, "battery": 0.76,
                "position": {"key": "press-fix", "lat": lat, "lon": lon, "accuracy": accuracy, "at": now}}
        async with http.post(f"{self.base}/mobile/api/press", json=body, headers=self._auth()) as resp:
            if resp.status not in (200, 201):
                raise RuntimeError(f"press refused: {resp.status} {await resp.text()}")
            return {"key": body["key"], **await resp.json()}

    async def move(self, http: aiohttp.ClientSession, key: str, lat: float, lon: float, n: int) -> bool:
        """One position; False once the alarm centre ended the alarm."""
        fix = {"key": f"fix-{n:06d}", "lat": lat, "lon": lon, "accuracy": 8.0,
               "at": datetime.now(UTC).isoformat(), "battery": 0.75}
        async with http.post(f"{self.base}/mobile/api/press/{key}/positions", json={"positions": [fix]},
                             headers=self._auth()) as resp:
            return resp.status == 200 and bool((await resp.json())["open"])

    async def speak(self, http: aiohttp.ClientSession, key: str, audio: bytes) -> str:
        """Stream ``audio`` at real-time pace; returns why it stopped."""
        loop = asyncio.get_running_loop()
        async with http.ws_connect(f"{self.base.replace('http', 'ws', 1)}/mobile/api/audio") as ws:
            await ws.send_str(json.dumps({"token": self.token, "press": key}))
            first = json.loads((await ws.receive(timeout=10)).data)
            if first["type"] != "ready":
                return str(first.get("reason", "refused"))
            start = loop.time()
            for offset in range(0, len(audio), CHUNK):
                await ws.send_bytes(audio[offset:offset + CHUNK])
                try:
                    msg = await ws.receive(timeout=max(0.0, start + (offset + CHUNK) / RATE - loop.time()))
                except TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.TEXT and json.loads(msg.data).get("type") == "end":
                    return "the alarm centre ended the alarm"
                if msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                    return "closed"
        return "done"


def _token(args: argparse.Namespace) -> str:
    if args.token_file:
        return Path(args.token_file).read_text(encoding="utf-8").strip()
    state = Path(args.state_dir) if args.state_dir else default_state_dir()
    credentials = json.loads((state / "credentials.json").read_text(encoding="utf-8"))
    return str(credentials["mobile_token"])


async def _run(args: argparse.Namespace) -> str:
    phone = SimulatedPhone(args.receiver.rstrip("/"), _token(args))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=args.audio + 30)) as http:
        press = await phone.press(http, args.lat, args.lon, silent=args.silent)
        print(f"pressed: event {press['event']} (key {press['key']})", flush=True)
        if args.audio <= 0:
            return "pressed"
        walk = asyncio.create_task(_walk(phone, http, press["key"], args.lat, args.lon, args.audio))
        try:
            return await phone.speak(http, press["key"], speech_like(args.audio))
        finally:
            walk.cancel()


async def _walk(phone: SimulatedPhone, http: aiohttp.ClientSession, key: str, lat: float, lon: float,
                seconds: float) -> None:
    """About 1.4 m/s north-east, a position every 3 s."""
    for n in range(1, int(seconds / 3) + 1):
        await asyncio.sleep(3)
        if not await phone.move(http, key, lat + n * 3e-5, lon + n * 4e-5, n):
            return


def cmd_phone_press(args: argparse.Namespace) -> int:
    try:
        outcome = asyncio.run(_run(args))
    except (OSError, aiohttp.ClientError, RuntimeError, KeyError, ValueError) as exc:
        print(f"cannot press the simulated phone: {exc}", file=sys.stderr)
        return 1
    print(outcome)
    return 0


def add_parser(verbs: Any) -> None:
    p = verbs.add_parser("phone-press", help="press the demo's mobile panic button, with a position")
    p.add_argument("--lat", type=float, default=52.0907, help="latitude, decimal degrees (default Utrecht)")
    p.add_argument("--lon", type=float, default=5.1214, help="longitude, decimal degrees")
    p.add_argument("--silent", action="store_true", help="a silent alarm (HA)")
    p.add_argument("--audio", type=float, default=20.0, help="seconds of listen-in audio to stream (0: none)")
    p.add_argument("--receiver", default="http://127.0.0.1:8080", help="the receiver's URL")
    p.add_argument("--state-dir", help="the demo's state dir (for credentials.json)")
    p.add_argument("--token-file", help="a file holding the phone's device token instead")
    p.set_defaults(func=cmd_phone_press)
