"""A fake receiver on the path cannot make an encrypted alarm vanish.

The primary path goes to an impostor (a real TCP socket) that answers every frame without the
account's key, or with a stale or mismatched answer; the backup path goes to the real receiver.
The panic must reach the real receiver over the backup, and the impostor's answers are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.outbox import Outbox
from agent.panel import Report
from agent.transmitter import Transmitter
from config.site import AlarmCentre
from protocol.codes import EventKind
from protocol.dc09 import Dc09Key, FrameSplitter, Message, ack, decode, encode
from receiver.service import Receiver
from tests.e2e.stack import receiver_config, site_config

WRONG_KEY = Dc09Key.parse("hex:00112233445566778899AABBCCDDEEFF")
Answer = Callable[[Message, Dc09Key], bytes]


def _plain(token: str) -> Answer:
    def answer(request: Message, key: Dc09Key) -> bytes:
        echo = Message(token, request.sequence, request.account, receiver=request.receiver,
                       prefix=request.prefix, timestamp=datetime.now(UTC))
        return encode(echo)
    return answer


def _encrypted_ack(*, key: Dc09Key | None = None, age: timedelta = timedelta(0),
                   sequence_shift: int = 0, account: str | None = None) -> Answer:
    def answer(request: Message, right: Dc09Key) -> bytes:
        echo = replace(request, sequence=(request.sequence + sequence_shift) % 10000,
                       account=account or request.account)
        return ack(echo, key or right, datetime.now(UTC) - age)
    return answer


IMPOSTORS = {
    "plain ACK": _plain("ACK"),
    "plain DUH": _plain("DUH"),
    "*ACK with another key": _encrypted_ack(key=WRONG_KEY),
    "*ACK replayed 10 minutes later": _encrypted_ack(age=timedelta(minutes=10)),
    "*ACK from the future": _encrypted_ack(age=-timedelta(minutes=10)),
    "*ACK for another account": _encrypted_ack(account="0472"),
}


@contextlib.asynccontextmanager
async def _impostor(key: Dc09Key, answer: Answer) -> AsyncIterator[list[Message]]:
    """A TCP server that decodes each frame (it may know the key) and answers as told."""
    heard: list[Message] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = FrameSplitter()
        with contextlib.suppress(ConnectionError):
            while chunk := await reader.read(4096):
                for frame in splitter.feed(chunk):
                    if isinstance(frame, bytes):
                        request = decode(frame, lambda _acct: [key])
                        heard.append(request)
                        writer.write(answer(request, key))
                        await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    async with server:
        heard.append(Message("PORT", server.sockets[0].getsockname()[1], None))
        yield heard


def _centre(tmp: Path, receiver: Receiver, impostor_port: int) -> AlarmCentre:
    site = site_config(tmp, "mqtt://127.0.0.1:1", receiver.port("tcp"), receiver.port("udp"))
    primary, backup = site.alarm_centre.paths
    quick = {"ack_timeout": timedelta(seconds=1), "retries": 1}
    paths = [primary.model_copy(update={**quick, "url": f"tcp://127.0.0.1:{impostor_port}"}),
             backup.model_copy(update=quick)]
    return site.alarm_centre.model_copy(update={"paths": paths})


@pytest.mark.parametrize("impostor", IMPOSTORS, ids=list(IMPOSTORS))
async def test_an_impostor_answer_leaves_the_panic_queued_for_the_real_receiver(
        tmp_path: Path, impostor: str) -> None:
    async with Receiver(receiver_config(tmp_path)) as receiver:
        key = Dc09Key.parse(site_config(tmp_path, "mqtt://127.0.0.1:1", 1, 1)
                            .alarm_centre.paths[0].key.get_secret_value())  # type: ignore[union-attr]
        async with _impostor(key, IMPOSTORS[impostor]) as heard, \
                Outbox(tmp_path / "agent.db") as outbox:
            centre = _centre(tmp_path, receiver, heard.pop(0).sequence)
            tx = Transmitter(centre, outbox, lambda: datetime.now(UTC))
            for path in tx.paths:  # no start-up link tests: the panic is the first frame
                path.last_sent = datetime.now(UTC)
            await outbox.commit_step([Report(EventKind.PANIC, 2, urgent=True)])
            async with asyncio.TaskGroup() as tg:
                task = tg.create_task(tx.run())
                try:
                    async with asyncio.timeout(20):
                        while not await receiver.store.events(code="PA"):
                            await asyncio.sleep(0.02)
                        while await outbox.pending():
                            await asyncio.sleep(0.02)
                finally:
                    task.cancel()
        [stored] = await receiver.store.events(code="PA")
        assert stored.transport == "udp"  # over the backup path, to the real receiver
        assert any(m.token == "SIA-DCS" and m.data.endswith("/PA02") for m in heard)
        assert tx.counters["unauthenticated_answer"] >= 1
