"""The pieces every fault test uses: a receiver on fixed ports, the agent as a real subprocess
(so it can be killed with SIGKILL), a site YAML pointed at them, and a device-event publisher."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiomqtt

from config.receiver import ReceiverConfig
from protocol import mqtt
from receiver.service import Receiver
from receiver.store import StoredEvent
from tests.broker import free_port
from tests.e2e.stack import EXAMPLES, receiver_config

if TYPE_CHECKING:
    from agent.service import Agent

ROOT = Path(__file__).resolve().parents[2]
SITE = "demo-home"
KEY = "hex:C73EC203BC231D91C3EEBBC4751A55E9"


def path_spec(name: str, url: str, *, poll: str = "10s", ack_timeout: str = "1s",
              retries: int = 1) -> dict[str, Any]:
    """One ``alarm_centre.paths`` entry in YAML form (short timings within the schema's limits)."""
    return {"name": name, "url": url, "key": KEY, "poll_interval": poll,
            "ack_timeout": ack_timeout, "retries": retries}


def write_site(tmp: Path, broker_url: str, paths: list[dict[str, Any]],
               state_dir: Path | None = None) -> Path:
    """config/examples/site.yaml with the broker, the paths and the state directory replaced."""
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(EXAMPLES / "site.yaml")
    data["state_dir"] = str(state_dir or tmp / "agent")
    data["mqtt"]["url"] = broker_url
    data["alarm_centre"]["paths"] = paths
    out = tmp / "site.yaml"
    with out.open("w") as fh:
        yaml.dump(data, fh)
    return out


def receiver_on(tmp: Path, name: str, tcp: int | None = None, udp: int | None = None) -> ReceiverConfig:
    """A receiver config with its own store and fixed ports, so it can be stopped and restarted."""
    cfg = receiver_config(tmp)
    listen = [f"tcp://127.0.0.1:{tcp or free_port()}", f"udp://127.0.0.1:{udp or free_port()}"]
    return cfg.model_copy(update={"listen": listen, "store": f"sqlite://{tmp / (name + '.db')}"})


@dataclass
class AgentProcess:
    """``python -m wachter.cli agent`` as a child process; every start appends to one log."""

    config: Path
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"---- start {self.starts}\n".encode())
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "wachter.cli", "agent", "--demo", "--config", str(self.config)],
                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
            )

    def kill(self) -> None:
        """SIGKILL: no clean-up of any kind, as in a power cut of the process."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.kills += 1
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc = None

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def count(self, needle: str) -> int:
        return self.text().count(needle)

    async def wait_log(self, needle: str, times: int = 1, timeout: float = 15.0) -> None:
        """Until ``needle`` appears ``times`` times in the log (all starts together)."""
        async with asyncio.timeout(timeout):
            while self.count(needle) < times:
                if self.proc is not None and self.proc.poll() is not None:
                    raise AssertionError(f"agent exited:\n{self.text()[-3000:]}")
                await asyncio.sleep(0.05)

    async def connected(self, timeout: float = 15.0) -> None:
        await self.wait_log("agent connected to the broker", self.starts, timeout)


@contextlib.asynccontextmanager
async def agent_process(tmp: Path, config: Path, **env: str) -> AsyncIterator[AgentProcess]:
    agent = AgentProcess(config, tmp / "agent.log", env=dict(env))
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


class Devices:
    """Publishes DeviceEvents for the site's devices the way a driver does (QoS 1, unique ids)."""

    def __init__(self, client: aiomqtt.Client) -> None:
        self.client = client
        self.published: list[mqtt.DeviceEvent] = []

    async def send(self, device: str, kind: mqtt.EventType) -> mqtt.DeviceEvent:
        event = mqtt.DeviceEvent(id=uuid.uuid4().hex, device=device, type=kind)
        topic = mqtt.device_topic(SITE, device, mqtt.Channel.EVENT)
        await self.client.publish(topic, event.model_dump_json(), qos=1)
        self.published.append(event)
        return event


async def publish_while_killing(devices: Devices, agent: AgentProcess,
                                events: Sequence[tuple[str, mqtt.EventType]], rng: random.Random, *,
                                clump: int, pause: float, kills: int, kill_after: float) -> None:
    """Publish ``events`` in clumps of 1 to ``clump`` with pauses of up to ``pause`` s while the
    agent is SIGKILLed ``kills`` times, 0.05 to ``kill_after`` s apart, each time restarted."""

    async def publish() -> None:
        i = 0
        while i < len(events):
            for device, kind in events[i:i + rng.randint(1, clump)]:
                await devices.send(device, kind)
                i += 1
            await asyncio.sleep(rng.uniform(0, pause))

    async def kill() -> None:
        for _ in range(kills):
            await asyncio.sleep(rng.uniform(0.05, kill_after))
            agent.kill()
            agent.start()
            await agent.connected()

    async with asyncio.TaskGroup() as tg:
        tg.create_task(publish())
        tg.create_task(kill())


async def processed_up_to_here(devices: Devices, receivers: Iterable[Receiver], timeout: float = 30) -> None:
    """Everything published before now has been handled and delivered: a non-urgent marker (a
    smoke alarm, FA) published now is stored only after every report queued before it (the
    outbox sends urgent reports first and the others in order), so a duplicate or a late report
    would be stored by the time it is. Once per test: the smoke detector stays in alarm."""
    receivers = list(receivers)
    before = len(await stored(receivers, {"FA"}))
    marker = mqtt.DeviceEvent(id=uuid.uuid4().hex, device="smoke-hall", type=mqtt.EventType.SMOKE)
    topic = mqtt.device_topic(SITE, "smoke-hall", mqtt.Channel.EVENT)
    await devices.client.publish(topic, marker.model_dump_json(), qos=1)  # not in ``published``
    await wait_stored(receivers, before + 1, timeout, {"FA"})


async def wait_stored(receivers: Iterable[Receiver], n: int, timeout: float, codes: set[str]) -> None:
    """Until the receivers together hold at least ``n`` events with these codes."""
    receivers = list(receivers)
    try:
        async with asyncio.timeout(timeout):
            while len(await stored(receivers, codes)) < n:
                await asyncio.sleep(0.1)
    except TimeoutError:
        got = len(await stored(receivers, codes))
        raise AssertionError(f"{got} of {n} events stored after {timeout:g} s") from None


async def stored(receivers: Iterable[Receiver], codes: set[str] | None = None) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    for receiver in receivers:
        events += await receiver.store.events(limit=100_000)
    return [e for e in events if codes is None or e.code in codes]


def zone_of(event: StoredEvent) -> int:
    return int(event.zone or 0)


@contextlib.asynccontextmanager
async def agent_in_process(config: Path, clock: Callable[[], datetime] | None = None) -> AsyncIterator[Agent]:
    """The agent in the test's own event loop, for tests that inject its clock or read its faults."""
    from agent.service import Agent
    from config.loader import load_site

    agent = Agent(load_site(config), clock) if clock else Agent(load_site(config))
    stop = asyncio.Event()
    task = asyncio.create_task(agent.run(stop), name="agent")
    try:
        async with asyncio.timeout(10):
            await agent.connected.wait()
        yield agent
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)
