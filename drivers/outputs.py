"""A device's outputs (sounder, status LED) as the agent drives them through DeviceCommands."""

from __future__ import annotations

import logging
from typing import Any

from protocol.mqtt import DeviceCommand

__all__ = ["Outputs"]

log = logging.getLogger(__name__)


class Outputs:
    """Applies ``sounder_*`` and ``led_*`` commands; any other command is logged and ignored."""

    def __init__(self, device_id: str, *, sounder: Any = None, led: Any = None) -> None:
        self.device_id = device_id
        self.sounder = sounder  # gpiozero DigitalOutputDevice
        self.led = led  # gpiozero LED

    async def __call__(self, command: DeviceCommand) -> None:
        name = command.command
        target = self.sounder if name.startswith("sounder") else self.led
        if name == "snapshot" or target is None:
            log.info("%s: no output for command %s; ignored", self.device_id, name)
            return
        if name.endswith("_on"):
            target.on()
        elif name.endswith("_off"):
            target.off()
        else:  # led_blink; gpiozero runs the blinking in its own thread
            target.blink(on_time=0.5, off_time=0.5, background=True)
        log.info("%s: %s (%s)", self.device_id, name, command.reason or "no reason given")

    def close(self) -> None:
        for out in (self.sounder, self.led):
            if out is not None:
                out.off()
                out.close()
