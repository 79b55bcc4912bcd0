"""The agent's MQTT intake: what each message on the site's topics means, in arrival order, and
the alarm lane beside it.

Device events that queued up while the agent was busy are stepped one by one and committed
together (one fsync). Each is de-duplicated by its id and carries the driver's own time, by
which the panel keeps each device's facts in order (``agent/panel/order.py``). Panel commands
with a code go to the PIN checks (hashed off this path); retained device states are kept for
the resume after (re)connecting; anything that breaks the contract is rejected, counted and
logged, and never stops the loop. A device event is confirmed to its driver once committed.

The alarm lane: presses and releases of panic and hold-up buttons also arrive on a session of
their own (``BrokerLink``), so that they never wait behind the main session's backlog; each is
stepped and committed on its own, ahead of the next batch. Whichever session takes an event
first *claims* it (synchronously, before any await), checks it was not committed before, steps
and commits it, and only then releases the claim and confirms it; the other session's copy is a
duplicate. The lane reorders no device's own facts that matter: a press leaves its button's
clock alone (``agent/panel/order.py``), and every other event keeps to the main session, in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Sequence
from datetime import UTC
from typing import Protocol

from agent import hops, lane, panel
from agent.inbox import Incoming
from config.site import Site
from protocol import mqtt

__all__ = ["Intake", "Steps"]

log = logging.getLogger(__name__)

RECENT = 4096  # ids stepped lately, remembered in memory too (the outbox may not be writable)
STEP_CHUNK = 16  # device events per commit: a lane event waits for at most one such commit
LANE_FIRST = 5.0  # seconds the main session defers to the lane at most (a bound, never reached)


class Steps(Protocol):
    """What the intake asks of the agent's shell."""

    async def apply(self, event: panel.Input) -> None:
        """One step of the panel core, committed before its effects."""

    async def apply_all(self, inputs: list[panel.Input], *, seen: list[tuple[str, str]]) -> None:
        """Several steps, one commit, which also marks these device events as seen."""

    async def check_code(self, cmd: mqtt.PanelCommand) -> None:
        """A command with a code: checked off the message path, then stepped."""

    async def seen_of(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of these (device, event id) were committed before (one read for all)."""

    async def confirm(self, device: str, ids: list[str]) -> None:
        """Tell the driver these events are committed (it stops re-sending them)."""


class Intake:
    def __init__(self, site: Site, steps: Steps, counters: Counter[str]) -> None:
        self.site, self.steps, self.counters = site, steps, counters
        self.retained: dict[str, mqtt.DeviceState] = {}  # for the resume after (re)connecting
        self._claimed: set[tuple[str, str]] = set()  # being stepped by one session right now
        self._recent: OrderedDict[tuple[str, str], None] = OrderedDict()  # stepped lately
        self._lane_busy = 0  # lane events received and not yet committed
        self._lane_done = asyncio.Event()
        self._lane_done.set()

    def lane_topics(self) -> list[str]:
        """The event topics of the site's panic and hold-up buttons: the alarm lane's subscription."""
        return [mqtt.device_topic(self.site.id, d.id, mqtt.Channel.EVENT) for d in self.site.devices
                if panel.alarm_press(d, mqtt.EventType.PRESS)]

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

    async def handle_lane(self, batch: Sequence[Incoming]) -> None:
        """The alarm lane: each press or release on its own step and commit, at once. Anything
        else on these topics (the button's tamper, its battery) is the main session's."""
        presses = [e for e in map(self._device_event, batch) if e is not None and self._takes_lane(e)]
        if not presses:
            return
        hops.mark("received")
        self._lane_busy += 1
        self._lane_done.clear()  # the main session starts no new commit before these
        try:
            with lane.entered():  # checked and committed at once (``Outbox.commit_step(at_once=)``)
                for event in presses:
                    self.counters["lane_event"] += 1
                    await self._device_events([event], lane=True)
        finally:
            self._lane_busy -= 1
            if not self._lane_busy:
                self._lane_done.set()

    def _takes_lane(self, event: mqtt.DeviceEvent) -> bool:
        device = self.site.device(event.device)
        return device is not None and panel.alarm_press(device, event.type)

    async def _after_the_lane(self) -> None:
        if not self._lane_done.is_set():
            self.counters["deferred_to_lane"] += 1
            try:
                async with asyncio.timeout(LANE_FIRST):
                    await self._lane_done.wait()
            except TimeoutError:
                log.warning("the alarm lane took over %.0f s; the other events go on", LANE_FIRST)

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

    async def _device_events(self, events: list[mqtt.DeviceEvent], *, lane: bool = False) -> None:
        for start in range(0, len(events), STEP_CHUNK):
            if not lane:
                await self._after_the_lane()
            await self._step(events[start:start + STEP_CHUNK])

    async def _step(self, events: list[mqtt.DeviceEvent]) -> None:
        mine: list[mqtt.DeviceEvent] = []  # claimed here: stepped (or found seen) by this call
        for event in events:
            key = (event.device, event.id)
            if key in self._claimed:  # the other session has it in hand and confirms it
                self.counters["duplicate_event"] += 1
                continue
            self._claimed.add(key)
            mine.append(event)
        try:
            fresh: list[mqtt.DeviceEvent] = []
            unknown = [(e.device, e.id) for e in mine if (e.device, e.id) not in self._recent]
            seen = await self.steps.seen_of(unknown) if unknown else set()
            for event in mine:
                key = (event.device, event.id)
                if key in self._recent or key in seen:
                    self.counters["duplicate_event"] += 1
                else:
                    fresh.append(event)
            if fresh:
                await self.steps.apply_all([_input(e) for e in fresh], seen=[(e.device, e.id) for e in fresh])
                self._remember(fresh)
        finally:
            self._claimed.difference_update((e.device, e.id) for e in mine)
        await self._confirm(mine)

    def _remember(self, events: list[mqtt.DeviceEvent]) -> None:
        """Stepped: the other session's copy is a duplicate even when the outbox could not be
        written (the disk full: the step's reports went straight to the transmitter)."""
        for event in events:
            self._recent[(event.device, event.id)] = None
        while len(self._recent) > RECENT:
            self._recent.popitem(last=False)

    async def _confirm(self, events: list[mqtt.DeviceEvent]) -> None:
        """One confirmation per device for all its events of the batch, published together."""
        ids: defaultdict[str, list[str]] = defaultdict(list)
        for event in events:
            ids[event.device].append(event.id)
        await asyncio.gather(*(self.steps.confirm(device, some) for device, some in ids.items()))

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
