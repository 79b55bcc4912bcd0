"""The site's wired devices on gpiozero mock pins, served by the real GPIO driver.

``drivers.gpio.run_gpio`` reads the pins exactly as on a Pi (debounce, tamper loops, hold time
of a panic button), so every scenario that presses a button here also tests the driver. The
simulator only moves the electrical level of a pin: a closed loop holds the line at its active
level, an open loop (door open, wire cut, smoke relay tripped) lets it go to the idle level.
The intercoms come along: the real intercom driver on staged cameras (``StagedIntercoms``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from gpiozero.pins.mock import MockFactory, MockPin

from config.site import Device, DeviceType, Gpio, Site
from drivers.gpio import check_pins, run_gpio
from simulator.devices import SimAction, StagedIntercoms

__all__ = ["WiredPins"]

log = logging.getLogger(__name__)

# verb -> (which pin, loop closed?)  "main" is gpio.pin, "tamper" gpio.tamper_pin
_PIN_FOR: dict[str, tuple[str, bool]] = {
    "close": ("main", True), "open": ("main", False),
    "press": ("main", True), "release": ("main", False),
    "smoke_clear": ("main", True), "smoke": ("main", False),
    "tamper_restore": ("tamper", True), "tamper": ("tamper", False),
}
_SERVED = (DeviceType.CONTACT, DeviceType.PANIC, DeviceType.SMOKE)


class HeldPin(MockPin):  # type: ignore[misc]
    """A mock input whose line a wire holds at ``level`` (None: left to the pull resistor)."""

    def __init__(self, factory: Any, info: Any, level: bool | None = None) -> None:
        self.level = level
        super().__init__(factory, info)

    def _set_pull(self, value: str) -> None:
        super()._set_pull(value)
        self.hold(self.level)

    def hold(self, level: bool | None) -> None:
        self.level = level
        if level is True:
            self.drive_high()
        elif level is False:
            self.drive_low()


def active_level(gpio: Gpio) -> bool:
    """The electrical level of a closed loop: low against a pull-up unless wired otherwise."""
    if gpio.active_state is not None:
        return gpio.active_state
    return not gpio.pull_up


class WiredPins:
    """Mock pins for every GPIO contact, panic button and smoke relay of the site, and the
    staged cameras of its intercoms: the simulator's hardware, served by the real drivers."""

    def __init__(self, site: Site, *, heartbeat: float = 30.0) -> None:
        self.site = site
        self.heartbeat = heartbeat
        self.factory = MockFactory()
        served = check_pins(site)  # sirens too: the driver drives their (mock) outputs
        self.wired: dict[str, Device] = {d.id: d for d in served if d.type in _SERVED}
        self.cameras = StagedIntercoms(site, pin_factory=self.factory, heartbeat=heartbeat)
        self.devices = frozenset(d.id for d in served) | self.cameras.devices
        self.pins: dict[tuple[str, str], HeldPin] = {}
        for device in self.wired.values():
            self._create(device)

    def _create(self, device: Device) -> None:
        gpio = device.gpio
        assert gpio is not None
        at_rest = device.type is not DeviceType.PANIC  # contacts closed, smoke at rest; panic open
        self.pins[device.id, "main"] = self._pin(gpio.pin, gpio, closed=at_rest)
        if gpio.tamper_pin is not None:
            self.pins[device.id, "tamper"] = self._pin(gpio.tamper_pin, gpio, closed=True)

    def _pin(self, number: int, gpio: Gpio, *, closed: bool) -> HeldPin:
        level = active_level(gpio) if closed else not active_level(gpio)
        pin: HeldPin = self.factory.pin(number, pin_class=HeldPin, level=level)
        return pin

    def act(self, device: str, action: SimAction) -> bool:
        """Move the pin (or stage the camera) for ``action``; False when the hardware cannot."""
        if device in self.cameras.devices:
            return self.cameras.act(device, action)
        spec = _PIN_FOR.get(action.action)
        wired = self.wired.get(device)
        if spec is None or wired is None or (device, spec[0]) not in self.pins:
            return False
        assert wired.gpio is not None
        which, closed = spec
        level = active_level(wired.gpio) if closed else not active_level(wired.gpio)
        self.pins[device, which].hold(level)
        return True

    async def run(self, stop: asyncio.Event, *, stable_for: float = 0.02) -> None:
        """The real drivers, until ``stop`` is set."""
        log.info("simulator: %d wired devices on mock pins, served by drivers.gpio; %d intercoms "
                 "on staged cameras, served by drivers.intercom", len(self.wired), len(self.cameras.devices))
        async with asyncio.TaskGroup() as tg:
            tg.create_task(run_gpio(self.site, pin_factory=self.factory, stop=stop, stable_for=stable_for,
                                    heartbeat=self.heartbeat), name="gpio-driver")
            if self.cameras.devices:
                tg.create_task(self.cameras.run(stop), name="intercom-driver")
