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
#: the demo home's book, as an installer writes it (config/examples/site.yaml's zones)
BOOK = {
    "code_word": "tulp",
    "duress_word": "regenboog",
    "address": "Dorpsstraat 1, 1234 AB Ergens",
    "schedule": "armed nights 23:00-07:00",
    "contacts": [
        {"name": "Burgemeester", "role": "official", "phone": "+31 6 1234 5678"},
        {"name": "Partner", "role": "keyholder", "phone": "+31 6 8765 4321"},
    ],
    "zones": [
        {"zone": 2, "name": "Panic button hall", "device": "panic-hall", "location": "hall"},
        {"zone": 5, "name": "Kitchen window", "device": "window-kitchen"},
        {"zone": 13, "name": "Bedroom window", "device": "window-bedroom",
         "location": "bedroom, first floor"},
        {"zone": 20, "name": "Smoke detector landing", "device": "smoke-hall"},
        {"zone": 40, "name": "Video intercom front door", "device": "intercom-front"},
    ],
}


def receiver_config(tmp: Path, store: str | None = None, **update: object) -> ReceiverConfig:
    """Free ports; the store is ``store`` (a URL) or a SQLite file in ``tmp``."""
    demo = ACCOUNTS[0].model_dump(mode="json")
    accounts = [
        Account.model_validate(
            {**demo, **BOOK, "key": f"hex:{KEY_HEX}", "name": "Woning burgemeester"}
        ),
        ACCOUNTS[1],
    ]
    cfg = ReceiverConfig(accounts=accounts, store=store or f"sqlite://{tmp / 'receiver.db'}")
    return cfg.model_copy(
        update={
            "listen": ["tcp://127.0.0.1:0", "udp://127.0.0.1:0"],
            "http": cfg.http.model_copy(update={"port": 0}),
            **update,
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


async def running_receiver(tmp: Path, store: str | None = None, **update: object) -> AsyncIterator[Receiver]:
    async with Receiver(receiver_config(tmp, store, **update)) as receiver:
        for name, role in USERS.items():
            await receiver.accounts.add_user(name, role, PASSWORD)
        yield receiver
