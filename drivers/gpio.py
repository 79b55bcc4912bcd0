"""Wired contacts, tamper loops, panic buttons, smoke relays and sounders on the Pi's GPIO.

Wiring convention (standards B9): every supervised input is a normally-closed loop to GND with a
pull-up (or an external resistor plus ``active_state``), so "active" means *loop closed*: door
closed, tamper loop intact, smoke relay at rest. A cut wire therefore reads as open / tamper /
smoke, never as "secure". Panic buttons are momentary: active means pressed. A ``siren`` device's
``pin`` is its sounder output; any device's ``led_pin`` is a status LED. The pin backend is
gpiozero's choice (``GPIOZERO_PIN_FACTORY``; ``mock`` for tests and the simulator).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpiozero import LED, DigitalInputDevice, DigitalOutputDevice

from config.site import Device, DeviceType, Gpio, Site
from drivers.broker import Broker, device_broker
from drivers.cli import run_driver
from drivers.debounce import Change, QualifiedInput
from drivers.link import DeviceLink
from drivers.outputs import Outputs
from protocol.mqtt import EventType

__all__ = ["add_parser", "check_pins", "run_gpio"]

log = logging.getLogger(__name__)

RECONCILE_EVERY = 1.0  # s; slow re-read that catches an edge the backend missed


@dataclass(frozen=True)
class Role:
    """How a qualified level of one input becomes an event and a DeviceState field."""

    when_active: EventType
    when_inactive: EventType
    field: str
    active_value: Any
    inactive_value: Any


ROLES = {
    DeviceType.CONTACT: Role(EventType.CLOSE, EventType.OPEN, "contact", "closed", "open"),
    DeviceType.PANIC: Role(EventType.PRESS, EventType.RELEASE, "pressed", True, False),
    DeviceType.SMOKE: Role(EventType.SMOKE_CLEAR, EventType.SMOKE, "smoke", False, True),
}
TAMPER = Role(EventType.TAMPER_RESTORE, EventType.TAMPER, "tamper", False, True)
HANDLED = {*ROLES, DeviceType.SIREN}


def check_pins(site: Site) -> list[Device]:
    """The devices this driver owns; refuses a pin used twice (``led_pin`` included)."""
    devices = [d for d in site.devices if d.gpio is not None and d.type in HANDLED]
    pins = Counter(p for d in devices for p in _pins(d.gpio))
    if doubled := sorted(p for p, n in pins.items() if n > 1):
        raise ValueError(f"GPIO pin(s) {doubled} used twice in site {site.id}; give each its own")
    return devices


def _pins(gpio: Gpio | None) -> list[int]:
    if gpio is None:
        return []
    return [p for p in (gpio.pin, gpio.tamper_pin, gpio.led_pin) if p is not None]


def _input(pin: int, gpio: Gpio, factory: Any) -> Any:
    pull_up = None if gpio.active_state is not None else gpio.pull_up
    return DigitalInputDevice(pin, pull_up=pull_up, active_state=gpio.active_state, pin_factory=factory)


class WiredDevice:
    """One site device: its qualified inputs and outputs, reporting through its DeviceLink."""

    def __init__(self, device: Device, gpio: Gpio, link: DeviceLink, factory: Any, stable_for: float) -> None:
        self.device, self.link = device, link
        self._pressed_at: float | None = None
        loop = asyncio.get_running_loop()
        self.inputs: list[QualifiedInput] = []
        specs = [(gpio.pin, ROLES[device.type])] if device.type in ROLES else []
        if gpio.tamper_pin is not None:
            specs.append((gpio.tamper_pin, TAMPER))
        for pin, role in specs:
            qualified = QualifiedInput(
                _input(pin, gpio, factory),
                lambda change, role=role: self._changed(role, change),  # type: ignore[misc]
                loop=loop,
                stable_for=stable_for,
            )
            self.inputs.append(qualified)
            link.state(**{role.field: role.active_value if qualified.active else role.inactive_value})
            if role is ROLES.get(DeviceType.PANIC) and qualified.active:
                self._pressed_at = time.monotonic()

    def _changed(self, role: Role, change: Change) -> None:
        held_ms = None
        if role.when_active is EventType.PRESS:
            if change.active:
                self._pressed_at = change.at
            elif self._pressed_at is not None:
                held_ms = max(0, round((change.at - self._pressed_at) * 1000))
        kind = role.when_active if change.active else role.when_inactive
        log.info("%s: %s", self.device.id, kind.value)
        self.link.event(kind, ts=change.ts, held_ms=held_ms)
        self.link.state(**{role.field: role.active_value if change.active else role.inactive_value})

    def reconcile(self) -> None:
        for qualified in self.inputs:
            qualified.reconcile()

    def close(self) -> None:
        for qualified in self.inputs:
            qualified.close()


def _outputs(device: Device, gpio: Gpio, factory: Any) -> Outputs:
    sounder = None
    if device.type is DeviceType.SIREN:
        sounder = DigitalOutputDevice(gpio.pin, initial_value=False, pin_factory=factory)
    led = LED(gpio.led_pin, pin_factory=factory) if gpio.led_pin is not None else None
    return Outputs(device.id, sounder=sounder, led=led)


async def run_gpio(
    site: Site,
    *,
    pin_factory: Any = None,
    stop: asyncio.Event,
    stable_for: float = 0.05,
    heartbeat: float = 30.0,
    resend_after: float = 3.0,
) -> None:
    """Serve every GPIO device of the site until ``stop`` is set, then publish ``offline``."""
    broker = Broker.from_config(site.mqtt)
    async with contextlib.AsyncExitStack() as stack:
        wired: list[WiredDevice] = []
        for device in check_pins(site):
            assert device.gpio is not None
            outputs = _outputs(device, device.gpio, pin_factory)
            stack.callback(outputs.close)
            link = DeviceLink(
                device_broker(site, broker, site.mqtt.device_username(device.id)),
                site.id,
                device.id,
                heartbeat=heartbeat,
                resend_after=resend_after,
                on_command=outputs,
            )
            await stack.enter_async_context(link)
            w = WiredDevice(device, device.gpio, link, pin_factory, stable_for)
            stack.callback(w.close)
            wired.append(w)
        log.info("gpio: serving %d devices of site %s", len(wired), site.id)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(RECONCILE_EVERY):
                    await stop.wait()
            for w in wired:
                w.reconcile()


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``wachter gpio --config FILE``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "gpio", help="serve wired contacts, panic buttons and sounders over MQTT"
    )
    parser.add_argument("--config", type=Path, required=True, help="site YAML file")
    parser.add_argument("--debounce-ms", type=int, default=50, help="stable time, 1-200 ms")
    parser.add_argument("--heartbeat", type=float, default=30.0, help="heartbeat interval, s")
    parser.set_defaults(func=_main)
    return parser


def _main(args: argparse.Namespace) -> int:
    async def body(site: Site, stop: asyncio.Event) -> None:
        await run_gpio(site, stop=stop, stable_for=args.debounce_ms / 1000, heartbeat=args.heartbeat)

    return run_driver(args.config, body)
