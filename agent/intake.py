"""The agent's MQTT intake: what each message on the site's topics means, in arrival order.

Device events that queued up while the agent was busy are stepped one by one and committed
together (one fsync). Each is de-duplicated by its id and carries the driver's own time, by
which the panel keeps each device's facts in order (``agent/panel/devices.py``). Panel commands
with a code go to the PIN checks (hashed off this path); retained device states are kept for
the resume after (re)connecting; anything that breaks the contract is rejected, counted and
logged, and never stops the loop. A device event is confirmed to its driver once committed.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from datetime import UTC
from typing import Protocol

from agent import panel
from agent.inbox import Incoming
from config.site import Site
from protocol import mqtt

__all__ = ["Intake", "Steps"]

log = logging.getLogger(__name__)


class Steps(Protocol):
    """What the intake asks of the agent's shell."""

    async def apply(self, event: panel.Input) -> None:
        """One step of the panel core, committed before its effects."""

    async def apply_all(self, inputs: list[panel.Input], *, seen: list[tuple[str, str]]) -> None:
        """Several steps, one commit, which also marks these device events as seen."""

    async def check_code(self, cmd: mqtt.PanelCommand) -> None:
        """A command with a code: checked off the message path, then stepped."""

    async def was_seen(self, device: str, event_id: str) -> bool: ...

    async def confirm(self, event: mqtt.DeviceEvent) -> None:
        """Tell the driver its event is committed (it stops re-sending it)."""


class Intake:
    def __init__(self, site: Site, steps: Steps, counters: Counter[str]) -> None:
        self.site, self.steps, self.counters = site, steps, counters
        self.retained: dict[str, mqtt.DeviceState] = {}  # for the resume after (re)connecting

    async def handle(self, batch: Sequence[Incoming]) -> None:
        """Consecutive device events are committed together; anything else on its own, in order."""
        events: list[mqtt.DeviceEvent] = []
        for message in batch:
            event = self._device_event(message)
            if event is not None:
                events.append(event)
                continue
            await self._device_events(events)
            events = []
            await self._other(message)
        await self._device_events(events)

    def _device_event(self, message: Incoming) -> mqtt.DeviceEvent | None:
        """A valid event of a known device; anything else takes ``_other``, which says why not."""
        try:
            ref = mqtt.parse_topic(message.topic)
            if ref.channel is not mqtt.Channel.EVENT or self.site.device(ref.device or "") is None:
                return None
            event = mqtt.decode(mqtt.DeviceEvent, message.payload)
        except mqtt.ContractError:
            return None
        return event if event.device == ref.device else None

    async def _device_events(self, events: list[mqtt.DeviceEvent]) -> None:
        if not events:
            return
        fresh: list[mqtt.DeviceEvent] = []
        for event in events:
            repeated = any(e.device == event.device and e.id == event.id for e in fresh)
            if repeated or await self.steps.was_seen(event.device, event.id):
                self.counters["duplicate_event"] += 1
            else:
                fresh.append(event)
        if fresh:
            await self.steps.apply_all([_input(e) for e in fresh], seen=[(e.device, e.id) for e in fresh])
        for event in events:
            await self.steps.confirm(event)

    async def _other(self, message: Incoming) -> None:
        try:
            await self._dispatch(mqtt.parse_topic(message.topic), message.payload)
        except mqtt.ContractError as exc:
            self.counters["bad_payload"] += 1
            log.warning("rejected MQTT message on %s: %s", message.topic, exc)

    async def _dispatch(self, ref: mqtt.TopicRef, payload: bytes) -> None:
        if ref.device is None:
            if ref.channel is mqtt.Channel.SET:
                cmd = mqtt.decode(mqtt.PanelCommand, payload)
                if cmd.code and cmd.action != "TRIGGER":
                    await self.steps.check_code(cmd)
                else:
                    await self.steps.apply(panel.Command.from_contract(cmd, None))
            return
        if self.site.device(ref.device) is None:
            raise mqtt.ContractError(f"unknown device {ref.device!r}")
        if ref.channel is mqtt.Channel.EVENT:
            event = mqtt.decode(mqtt.DeviceEvent, payload)  # valid events were taken before
            raise mqtt.ContractError(f"event of {event.device!r} on the topic of {ref.device!r}")
        if ref.channel is mqtt.Channel.AVAILABILITY:
            await self.steps.apply(panel.DeviceAvailability(ref.device, _availability(payload)))
        elif ref.channel is mqtt.Channel.STATE:
            self.retained[ref.device] = mqtt.decode(mqtt.DeviceState, payload)


def _input(event: mqtt.DeviceEvent) -> panel.DeviceInput:
    """The core's input, stamped with the driver's time (UTC when the driver gave none)."""
    at = event.ts if event.ts.tzinfo is not None else event.ts.replace(tzinfo=UTC)
    return panel.DeviceInput(event.device, event.type, event.score, event.held_ms, at=at)


def _availability(payload: bytes) -> bool:
    text = payload.decode(errors="replace").strip()
    if text not in (mqtt.Availability.ONLINE, mqtt.Availability.OFFLINE):
        raise mqtt.ContractError(f"availability must be online or offline, not {text[:20]!r}")
    return text == mqtt.Availability.ONLINE
