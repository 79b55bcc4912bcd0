"""Interop with a real peer: pysiaalarm's asyncio receiver (what Home Assistant runs) ACKs
Wachter's `Transmitter`, fed through the outbox, and `wachter dc09 send` run as a subprocess,
for SIA-DCS and ADM-CID, plain and encrypted (ascii key), over TCP and UDP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pysiaalarm.account import SIAAccount
from pysiaalarm.aio.client import SIAClient
from pysiaalarm.utils.enums import CommunicationsProtocol

from agent.outbox import Outbox
from agent.panel import Report
from agent.transmitter import Transmitter
from config.site import AlarmCentre
from protocol.codes import EventKind

KEY_TEXT = "AAAAAAAAAAAAAAAA"
ACCOUNT = "12AB"
ROOT = Path(__file__).resolve().parents[2]


class Peer:
    """A running pysiaalarm receiver and the events its callback was given."""

    def __init__(self, client: Any, port: int, transport: str, events: list[Any]) -> None:
        self.client, self.port, self.transport, self.events = client, port, transport, events

    def alarms(self) -> list[Any]:
        return [e for e in self.events if e.code != "RP"]  # RP: link tests and periodic tests

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[Any]:
        async with asyncio.timeout(timeout):  # the UDP server calls back after replying
            while len(self.alarms()) < count:
                await asyncio.sleep(0.01)
        return self.alarms()


@contextlib.asynccontextmanager
async def _pysiaalarm(transport: str, encrypted: bool) -> AsyncIterator[Peer]:
    events: list[Any] = []

    async def on_event(event: Any) -> None:
        events.append(event)

    protocol = CommunicationsProtocol.TCP if transport == "tcp" else CommunicationsProtocol.UDP
    account = SIAAccount(ACCOUNT, KEY_TEXT if encrypted else None)
    # SIAClient.__new__ returns the TCP or UDP subclass; mypy only sees the abstract base
    client: Any = SIAClient("127.0.0.1", 0, [account], on_event, protocol=protocol)  # type: ignore[abstract]
    await client.async_start()
    if transport == "tcp":
        port = client.server.sockets[0].getsockname()[1]
    else:
        port = client.transport.get_extra_info("sockname")[1]
        # pysiaalarm on Python 3.11: SIAServerUDP.connection_made asserts an
        # asyncio.DatagramTransport, which _SelectorDatagramTransport is not before 3.12, so it
        # never keeps the transport and never replies. Hand it over (as test_pysiaalarm_socket).
        if client.sia_server.transport is None:
            client.sia_server.transport = client.transport
    try:
        yield Peer(client, port, transport, events)
    finally:
        # not `async with`: pysiaalarm's __aexit__ returns True and would swallow failures
        await client.async_stop()


CASES = [
    pytest.param(fmt, transport, encrypted, id=f"{fmt}-{transport}-{'encrypted' if encrypted else 'plain'}")
    for fmt in ("SIA-DCS", "ADM-CID")
    for transport in ("tcp", "udp")
    for encrypted in (False, True)
]


def _zone(event: Any, fmt: str) -> str:
    """pysiaalarm keeps a SIA-DCS zone in `message` (ri is the area), a Contact ID zone in `ri`."""
    return str(event.ri if fmt == "ADM-CID" else event.message)


def _centre(fmt: str, peer: Peer, encrypted: bool) -> AlarmCentre:
    """One path to the peer; the key configured as the site's file would say it: ``ascii:...``."""
    path = {"name": "primary", "url": f"{peer.transport}://127.0.0.1:{peer.port}",
            "key": f"ascii:{KEY_TEXT}" if encrypted else None, "ack_timeout": "2s", "retries": 1}
    return AlarmCentre.model_validate(
        {"account": ACCOUNT, "format": fmt, "receiver": "1", "prefix": "0", "paths": [path]})


@pytest.mark.parametrize(("fmt", "transport", "encrypted"), CASES)
async def test_pysiaalarm_acks_the_transmitter(tmp_path: Path, fmt: str, transport: str,
                                               encrypted: bool) -> None:
    faults: list[tuple[str, bool]] = []
    async with _pysiaalarm(transport, encrypted) as peer, Outbox(tmp_path / "agent.db") as outbox:
        await outbox.commit_step([Report(EventKind.PANIC, 3, urgent=True),
                                  Report(EventKind.BURGLARY_PERIMETER, 12)])
        tx = Transmitter(_centre(fmt, peer, encrypted), outbox, lambda: datetime.now(UTC),
                         lambda name, on: faults.append((name, on)))
        task = asyncio.create_task(tx.run(), name="transmitter")
        try:
            events = await peer.wait_for(2)
            async with asyncio.timeout(5):
                while await outbox.pending():
                    await asyncio.sleep(0.01)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert await outbox.pending() == 0
    assert [(e.code, _zone(e, fmt)) for e in events] == [
        ("PA", "003" if fmt == "ADM-CID" else "03"),
        ("BA", "012" if fmt == "ADM-CID" else "12"),
    ]
    assert {e.account for e in events} == {ACCOUNT}
    assert [e.sequence for e in events] == ["0001", "0002"]
    assert tx.sent == 2 and faults == []


@pytest.mark.parametrize(("fmt", "transport", "encrypted"), CASES)
async def test_pysiaalarm_acks_dc09_send(fmt: str, transport: str, encrypted: bool) -> None:
    data = f"#{ACCOUNT}|1120 01 003" if fmt == "ADM-CID" else f"#{ACCOUNT}|Nri1/PA03"
    argv = ["dc09", "send", "--host", "127.0.0.1", "--token", fmt, "--account", ACCOUNT,
            "--receiver", "1", "--sequence", "77", "--data", data]
    argv += ["--udp"] if transport == "udp" else []
    argv += ["--key-ascii", KEY_TEXT] if encrypted else []
    async with _pysiaalarm(transport, encrypted) as peer:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "wachter.cli", *argv, "--port", str(peer.port), cwd=ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, out + err
        events = await peer.wait_for(1)
    answer = json.loads(out)
    assert (answer["answer"], answer["matches"], answer["reply"]["sequence"]) == ("ACK", True, 77)
    assert answer["reply"]["encrypted"] is encrypted
    assert [(e.code, _zone(e, fmt), e.sequence) for e in events] == [
        ("PA", "003" if fmt == "ADM-CID" else "03", "0077")]
