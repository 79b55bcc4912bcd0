"""A fresh, private Wachter on this machine for one scenario: every part real, faults on demand.

mosquitto (a real process on a free port), the receiver on fixed free ports (so it can be
restarted), a TCP proxy and a UDP relay between agent and receiver (network cuts), the agent on
a clock that can be skewed, and the simulated devices with the real GPIO driver on mock pins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Self

from agent.service import Agent
from config.loader import load_receiver
from config.receiver import ReceiverConfig
from config.site import Site
from receiver.service import Receiver
from simulator.devices import SimAction, SimulatedSite
from simulator.mosquitto import Mosquitto, free_port
from simulator.netproxy import Mode, NetProxy
from simulator.remote import SiteRemote
from simulator.scenario import FaultStep
from simulator.target import Seen, Unsupported
from simulator.udprelay import UdpRelay
from simulator.wired import WiredPins

__all__ = ["LocalStack", "SkewedClock"]

log = logging.getLogger(__name__)

EXAMPLES = Path(__file__).resolve().parent.parent / "config" / "examples"
START_TIMEOUT = 15.0


class SkewedClock:
    """The agent's clock: real UTC time plus ``offset`` (the NAK path of a wrong clock)."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset


def receiver_config(workdir: Path, tcp: int, udp: int, http: int) -> ReceiverConfig:
    cfg = load_receiver(EXAMPLES / "receiver.yaml")
    return cfg.model_copy(update={
        "listen": [f"tcp://127.0.0.1:{tcp}", f"udp://127.0.0.1:{udp}"],
        "store": f"sqlite://{workdir / 'receiver.db'}",
        "http": cfg.http.model_copy(update={"port": http}),
    })


class LocalStack:
    """``async with LocalStack(site, workdir) as stack``: a running system and its fault switches."""

    def __init__(self, site: Site, workdir: Path, *, wired: bool = True) -> None:
        self.workdir = workdir
        self.wired = wired
        (workdir / "broker").mkdir(parents=True, exist_ok=True)
        self.broker = Mosquitto(workdir / "broker")
        self.ports = {"tcp": free_port(), "udp": free_port(), "http": free_port()}
        self.receiver_config = receiver_config(workdir, *self.ports.values())
        self.receiver: Receiver | None = None
        self.clock = SkewedClock()
        self.pins: WiredPins | None = None
        self.tcp = NetProxy("127.0.0.1", self.ports["tcp"])
        self.udp = UdpRelay("127.0.0.1", self.ports["udp"])
        self._base_site = site
        self.site = site
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._exit = contextlib.AsyncExitStack()
        self._start_id = 0
        self._cache: list[Seen] = []

    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        return self

    async def _start(self) -> None:
        await asyncio.to_thread(self.broker.start)
        await self._receiver_up()
        await self._exit.enter_async_context(self.tcp)
        await self._exit.enter_async_context(self.udp)
        self.site = self._point_at_stack(self._base_site)
        self.agent = Agent(self.site, clock=self.clock)
        self.pins = pins = WiredPins(self.site) if self.wired else None
        self.simulator = SimulatedSite(self.site, self.broker.url, hardware=pins)
        self.remote = await self._exit.enter_async_context(SiteRemote(self.broker.url, self.site.id))
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self.agent.run(self._stop), name="agent"))
        self._tasks.append(loop.create_task(self.simulator.run(), name="simulator"))
        if pins is not None:
            self._tasks.append(loop.create_task(pins.run(self._stop), name="gpio-driver"))
        async with asyncio.timeout(START_TIMEOUT):
            await self.agent.connected.wait()
            await self.simulator.ready.wait()
            await self.remote.wait_online([d.id for d in self.site.devices])
            await self.remote.wait_panel()
        for task in self._tasks:
            if task.done():
                task.result()  # a part that died at start says why

    def _point_at_stack(self, site: Site) -> Site:
        paths = [
            p.model_copy(update={"url": self.udp.url if p.url.startswith("udp") else self.tcp.url})
            for p in site.alarm_centre.paths
        ]
        return site.model_copy(update={
            "state_dir": self.workdir / "agent",
            "mqtt": site.mqtt.model_copy(update={"url": self.broker.url}),
            "alarm_centre": site.alarm_centre.model_copy(update={"paths": paths}),
        })

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        for task in self._tasks:
            if task.get_name() == "simulator":
                task.cancel()
        stuck: set[asyncio.Task[None]] = set()
        try:
            if self._tasks:
                _, pending = await asyncio.wait(self._tasks, timeout=10)
                for task in pending:
                    task.cancel()
                if pending:  # every wait a bound: a part that ignores its stop is named, not waited for
                    _, stuck = await asyncio.wait(pending, timeout=10)
                for task in self._tasks:
                    if task.done() and not task.cancelled():
                        task.exception()  # retrieved; problems() reports it
        finally:
            await self._exit.aclose()
            await self._receiver_down()
            await asyncio.to_thread(self.broker.stop)
        if stuck:
            raise RuntimeError(f"the {', '.join(sorted(t.get_name() for t in stuck))} did not stop")

    def problems(self) -> list[str]:
        """Parts of the stack that died; a scenario with a dead part has failed."""
        dead = [t for t in self._tasks if t.done() and not t.cancelled() and t.exception() is not None]
        return [f"the {t.get_name()} died: {_flatten(t.exception())}" for t in dead]

    # -- the alarm centre's view --------------------------------------------------------
    async def mark(self) -> None:
        assert self.receiver is not None
        self._start_id = await self.receiver.store.last_id()
        self._cache = []

    async def events(self) -> list[Seen]:
        if self.receiver is None:
            return self._cache  # down: what it had stored before
        rows = await self.receiver.store.events(site=self.site.id, after_id=self._start_id, limit=5000)
        self._cache = [Seen.from_api(r.as_json()) for r in rows]
        return self._cache

    async def outbox_pending(self) -> int | None:
        return await self.agent.outbox.pending()

    async def act(self, device: str, action: SimAction) -> None:
        """Pins move even while the broker is down (the driver queues); the rest goes via MQTT."""
        if self.pins is None or not self.pins.act(device, action):
            await self.remote.act(device, action)

    # -- faults -------------------------------------------------------------------------
    async def fault(self, step: FaultStep) -> None:
        name = step.fault
        if name == "broker_down":
            await asyncio.to_thread(self.broker.stop)
        elif name == "broker_up":
            await asyncio.to_thread(self.broker.start)
        elif name == "receiver_down":
            await self._receiver_down()
        elif name == "receiver_up":
            await self._receiver_up()
        elif name in ("network_cut", "network_restore", "network_slow"):
            mode: Mode = {"network_cut": "blackhole", "network_restore": "pass",
                          "network_slow": "slow"}[name]  # type: ignore[assignment]
            self.tcp.latency = self.udp.latency = step.latency.total_seconds()
            self.tcp.mode = self.udp.mode = mode
        elif name == "clock_skew":
            self.clock.offset = step.offset
        else:
            raise Unsupported(f"{name} is not a stack fault")
        log.info("scenario fault: %s", step.describe())

    async def _receiver_up(self) -> None:
        if self.receiver is None:
            receiver = Receiver(self.receiver_config)
            await receiver.__aenter__()
            self.receiver = receiver

    async def _receiver_down(self) -> None:
        receiver, self.receiver = self.receiver, None
        if receiver is not None:
            await receiver.__aexit__(None, None, None)


def _flatten(exc: BaseException | None) -> str:
    """The innermost errors of an exception group, e.g. ``MqttError('Disconnected ...')``."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(_flatten(e) for e in exc.exceptions)
    return repr(exc)
