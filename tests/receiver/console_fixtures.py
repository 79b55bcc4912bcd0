"""A real receiver (DC-09 + HTTP on free ports) with three users, and signed-in HTTP clients."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp

from config.receiver import Account, ReceiverConfig
from protocol.dc09 import Dc09Key, Message, decode, encode, exchange
from receiver.auth import Role
from receiver.service import Receiver
from tests.receiver.conftest import ACCOUNTS

KEY_HEX = "C73EC203BC231D91C3EEBBC4751A55E9"
PASSWORD = "correct horse battery"
USERS = {"olga": Role.OPERATOR, "sam": Role.SUPERVISOR, "ada": Role.ADMIN}


def receiver_config(tmp: Path, store: str | None = None) -> ReceiverConfig:
    """Free ports; the store is ``store`` (a URL) or a SQLite file in ``tmp``."""
    demo = ACCOUNTS[0].model_dump(mode="json")
    accounts = [
        Account.model_validate(
            {**demo, "key": f"hex:{KEY_HEX}", "code_word": "tulp", "name": "Woning burgemeester"}
        ),
        ACCOUNTS[1],
    ]
    cfg = ReceiverConfig(accounts=accounts, store=store or f"sqlite://{tmp / 'receiver.db'}")
    return cfg.model_copy(
        update={
            "listen": ["tcp://127.0.0.1:0", "udp://127.0.0.1:0"],
            "http": cfg.http.model_copy(update={"port": 0}),
        }
    )


@dataclass
class Client:
    http: aiohttp.ClientSession
    base: str
    csrf: str = ""

    async def form(self, path: str, **fields: str) -> aiohttp.ClientResponse:
        return await self.http.post(
            self.base + path, data={"csrf": self.csrf, **fields}, allow_redirects=False
        )


async def sign_in(base: str, user: str, password: str = PASSWORD) -> Client:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    resp = await http.post(f"{base}/login", data={"user": user, "password": password}, allow_redirects=False)
    assert resp.status == 302, await resp.text()
    page = await (await http.get(f"{base}/")).text()
    match = re.search(r'name="csrf" value="([^"]+)"', page)
    assert match
    return Client(http, base, match.group(1))


async def send_frame(receiver: Receiver, code: str, zone: str = "02", seq: int = 1) -> str:
    return await send_to(receiver.port("tcp"), code, zone, seq)


async def send_to(port: int, code: str, zone: str = "02", seq: int = 1) -> str:
    """One encrypted SIA-DCS event over a real TCP socket; returns the reply token."""
    msg = Message(
        token="SIA-DCS",
        sequence=seq,
        account="0471",
        receiver="1",
        prefix="0",
        data=f"#0471|Nri1/{code}{zone}",
        timestamp=datetime.now(UTC).replace(microsecond=0),
        encrypted=True,
    )
    key = Dc09Key.from_hex(KEY_HEX)
    reply = await exchange("127.0.0.1", port, encode(msg, key), udp=False, timeout=5)
    assert reply is not None
    return decode(reply, lambda _a: [key]).token


async def running_receiver(tmp: Path, store: str | None = None) -> AsyncIterator[Receiver]:
    async with Receiver(receiver_config(tmp, store)) as receiver:
        for name, role in USERS.items():
            await receiver.accounts.add_user(name, role, PASSWORD)
        yield receiver
