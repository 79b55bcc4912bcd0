"""The demo's MQTT broker: mosquitto when installed (as in production), else amqtt in-process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

from simulator.mosquitto import run_as_me

__all__ = ["demo_broker"]

log = logging.getLogger(__name__)


def _mosquitto() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    return "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None


async def _wait_listening(port: int, proc: asyncio.subprocess.Process | None) -> None:
    async with asyncio.timeout(10):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            except OSError:
                if proc is not None and proc.returncode is not None:
                    raise RuntimeError("mosquitto exited at start; see broker.log") from None
                await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def demo_broker(state_dir: Path, port: int) -> AsyncIterator[str]:
    """Yield the broker URL; stop the broker on exit."""
    with socket.socket() as probe:
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise RuntimeError(f"port {port} is taken; choose another with --mqtt-port")
    binary = _mosquitto()
    if binary:
        conf = state_dir / "mosquitto.conf"
        conf.write_text(
            f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\nset_tcp_nodelay true\n"
            f"persistence_location {state_dir}/\n{run_as_me()}"
        )
        log_file = (state_dir / "broker.log").open("ab")
        proc = await asyncio.create_subprocess_exec(binary, "-c", str(conf), stdout=log_file,
                                                    stderr=log_file)
        try:
            await _wait_listening(port, proc)
            log.info("mosquitto on 127.0.0.1:%d", port)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            if proc.returncode is None:
                proc.terminate()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(proc.wait(), 5)
            log_file.close()
        return
    from amqtt.broker import Broker  # embedded fallback when mosquitto is not installed

    broker = Broker({"listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
                     "auth": {"allow-anonymous": True}, "topic-check": {"enabled": False}})
    await broker.start()
    try:
        await _wait_listening(port, None)
        log.info("embedded amqtt broker on 127.0.0.1:%d", port)
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        await broker.shutdown()
