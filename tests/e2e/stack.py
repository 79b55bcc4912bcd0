"""A real stack for end-to-end tests: mosquitto (given), receiver, agent and simulator."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from agent.service import Agent
from config.loader import load_receiver, load_site
from config.receiver import ReceiverConfig
from config.site import Site
from receiver.service import Receiver
from receiver.store import StoredEvent
from simulator.control import send_action
from simulator.devices import SimAction, SimulatedSite
from wachter.demo import with_evidence_upload
from wachter.signals import cancel_firmly

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"


def receiver_config(tmp: Path) -> ReceiverConfig:
    cfg = load_receiver(EXAMPLES / "receiver.yaml")
    return cfg.model_copy(update={
        "listen": ["tcp://127.0.0.1:0", "udp://127.0.0.1:0"],
        "store": f"sqlite://{tmp / 'receiver.db'}",
        "http": cfg.http.model_copy(update={"port": 0}),
    })


def site_config(tmp: Path, broker_url: str, tcp_port: int, udp_port: int) -> Site:
    site = load_site(EXAMPLES / "site.yaml")
    primary, backup = site.alarm_centre.paths
    paths = [
        primary.model_copy(update={"url": f"tcp://127.0.0.1:{tcp_port}"}),
        backup.model_copy(update={"url": f"udp://127.0.0.1:{udp_port}"}),
    ]
    return site.model_copy(update={
        "state_dir": tmp / "agent",
        "mqtt": site.mqtt.model_copy(update={"url": broker_url}),
        "alarm_centre": site.alarm_centre.model_copy(update={"paths": paths}),
    })


async def wait_event(receiver: Receiver, code: str, timeout: float = 2.0, **match: str) -> StoredEvent:
    """The first stored event with this SIA code (and fields), or TimeoutError."""
    async with asyncio.timeout(timeout):
        while True:
            for event in await receiver.store.events(code=code):
                if all(getattr(event, k) == v for k, v in match.items()):
                    return event
            await asyncio.sleep(0.02)


@dataclass
class Stack:
    broker_url: str
    receiver: Receiver
    agent: Agent
    simulator: SimulatedSite

    async def act(self, device: str, action: str, **kw: int) -> None:
        await send_action(self.broker_url, device, SimAction(action=action, **kw))  # type: ignore[arg-type]

    async def wait_event(self, code: str, timeout: float = 2.0, **match: str) -> StoredEvent:
        return await wait_event(self.receiver, code, timeout, **match)

    async def wait_outbox_empty(self, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while await self.agent.outbox.pending():
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def running_stack(tmp: Path, broker_url: str, site: Site | None = None,
                        tweak: Callable[[Site], Site] | None = None) -> AsyncIterator[Stack]:
    async with Receiver(receiver_config(tmp)) as receiver:
        site = site or site_config(tmp, broker_url, receiver.port("tcp"), receiver.port("udp"))
        site = await with_evidence_upload(tweak(site) if tweak else site, receiver)
        agent = Agent(site)
        simulator = SimulatedSite(site, broker_url)
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tg:
            agent_task = tg.create_task(agent.run(stop), name="agent")
            sim_task = tg.create_task(simulator.run(), name="simulator")
            async with asyncio.timeout(10):
                await agent.connected.wait()
                await simulator.ready.wait()
            try:
                yield Stack(broker_url, receiver, agent, simulator)
            finally:
                stop.set()
                await cancel_firmly(sim_task)
                async with asyncio.timeout(10):
                    await agent_task


def write_site_yaml(tmp: Path, broker_url: str, tcp_port: int, udp_port: int,
                    entry_delay: str | None = None) -> Path:
    """The example site as a YAML file for a subprocess agent, pointed at the test's ports."""
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(EXAMPLES / "site.yaml")
    data["state_dir"] = str(tmp / "agent")
    data["mqtt"]["url"] = broker_url
    primary, backup = data["alarm_centre"]["paths"]
    primary["url"] = f"tcp://127.0.0.1:{tcp_port}"
    backup["url"] = f"udp://127.0.0.1:{udp_port}"
    if entry_delay is not None:
        for mode in data["panel"]["modes"].values():
            mode["entry_delay"] = entry_delay
    path = tmp / "site.yaml"
    with path.open("w") as fh:
        yaml.dump(data, fh)
    return path
