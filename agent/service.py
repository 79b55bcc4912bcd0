"""The agent: the wiring of its parts around the panel core.

``BrokerLink`` (MQTT connection) hands batches to the ``Intake`` (what each message means),
which asks for core steps: the core computes ``(state, actions)``, and the new state, the
reports and the step's log lines are queued for one commit to the ``Outbox`` with no await
between (so commits keep the order of the steps, without a lock); only once committed are
device events confirmed, the panel state published and the ``Transmitter`` woken.
``PinChecks`` hash typed codes off the message path; the ``EvidenceRelay`` uploads snapshots;
a timer loop wakes the core at its next deadline.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from agent import hops, lane, panel
from agent.broker_link import BrokerLink
from agent.eventlog import describe, lines_for
from agent.evidence import EvidenceRelay
from agent.inbox import Incoming
from agent.intake import Intake
from agent.outbox import Outbox
from agent.pin_checks import PinChecks
from agent.reports import for_the_centre, with_evidence, with_occurrence
from agent.transmitter import Transmitter
from agent.walktest import outcome
from agent.watchdog import watchdog_loop
from config.site import DeviceType, Site
from protocol import mqtt
from protocol.codes import EventKind
from protocol.mqtt_client import still_wanted

__all__ = ["Agent"]

log = logging.getLogger(__name__)

OUTBOX_FAULT = "outbox cannot be written"
RESUME_SETTLE = 0.5  # seconds to let retained device states arrive before resuming
IDLE_TICK = 3600.0  # the timer loop looks at the clock at least this often


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Agent:
    """Run with ``await Agent(site).run(stop)``; all loops live in one TaskGroup."""

    def __init__(self, site: Site, clock: Callable[[], datetime] = _utcnow) -> None:
        self.site = site
        self.clock = clock
        self.state = panel.initial_state(site)
        self.counters: Counter[str] = Counter()
        self.faults: set[str] = set()
        self.outbox = Outbox(site.state_dir / "agent.db")
        self.transmitter = Transmitter(site.alarm_centre, self.outbox, clock, self._fault)
        self.evidence = EvidenceRelay(site, clock)
        self.pins = PinChecks(site, clock, self.apply, self._refuse_code, self.counters)
        self.link = BrokerLink(site, clock, self._fault, self.counters)
        self.intake = Intake(site, self, self.counters)
        self.connected = self.link.connected
        self._deadline_changed = asyncio.Event()

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
                    tg.create_task(self.link.run(self._serve, self._on_connect), name="mqtt")
                    if lane := self.intake.lane_topics():
                        tg.create_task(self.link.run_lane(self.intake.handle_lane, lane), name="mqtt-lane")
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

    # -- MQTT: what the link and the intake ask of the shell ------------------------------
    async def _serve(self, batch: list[Incoming]) -> None:
        await self.intake.handle(batch)

    async def _on_connect(self) -> None:
        await self._publish(mqtt.panel_topic(self.site.id, mqtt.Channel.STATE),
                            panel.public_state(self.state).model_dump_json(), retain=True)
        self.link.start(self._resume_after_settle(), "resume")

    async def check_code(self, cmd: mqtt.PanelCommand) -> None:
        await self.pins.submit(cmd)

    async def seen_of(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return await self.outbox.seen_of(keys, at_once=lane.active())

    async def confirm(self, device: str, ids: list[str]) -> None:
        await self._publish(mqtt.device_topic(self.site.id, device, mqtt.Channel.CONFIRM),
                            mqtt.EventConfirmation(ids=ids).model_dump_json())

    async def _refuse_code(self, cmd: mqtt.PanelCommand, reason: str) -> None:
        await self._notice("code_refused", {"action": cmd.action, "reason": reason})

    async def _notice(self, event: str, detail: dict[str, object]) -> None:
        notice = mqtt.PanelEvent.model_validate({"event": event, "detail": detail})
        await self._publish(mqtt.panel_topic(self.site.id, mqtt.Channel.EVENT), notice.model_dump_json())

    async def _publish(self, topic: str, payload: str, *, retain: bool = False) -> None:
        await self.link.publish(topic, payload, retain=retain)

    # -- the core -----------------------------------------------------------------------
    async def apply(self, event: panel.Input) -> None:
        """One step of the core; commit before any effect."""
        await self.apply_all([event], seen=[])

    async def apply_all(self, inputs: list[panel.Input], *, seen: list[tuple[str, str]]) -> None:
        """Steps of the core, one commit for all of them (marking ``seen`` events), then effects.

        The steps and the queueing of their commit happen with no ``await`` between them, so
        commits keep the order of the steps without a lock: the next step (a panic press from
        the alarm lane) runs while this commit syncs, and its commit queues right behind."""
        if lane.active():
            hops.mark("stepping")
        now = self.clock()
        before = panel.next_deadline(self.state)
        actions: list[panel.Action] = []
        lines: list[tuple[str, str]] = []
        for event in inputs:
            self.state, more = panel.step(self.site, self.state, event, now)
            actions += more
            lines += lines_for(describe(event), more)
        if panel.next_deadline(self.state) != before:
            self._deadline_changed.set()
        await self._commit(actions, now, seen=seen, lines=lines)
        await self._perform(actions)

    async def _resume_after_settle(self) -> None:
        """After (re)connecting, evaluate what changed while we were away, once.

        Not while a walk test runs: its device events go to the test, not to the panel, so the
        retained states then show the installer's triggers (a tamper, an open door) that the
        panel never saw, and replaying them would turn a test into real alarms. The end of the
        walk test resumes instead."""
        await asyncio.sleep(RESUME_SETTLE)
        if self.state.walktest is not None:
            log.info("resume deferred: walk test running, the panel catches up when it ends")
            return
        now = self.clock()
        self.state, actions = panel.resume(self.site, self.state, dict(self.intake.retained), now)
        self._deadline_changed.set()
        await self._commit(actions, now, seen=[], lines=lines_for("resume after (re)connect", actions))
        await self._perform(actions)

    async def _commit(self, actions: list[panel.Action], now: datetime, *,
                      seen: list[tuple[str, str]], lines: list[tuple[str, str]]) -> None:
        """Queue the commit of the state just stepped at once (before the first await), then
        wait for it; a disk that cannot be written sends the reports from memory. The alarm
        lane's commit is done before the queueing returns (``Outbox.commit_step``)."""
        evidence = self.evidence.current_url()
        also: set[str] = set(self.site.alarm_centre.also_send)
        reports = [with_occurrence(with_evidence(a, evidence), now) for a in actions
                   if isinstance(a, panel.Report) and for_the_centre(a, also)]
        pending = self.outbox.commit_step(reports, panel_state=self.state.to_json(), also_seen=seen,
                                         log=lines, at=now, at_once=lane.active())
        try:
            items = await pending
        except (OSError, sqlite3.Error) as exc:  # disk trouble: send from memory, never drop
            log.error("outbox cannot be written (%s); sending %d report(s) directly", exc, len(reports))
            self.counters["outbox_write_failed"] += 1
            self._fault(OUTBOX_FAULT, True)
            for report in reports:
                self.transmitter.send_direct(report)
            return
        if OUTBOX_FAULT in self.faults:
            self._fault(OUTBOX_FAULT, False)
        if items:
            hops.mark("committed")
        if reports:
            self.transmitter.committed(items)

    async def _perform(self, actions: list[panel.Action]) -> None:
        last_state = max((i for i, a in enumerate(actions) if isinstance(a, panel.PublishState)), default=-1)
        for index, action in enumerate(actions):
            if isinstance(action, panel.PublishState):
                if index != last_state:
                    continue  # a batch's steps: only its last panel state is worth retaining
                await self._publish(mqtt.panel_topic(self.site.id, mqtt.Channel.STATE),
                                    action.state.model_dump_json(), retain=True)
            elif isinstance(action, panel.PanelNotice):
                if action.event == "event_skipped":
                    self.counters["event_out_of_order"] += 1
                notice = mqtt.PanelEvent(event=action.event, detail=action.detail)
                await self._publish(mqtt.panel_topic(self.site.id, mqtt.Channel.EVENT),
                                    notice.model_dump_json())
            elif isinstance(action, panel.LogEntry):
                log.info("panel: %s", action.text)
            elif isinstance(action, panel.Sounder):
                command = "sounder_on" if action.on else "sounder_off"
                await self._command(DeviceType.SIREN, mqtt.DeviceCommand(command=command))
            elif isinstance(action, panel.WalkTestEnded):
                # the link test waits for the centre (seconds, when a path is down): never in
                # the message loop, where it would hold up a panic press behind it
                if not self.link.start(self._after_walk_test(action), "walk-test-end"):
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

    async def _after_walk_test(self, ended: panel.WalkTestEnded) -> None:
        """The link test to each path, the report to the installer, then the panel catches up
        on what changed meanwhile."""
        links = await self.transmitter.link_test()
        await self._notice("walk_test_ended", outcome(self.site, ended, links))
        await self._resume_after_settle()

    async def _timer_loop(self) -> None:
        while True:
            still_wanted()
            deadline = panel.next_deadline(self.state)
            self._deadline_changed.clear()
            timeout = IDLE_TICK if deadline is None else (deadline - self.clock()).total_seconds()
            if timeout <= 0:
                await self.apply(panel.Tick())
                continue
            try:
                async with asyncio.timeout(timeout):  # not wait_for: in 3.11 it can lose a cancel
                    await self._deadline_changed.wait()
            except TimeoutError:
                await self.apply(panel.Tick())

    async def _note_profile(self) -> None:
        """A changed security profile is an audited event for the alarm centre and the log."""
        before = await self.outbox.get_meta("profile")
        if before == self.site.profile:
            return
        reports, lines = [], []
        if before is not None:
            text = f"security profile {before} -> {self.site.profile}"
            reports.append(panel.Report(EventKind.PROFILE_CHANGED, 0, text=text))
            lines.append(("config", text))
            log.warning("%s", text)
        await self.outbox.commit_step(reports, log=lines, at=self.clock())
        await self.outbox.set_meta("profile", self.site.profile)


class _Stop(Exception):
    """Raised inside the TaskGroup to end every loop when the service is asked to stop."""


def _snapshot_class(reason: str) -> str:
    if reason.startswith("burglary"):
        return "burglary"
    if reason in ("panic", "holdup", "duress"):
        return "panic"
    return reason  # tamper, fire
