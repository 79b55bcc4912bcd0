"""The demo's MQTT broker: mosquitto when installed (as in production), else amqtt embedded.

``--broker auto`` (the default) takes mosquitto when it is installed and the embedded amqtt
otherwise; ``mosquitto`` and ``embedded`` choose. The embedded broker runs in a child process
(``wachter/embedded_broker.py``) and speaks MQTT 3.1.1, so the demo's clients are told to as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from simulator.mosquitto import mosquitto_binary, run_as_me
from wachter.embedded_broker import READY

__all__ = ["BrokerChoice", "DemoBroker", "demo_broker"]

log = logging.getLogger(__name__)

BrokerChoice = Literal["auto", "mosquitto", "embedded"]


@dataclass(frozen=True)
class DemoBroker:
    url: str
    kind: Literal["mosquitto", "embedded"]
    protocol: Literal["5", "3.1.1"]  # what the demo's clients must speak to it

    def describe(self) -> str:
        if self.kind == "mosquitto":
            return f"{self.url}  (mosquitto)"
        return f"{self.url}  (embedded amqtt, MQTT 3.1.1; mosquitto is what a home runs)"


def _installed_mosquitto() -> str | None:
    try:
        return mosquitto_binary()
    except RuntimeError:
        return None


async def _wait_listening(port: int, proc: asyncio.subprocess.Process, name: str) -> None:
    async with asyncio.timeout(15):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                if proc.returncode is not None:
                    raise RuntimeError(f"{name} exited at start; see broker.log") from None
                await asyncio.sleep(0.05)


async def _wait_ready(proc: asyncio.subprocess.Process, name: str) -> None:
    """The embedded broker says when it listens (a probe connection would log an error there)."""
    assert proc.stdout is not None
    async with asyncio.timeout(15):
        while line := await proc.stdout.readline():
            if line.decode().strip() == READY:
                return
    raise RuntimeError(f"{name} exited at start; see broker.log")


@contextlib.asynccontextmanager
async def _child(argv: list[str], state_dir: Path, port: int, name: str, *,
                 says_ready: bool = False) -> AsyncIterator[None]:
    with (state_dir / "broker.log").open("ab") as log_file:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdout=asyncio.subprocess.PIPE if says_ready else log_file, stderr=log_file,
            stdin=asyncio.subprocess.DEVNULL)
        try:
            if says_ready:
                await _wait_ready(proc, name)
            else:
                await _wait_listening(port, proc, name)
            yield
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    await asyncio.wait_for(proc.wait(), 5)
                except TimeoutError:
                    proc.kill()
                    await proc.wait()


@contextlib.asynccontextmanager
async def demo_broker(state_dir: Path, port: int, choice: BrokerChoice = "auto") -> AsyncIterator[DemoBroker]:
    """Start the chosen broker on 127.0.0.1:``port``; stop it on exit."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is taken; choose another with --mqtt-port")
    binary = _installed_mosquitto() if choice != "embedded" else None
    if choice == "mosquitto" and binary is None:
        raise RuntimeError("--broker mosquitto: mosquitto is not installed "
                           "(apt-get install mosquitto), or use --broker embedded")
    url = f"mqtt://127.0.0.1:{port}"
    if binary is not None:
        conf = state_dir / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\nset_tcp_nodelay true\n"
            f"persistence_location {state_dir}/\n{run_as_me()}"
        )
        async with _child([binary, "-c", str(conf)], state_dir, port, "mosquitto"):
            log.info("mosquitto on 127.0.0.1:%d", port)
            yield DemoBroker(url, "mosquitto", "5")
        return
    argv = [sys.executable, "-m", "wachter.embedded_broker", "--port", str(port)]
    async with _child(argv, state_dir, port, "the embedded broker", says_ready=True):
        log.info("embedded amqtt broker on 127.0.0.1:%d", port)
        yield DemoBroker(url, "embedded", "3.1.1")
