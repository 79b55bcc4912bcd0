"""The agent's imperative shell: MQTT in, panel core, outbox, transmitter, MQTT out.

Every input is handled under one lock: the core computes ``(state, actions)``, the new state
and the reports are committed to the outbox in one transaction, and only then is the device
event confirmed, the panel state published and the transmitter woken.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import aiomqtt

from agent import panel
from agent.discovery import discovery_messages
from agent.evidence import EvidenceRelay
from agent.intake import acknowledge, manual_acks
from agent.outbox import Outbox, PendingReport
from agent.pin_checks import PinChecks
from agent.transmitter import Transmitter
from agent.walktest import outcome
from agent.watchdog import watchdog_loop
from config.site import DeviceType, Site
from protocol import mqtt
from protocol.mqtt_client import bounded, still_wanted

__all__ = ["Agent"]

log = logging.getLogger(__name__)

RECONNECT_MAX = 2.0  # an alarm system reconnects fast; a local broker costs nothing to retry
OUTBOX_FAULT = "outbox cannot be written"
BROKER_FAULT = "MQTT broker unreachable"
BROKER_GRACE = timedelta(seconds=10)  # a blip is not a fault; 10 s is well inside 30 s
BATCH_MAX = 64  # device events committed together when they queue up under load
RESUME_SETTLE = 0.5  # seconds to let retained device states arrive before resuming


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Agent:
    """Run with ``await Agent(site).run(stop)``; all loops live in one TaskGroup."""

    def __init__(self, site: Site, clock: Callable[[], datetime] = _utcnow) -> None:
        self.site = site
        self.clock = clock
        self.outbox = Outbox(site.state_dir / "agent.db")
        self.transmitter = Transmitter(site.alarm_centre, self.outbox, clock, self._fault)
        self.state = panel.initial_state(site)
        self.counters: Counter[str] = Counter()
        self.faults: set[str] = set()
        self._lock = asyncio.Lock()
        self._client: aiomqtt.Client | None = None
        self._retained: dict[str, mqtt.DeviceState] = {}
        self._deadline_changed = asyncio.Event()
        self.connected = asyncio.Event()
        self.evidence = EvidenceRelay(site, clock)
        self.pins = PinChecks(site, clock, self.apply, self._refuse_command, self.counters)
        self._session: asyncio.TaskGroup | None = None  # the current broker connection's tasks

    def _fault(self, name: str, active: bool) -> None:
        (self.faults.add if active else self.faults.discard)(name)
        log.warning("local fault %s: %s", "raised" if active else "cleared", name)

    async def run(self, stop: asyncio.Event) -> None:
        async with self.outbox:
            stored = await self.outbox.get_meta("panel_state")
            if stored:
                self.state = panel.PanelState.from_json(stored)
            if await self.outbox.get_meta("walktest"):  # kept by the shell before the core had it
                log.warning("a walk test of the previous version was running; it is dropped")
                await self.outbox.set_meta("walktest", "")
            await self._note_profile()
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(self.transmitter.run(), name="transmitter")
                    tg.create_task(self._mqtt_loop(), name="mqtt")
                    tg.create_task(self._timer_loop(), name="panel-timers")
                    tg.create_task(self.pins.run(), name="pin-checks")
                    tg.create_task(watchdog_loop(), name="watchdog")
                    tg.create_task(self.evidence.run(), name="evidence")
                    tg.create_task(self._until(stop), name="stop")
            except* _Stop:
                log.info("agent stopped")

    async def _until(self, stop: asyncio.Event) -> None:
        await stop.wait()
        raise _Stop

    # -- MQTT ---------------------------------------------------------------------------
    async def _mqtt_loop(self) -> None:
        """Stay connected: reconnect with backoff; a broker gone for long is a local fault."""
        backoff, lost_at = 0.5, None
        while True:
            try:
                async with bounded(self._mqtt_client()) as client:
                    self._client, backoff, lost_at = client, 0.5, None
                    if BROKER_FAULT in self.faults:
                        self._fault(BROKER_FAULT, False)
                    await self._serve(client)
            except* aiomqtt.MqttError as group:
                self._client = None
                self.connected.clear()
                lost_at = lost_at or self.clock()
                if self.clock() - lost_at >= BROKER_GRACE and BROKER_FAULT not in self.faults:
                    self._fault(BROKER_FAULT, True)
                log.warning("broker connection lost (%s); retrying in %.1f s", group.exceptions[0], backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX)

    def _mqtt_client(self) -> aiomqtt.Client:
        url, conf = urlsplit(self.site.mqtt.url), self.site.mqtt
        tls = url.scheme == "mqtts"
        tls_params = aiomqtt.TLSParameters(
            ca_certs=str(conf.ca_file) if conf.ca_file else None,
            certfile=str(conf.cert_file) if conf.cert_file else None,
            keyfile=str(conf.key_file) if conf.key_file else None,
        ) if tls else None
        return manual_acks(aiomqtt.Client(
            url.hostname or "127.0.0.1",
            url.port or (8883 if tls else 1883),
            identifier=f"wachter-agent-{self.site.id}",
            clean_session=False,
            keepalive=conf.keepalive,
            username=conf.username,
            password=self._password(),
            timeout=10,
            tls_params=tls_params,
            will=aiomqtt.Will(self._availability_topic, b"offline", qos=1, retain=True),
        ))

    async def _serve(self, client: aiomqtt.Client) -> None:
        """One connection's life: announce, resume, then handle every message."""
        try:
            async with asyncio.TaskGroup() as tg:
                self._session = tg  # for work a message starts that must not hold up the next
                await self._on_connect(client)
                tg.create_task(self._resume_after_settle(), name="resume")
                async for message in client.messages:
                    batch = [message, *_queued(client, BATCH_MAX - 1)]
                    await self._on_batch(batch)
                    for handled in batch:
                        acknowledge(client, handled)  # only now may the broker forget it
                    still_wanted()  # a publish may have swallowed the stop (Python 3.11)
        except asyncio.CancelledError:
            await self._say_offline(client)
            raise
        finally:
            self._session = None

    @property
    def _availability_topic(self) -> str:
        return mqtt.panel_topic(self.site.id, mqtt.Channel.AVAILABILITY)

    async def _say_offline(self, client: aiomqtt.Client) -> None:
        """A clean stop suppresses the will, so say it ourselves."""
        with contextlib.suppress(aiomqtt.MqttError, TimeoutError):
            await client.publish(self._availability_topic, "offline", qos=1, retain=True, timeout=2)

    def _password(self) -> str | None:
        path = self.site.mqtt.password_file
        return path.read_text().strip() if path else None

    async def _on_connect(self, client: aiomqtt.Client) -> None:
        await client.subscribe(mqtt.site_filter(self.site.id), qos=1)
        await client.subscribe(mqtt.panel_topic(self.site.id, mqtt.Channel.SET), qos=1)
        for topic, payload in discovery_messages(self.site):
            await client.publish(topic, payload, qos=1, retain=True, timeout=5)
        await client.publish(self._availability_topic, "online", qos=1, retain=True, timeout=5)
        self.connected.set()
        await self._publish_state()
        log.info("agent connected to the broker for site %s", self.site.id)

    async def _on_message(self, message: aiomqtt.Message) -> None:
        try:
            ref = mqtt.parse_topic(message.topic.value)
            payload = message.payload if isinstance(message.payload, bytes | bytearray) else b""
            await self._dispatch(ref, bytes(payload), retained=message.retain)
        except mqtt.ContractError as exc:
            self.counters["bad_payload"] += 1
            log.warning("rejected MQTT message on %s: %s", message.topic.value, exc)

    async def _dispatch(self, ref: mqtt.TopicRef, payload: bytes, *, retained: bool) -> None:
        if ref.device is None:
            if ref.channel is mqtt.Channel.SET:
                cmd = mqtt.decode(mqtt.PanelCommand, payload)
                if cmd.code and cmd.action != "TRIGGER":
                    await self.pins.submit(cmd)  # hashed off this loop; the core decides after
                else:
                    await self.apply(panel.Command.from_contract(cmd, None))
            return
        if self.site.device(ref.device) is None:
            raise mqtt.ContractError(f"unknown device {ref.device!r}")
        if ref.channel is mqtt.Channel.EVENT:
            event = mqtt.decode(mqtt.DeviceEvent, payload)
            if event.device != ref.device:
                raise mqtt.ContractError("event device does not match its topic")
            await self._device_event(event)
        elif ref.channel is mqtt.Channel.AVAILABILITY:
            online = _availability(payload)
            await self.apply(panel.DeviceAvailability(ref.device, online))
        elif ref.channel is mqtt.Channel.STATE:
            self._retained[ref.device] = mqtt.decode(mqtt.DeviceState, payload)

    async def _on_batch(self, batch: list[aiomqtt.Message]) -> None:
        """Device events that queued up while we were busy are stepped one by one but committed
        together (one fsync), in arrival order; anything else is handled on its own, in order."""
        events: list[mqtt.DeviceEvent] = []
        for message in batch:
            event = self._batchable(message)
            if event is not None:
                events.append(event)
                continue
            await self._device_events(events)
            events = []
            await self._on_message(message)
        await self._device_events(events)

    def _batchable(self, message: aiomqtt.Message) -> mqtt.DeviceEvent | None:
        """A valid device event; anything else (or bad) takes the slow path, which rejects and
        counts it."""
        if not isinstance(message.payload, bytes | bytearray):
            return None
        try:
            ref = mqtt.parse_topic(message.topic.value)
            if ref.channel is not mqtt.Channel.EVENT or self.site.device(ref.device or "") is None:
                return None
            event = mqtt.decode(mqtt.DeviceEvent, bytes(message.payload))
        except mqtt.ContractError:
            return None
        return event if event.device == ref.device else None

    async def _device_events(self, events: list[mqtt.DeviceEvent]) -> None:
        if not events:
            return
        fresh: list[mqtt.DeviceEvent] = []
        for event in events:
            duplicate = any(e.device == event.device and e.id == event.id for e in fresh)
            if duplicate or await self.outbox.was_seen(event.device, event.id):
                self.counters["duplicate_event"] += 1
            else:
                fresh.append(event)
        if fresh:
            await self.apply_all([panel.DeviceInput(e.device, e.type, e.score, e.held_ms) for e in fresh],
                                 seen=[(e.device, e.id) for e in fresh])
        for event in events:
            await self._publish(
                mqtt.device_topic(self.site.id, event.device, mqtt.Channel.CONFIRM),
                mqtt.EventConfirmation(ids=[event.id]).model_dump_json(),
            )

    async def _device_event(self, event: mqtt.DeviceEvent) -> None:
        if await self.outbox.was_seen(event.device, event.id):
            self.counters["duplicate_event"] += 1
        else:
            await self.apply(
                panel.DeviceInput(event.device, event.type, event.score, event.held_ms),
                seen=(event.device, event.id),
            )
        await self._publish(
            mqtt.device_topic(self.site.id, event.device, mqtt.Channel.CONFIRM),
            mqtt.EventConfirmation(ids=[event.id]).model_dump_json(),
        )

    async def _note_profile(self) -> None:
        """A changed security profile is an audited event for the alarm centre and the log."""
        before = await self.outbox.get_meta("profile")
        if before == self.site.profile:
            return
        reports, lines = [], []
        if before is not None:
            text = f"security profile {before} -> {self.site.profile}"
            reports.append(PendingReport(kind="profile_changed", number=0, text=text))
            lines.append(("config", text))
            log.warning("%s", text)
        await self.outbox.commit_step(reports, log=lines, at=self.clock())
        await self.outbox.set_meta("profile", self.site.profile)

    # -- walk test (commissioning) ------------------------------------------------------
    async def _after_walk_test(self, ended: panel.WalkTestEnded) -> None:
        """The link test to each path, the report to the installer, then the panel catches up
        on what changed meanwhile. Never in the message loop: with a path down the link test
        takes seconds, and a panic press must not wait behind it."""
        links = await self.transmitter.link_test()
        detail = outcome(self.site, ended.test, links) | {"reason": ended.reason}
        await self._notice("walk_test_ended", detail)
        await self._resume_after_settle()

    async def _refuse_command(self, cmd: mqtt.PanelCommand, reason: str) -> None:
        await self._notice("code_refused", {"action": cmd.action, "reason": reason})

    async def _notice(self, event: str, detail: dict[str, object]) -> None:
        notice = mqtt.PanelEvent.model_validate({"event": event, "detail": detail})
        await self._publish(mqtt.panel_topic(self.site.id, mqtt.Channel.EVENT), notice.model_dump_json())

    # -- the core -----------------------------------------------------------------------
    async def apply(self, event: panel.Input, *, seen: tuple[str, str] | None = None) -> None:
        """One step of the core; commit before any effect."""
        async with self._lock:
            now = self.clock()
            before = panel.next_deadline(self.state)
            self.state, actions = panel.step(self.site, self.state, event, now)
            await self._commit(actions, now, seen=seen, cause=_describe_input(event))
            if panel.next_deadline(self.state) != before:
                self._deadline_changed.set()
        await self._perform(actions)

    async def apply_all(self, inputs: list[panel.Input], *, seen: list[tuple[str, str]]) -> None:
        """Several steps of the core, one commit for all of them, then their effects."""
        async with self._lock:
            now = self.clock()
            before = panel.next_deadline(self.state)
            actions: list[panel.Action] = []
            entries: list[tuple[str, str]] = []
            for event in inputs:
                self.state, more = panel.step(self.site, self.state, event, now)
                actions += more
                entries += _log_entries(_describe_input(event), more)
            await self._commit(actions, now, also_seen=seen, entries=entries)
            if panel.next_deadline(self.state) != before:
                self._deadline_changed.set()
        await self._perform(actions)

    async def _resume_after_settle(self) -> None:
        """After (re)connecting, evaluate what changed while we were away, once.

        Not while a walk test runs: its device events go to the test, not to the panel, so the
        retained states then show the installer's triggers (a tamper, an open door) that the
        panel never saw, and replaying them would turn a test into real alarms. The end of the
        walk test resumes instead."""
        await asyncio.sleep(RESUME_SETTLE)
        async with self._lock:
            if self.state.walktest is not None:
                log.info("resume deferred: walk test running, the panel catches up when it ends")
                return
            now = self.clock()
            self.state, actions = panel.resume(self.site, self.state, dict(self._retained), now)
            await self._commit(actions, now, cause="resume after (re)connect")
            self._deadline_changed.set()
        await self._perform(actions)

    async def _commit(self, actions: list[panel.Action], now: datetime, *,
                      seen: tuple[str, str] | None = None, cause: str | None = None,
                      also_seen: list[tuple[str, str]] | None = None,
                      entries: list[tuple[str, str]] | None = None) -> None:
        evidence = self.evidence.current_url()
        also: set[str] = set(self.site.alarm_centre.also_send)
        reports = [_pending(a, evidence) for a in actions
                   if isinstance(a, panel.Report) and _for_the_centre(a, also)]
        lines = entries if entries is not None else _log_entries(cause, actions)
        try:
            await self.outbox.commit_step(reports, panel_state=self.state.to_json(), seen=seen,
                                          also_seen=also_seen or (), log=lines, at=now)
        except (OSError, sqlite3.Error) as exc:  # disk trouble: send from memory, never drop
            log.error("outbox cannot be written (%s); sending %d report(s) directly", exc, len(reports))
            self._fault(OUTBOX_FAULT, True)
            for report in reports:
                self.transmitter.send_direct(report)
            return
        if OUTBOX_FAULT in self.faults:
            self._fault(OUTBOX_FAULT, False)
        if reports:
            self.transmitter.wakeup.set()

    async def _perform(self, actions: list[panel.Action]) -> None:
        for action in actions:
            if isinstance(action, panel.PublishState):
                await self._publish(
                    mqtt.panel_topic(self.site.id, mqtt.Channel.STATE),
                    action.state.model_dump_json(), retain=True,
                )
            elif isinstance(action, panel.PanelNotice):
                notice = mqtt.PanelEvent(event=action.event, detail=action.detail)
                await self._publish(
                    mqtt.panel_topic(self.site.id, mqtt.Channel.EVENT), notice.model_dump_json()
                )
            elif isinstance(action, panel.LogEntry):
                log.info("panel: %s", action.text)
            elif isinstance(action, panel.Sounder):
                command = "sounder_on" if action.on else "sounder_off"
                await self._command(DeviceType.SIREN, mqtt.DeviceCommand(command=command))
            elif isinstance(action, panel.WalkTestEnded):
                if self._session is not None:
                    self._session.create_task(self._after_walk_test(action), name="walk-test-end")
                else:  # offline: nobody to tell now; the panel catches up on reconnect
                    log.warning("walk test ended (%s) while the broker is unreachable", action.reason)
            elif isinstance(action, panel.RequestSnapshot) and self._wants_snapshot(action):
                request = mqtt.DeviceCommand(command="snapshot", reason=action.reason[:200],
                                             alarm_id=f"zone-{action.alarm_zone}")
                await self._command(DeviceType.INTERCOM, request)

    def _wants_snapshot(self, request: panel.RequestSnapshot) -> bool:
        """The site's evidence policy (per security profile) decides which alarms get frames."""
        return _snapshot_class(request.reason) in self.site.evidence.snapshot_on

    async def _command(self, kind: DeviceType, command: mqtt.DeviceCommand) -> None:
        for device in self.site.devices:
            if device.type is kind:
                topic = mqtt.device_topic(self.site.id, device.id, mqtt.Channel.SET)
                await self._publish(topic, command.model_dump_json())

    async def _publish_state(self) -> None:
        state = panel.public_state(self.state)
        await self._publish(
            mqtt.panel_topic(self.site.id, mqtt.Channel.STATE), state.model_dump_json(), retain=True
        )

    async def _publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        client = self._client
        if client is None:
            self.counters["publish_while_offline"] += 1
            return  # state is re-published on reconnect; reports travel via the outbox
        try:
            await client.publish(topic, payload, qos=1, retain=retain, timeout=5)
        except aiomqtt.MqttError as exc:
            log.warning("publish to %s failed: %s", topic, exc)

    async def _timer_loop(self) -> None:
        while True:
            still_wanted()
            deadline = panel.next_deadline(self.state)
            self._deadline_changed.clear()
            timeout = 3600.0 if deadline is None else (deadline - self.clock()).total_seconds()
            if timeout <= 0:
                await self.apply(panel.Tick())
                continue
            try:
                async with asyncio.timeout(timeout):  # not wait_for: in 3.11 it can lose a cancel
                    await self._deadline_changed.wait()
            except TimeoutError:
                await self.apply(panel.Tick())


class _Stop(Exception):
    """Raised inside the TaskGroup to end every loop when the service is asked to stop."""


def _availability(payload: bytes) -> bool:
    text = payload.decode(errors="replace").strip()
    if text not in (mqtt.Availability.ONLINE, mqtt.Availability.OFFLINE):
        raise mqtt.ContractError(f"availability must be online or offline, not {text[:20]!r}")
    return text == mqtt.Availability.ONLINE


def _pending(report: panel.Report, evidence: str | None = None) -> PendingReport:
    """The outbox row; ``evidence`` is the newest snapshot URL, sent as DC-09 ``V`` data."""
    return PendingReport(
        kind=str(report.kind), number=report.number, restore=report.restore, user=report.user,
        device=report.device, text=report.text, urgent=report.urgent,
        extended=(("V", evidence),) if evidence else (),
    )


def _describe_input(event: panel.Input) -> str:
    if isinstance(event, panel.DeviceInput):
        return f"{event.device}: {event.type}"
    if isinstance(event, panel.DeviceAvailability):
        return f"{event.device}: {'online' if event.online else 'offline'}"
    if isinstance(event, panel.Command):
        return f"command {event.action} ({event.source})"  # never the code
    return ""


def _log_entries(cause: str | None, actions: list[panel.Action]) -> list[tuple[str, str]]:
    entries = [("input", cause)] if cause else []
    for action in actions:
        if isinstance(action, panel.Report):
            restore = " restore" if action.restore else ""
            entries.append(("report", f"{action.kind}{restore} {action.number} {action.text}".strip()))
        elif isinstance(action, panel.PanelNotice):
            entries.append(("notice", f"{action.event} {action.detail}" if action.detail else action.event))
        elif isinstance(action, panel.LogEntry):
            entries.append(("panel", action.text))
    return entries


_OPEN_CLOSE = {"arm", "disarm", "arm_remote", "disarm_remote", "arm_stay", "forced_arm"}
_BYPASS = {"bypass", "unbypass"}


def _for_the_centre(report: panel.Report, also_send: set[str]) -> bool:
    """Alarms, tamper and faults always go; openings/closings and bypasses per the profile."""
    if report.kind in _OPEN_CLOSE:
        return "open_close" in also_send
    if report.kind in _BYPASS:
        return "bypass" in also_send
    return True


def _snapshot_class(reason: str) -> str:
    if reason.startswith("burglary"):
        return "burglary"
    if reason in ("panic", "holdup", "duress"):
        return "panic"
    return reason  # tamper, fire


def _queued(client: aiomqtt.Client, limit: int) -> list[aiomqtt.Message]:
    """Messages already waiting in the client's queue (none are awaited): the rest of a batch."""
    queue = client._queue
    taken: list[aiomqtt.Message] = []
    while len(taken) < limit and not queue.empty():
        taken.append(queue.get_nowait())
    return taken
