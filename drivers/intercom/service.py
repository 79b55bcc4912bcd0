"""The intercom driver process: video worker thread, doorbell inputs, and one MQTT link per device.

Frames are read and analysed in a worker thread (``asyncio.to_thread``) that hands results to the
loop with ``call_soon_threadsafe``; the loop publishes, answers commands and keeps a watchdog, so
a camera that hangs inside ``read()`` is still reported lost after ``lost_after`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from gpiozero import DigitalInputDevice

from config.site import Device, DeviceType, Site
from drivers.broker import Backoff, Broker, device_broker
from drivers.cli import run_driver
from drivers.debounce import Change, QualifiedInput
from drivers.intercom.analysis import Analyser, Analysis, IntercomConfig
from drivers.intercom.doorbell import DoorbellEndpoint
from drivers.intercom.source import CaptureFactory, FrameSource
from drivers.link import DeviceLink
from protocol.mqtt import DeviceCommand, EventType

__all__ = ["Intercom", "IntercomSettings", "add_parser", "run_intercom", "site_intercoms"]

log = logging.getLogger(__name__)

_LOST = "lost"
Item = Analysis | Literal["lost"]


@dataclass(frozen=True)
class IntercomSettings:
    analysis: IntercomConfig = field(default_factory=IntercomConfig)
    lost_after: float = 5.0  # s without a frame before ``camera_lost`` (issue asks < 10 s)
    realtime: bool = True  # play files at their frame rate, like a camera
    heartbeat: float = 30.0
    resend_after: float = 3.0  # like a two-way radio: repeat until the agent confirms
    backoff: Backoff = field(default_factory=lambda: Backoff(first=0.5, cap=10.0))
    doorbell_token: str | None = None  # enables the HTTP action-URL endpoint
    doorbell_host: str = "0.0.0.0"  # noqa: S104 - LAN-facing by design, token-guarded
    doorbell_port: int = 8089
    allow_query_token: bool = False
    stable_for: float = 0.05  # doorbell button debounce
    capture_factory: CaptureFactory | None = None  # None: the camera of ``source:`` (see Stage)


class Intercom:
    """One video intercom: camera supervision, analysis, doorbell and evidence bursts."""

    def __init__(
        self, site: str, device: Device, broker: Broker, settings: IntercomSettings, factory: Any
    ) -> None:
        if not device.source:
            raise ValueError(f"intercom {device.id} has no video source; set `source:`")
        self.site, self.device, self.broker = site, device, broker
        self.settings, self.factory = settings, factory
        self.analyser = Analyser(device.id, settings.analysis)
        self.camera: str | None = None  # None until the first frame or failure
        self.link: DeviceLink | None = None

    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        link = DeviceLink(
            self.broker,
            self.site,
            self.device.id,
            heartbeat=s.heartbeat,
            resend_after=s.resend_after,
            on_command=self._command,
        )
        queue: asyncio.Queue[Item] = asyncio.Queue()
        halt = threading.Event()
        loop = asyncio.get_running_loop()
        async with link, contextlib.AsyncExitStack() as stack:
            self.link = link
            await self._doorbells(stack)
            async with asyncio.TaskGroup() as tg:
                tg.create_task(asyncio.to_thread(self._worker, halt, loop, queue), name="intercom-video")
                tg.create_task(self._consume(queue, stop), name="intercom-publish")
                try:
                    await stop.wait()  # forever on purpose: the owner decides
                finally:
                    halt.set()

    async def _doorbells(self, stack: contextlib.AsyncExitStack) -> None:
        s, gpio = self.settings, self.device.gpio
        if gpio is not None:
            pull_up = None if gpio.active_state is not None else gpio.pull_up
            button = DigitalInputDevice(
                gpio.pin, pull_up=pull_up, active_state=gpio.active_state, pin_factory=self.factory
            )
            qualified = QualifiedInput(
                button, self._pressed, loop=asyncio.get_running_loop(), stable_for=s.stable_for
            )
            stack.callback(qualified.close)
        if s.doorbell_token:
            endpoint = DoorbellEndpoint(
                s.doorbell_token, self.ring, s.doorbell_host, s.doorbell_port, s.allow_query_token
            )
            await stack.enter_async_context(endpoint)

    def _pressed(self, change: Change) -> None:
        if change.active:
            self.ring()

    def ring(self) -> None:
        """Doorbell: report it and start a burst of evidence around it."""
        assert self.link is not None
        event = self.link.event(EventType.DOORBELL)
        self._burst(event.id, "doorbell")

    def _burst(self, alarm_id: str, trigger: str) -> None:
        assert self.link is not None
        for snap in self.analyser.evidence.trigger(alarm_id, trigger):
            self.link.snapshot(snap)

    async def _command(self, command: DeviceCommand) -> None:
        if command.command == "snapshot":
            self._burst(command.alarm_id or f"cmd-{secrets.token_hex(4)}", "command")
        else:
            log.info("%s: no output for %s; ignored", self.device.id, command.command)

    def _worker(self, halt: threading.Event, loop: asyncio.AbstractEventLoop, queue: Any) -> None:
        """Worker thread: read, analyse, hand over; re-open with backoff when the source fails."""
        assert self.device.source is not None
        s = self.settings
        source = FrameSource(self.device.source, realtime=s.realtime, capture=s.capture_factory)
        attempt = 0
        try:
            while not halt.is_set():
                frame = source.read() if source.opened or source.open() else None
                if frame is None:
                    loop.call_soon_threadsafe(queue.put_nowait, _LOST)
                    halt.wait(self.settings.backoff.delay(attempt))
                    attempt += 1
                    continue
                attempt = 0
                loop.call_soon_threadsafe(queue.put_nowait, self.analyser.process(frame))
        finally:
            source.close()

    async def _consume(self, queue: asyncio.Queue[Item], stop: asyncio.Event) -> None:
        last_frame = time.monotonic()
        while not stop.is_set():
            item: Item | None = None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.25):
                    item = await queue.get()
            if isinstance(item, Analysis):
                last_frame = time.monotonic()
                self._publish(item)
            elif item == _LOST or time.monotonic() - last_frame > self.settings.lost_after:
                self._camera("lost", EventType.CAMERA_LOST)

    def _camera(self, state: str, event: EventType | None) -> None:
        assert self.link is not None
        if self.camera == state:
            return
        if event is not None:
            log.warning("%s: %s", self.device.id, event.value)
            self.link.event(event)
        self.camera = state
        self.link.state(camera=state)

    def _publish(self, analysis: Analysis) -> None:
        assert self.link is not None
        if self.camera == "lost":
            self._camera("ok", EventType.CAMERA_RESTORED)
        elif self.camera is None:
            self._camera("ok", None)
        for f in analysis.findings:
            if f.type is EventType.MASKING:
                self._camera("masked", None)
            elif f.type is EventType.MASKING_RESTORE:
                self._camera("ok", None)
            event = self.link.event(f.type, ts=f.wall, score=f.score)
            if f.type is EventType.PERSON:
                self._burst(event.id, "person")
        for snap in analysis.snapshots:
            self.link.snapshot(snap)


def site_intercoms(
    site: Site,
    settings: IntercomSettings | None = None,
    pin_factory: Any = None,
    device_id: str | None = None,
) -> list[Intercom]:
    """The site's intercoms (or just ``device_id``), each on its own MQTT account when configured."""
    broker = Broker.from_config(site.mqtt)
    devices = [d for d in site.devices if d.type is DeviceType.INTERCOM and device_id in (None, d.id)]
    if not devices:
        raise ValueError(f"site {site.id} has no intercom {device_id or ''}".rstrip())
    return [
        Intercom(site.id, d, device_broker(site, broker, site.mqtt.device_username(d.id)),
                 settings or IntercomSettings(), pin_factory)
        for d in devices
    ]


async def run_intercom(
    site: Site,
    *,
    stop: asyncio.Event,
    settings: IntercomSettings | None = None,
    pin_factory: Any = None,
    device_id: str | None = None,
) -> None:
    """Serve every intercom of the site (or just ``device_id``) until ``stop`` is set."""
    intercoms = site_intercoms(site, settings, pin_factory, device_id)
    async with asyncio.TaskGroup() as tg:
        for intercom in intercoms:
            tg.create_task(intercom.run(stop), name=f"intercom:{intercom.device.id}")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``wachter intercom --config FILE``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "intercom", help="serve the video intercom: doorbell, person, masking, snapshots"
    )
    parser.add_argument("--config", type=Path, required=True, help="site YAML file")
    parser.add_argument("--device", help="serve only this intercom device id")
    parser.add_argument("--doorbell-port", type=int, default=8089, help="action-URL HTTP port")
    parser.add_argument(
        "--doorbell-token-file",
        type=Path,
        help="file (mode 0600) holding the action-URL token; without it no HTTP endpoint",
    )
    parser.add_argument("--heartbeat", type=float, default=30.0, help="heartbeat interval, s")
    parser.set_defaults(func=_main)
    return parser


def _read_token(path: Path) -> str:
    if os.stat(path).st_mode & 0o077:
        raise PermissionError(f"{path}: the token file must be mode 0600 (chmod 600 {path})")
    return path.read_text(encoding="utf-8").strip()


def _main(args: argparse.Namespace) -> int:
    token = _read_token(args.doorbell_token_file) if args.doorbell_token_file else None
    settings = IntercomSettings(
        heartbeat=args.heartbeat, doorbell_token=token, doorbell_port=args.doorbell_port
    )

    async def body(site: Site, stop: asyncio.Event) -> None:
        await run_intercom(site, stop=stop, settings=settings, device_id=args.device)

    return run_driver(args.config, body)
