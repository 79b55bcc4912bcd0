"""The MQTT intake against an in-repo shell (``Steps``) that records what it is asked to do."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from agent import panel
from agent.inbox import Incoming
from agent.intake import Intake
from protocol import mqtt
from protocol.mqtt import EventType
from tests.panel.harness import example_site

SITE = example_site()
T1 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


@dataclass
class Shell:
    """Every call the intake makes, in order; events already committed are ``seen``."""

    calls: list[tuple[str, object]] = field(default_factory=list)
    seen: set[tuple[str, str]] = field(default_factory=set)

    async def apply(self, event: panel.Input) -> None:
        self.calls.append(("apply", event))

    async def apply_all(self, inputs: list[panel.Input], *, seen: list[tuple[str, str]]) -> None:
        self.calls.append(("apply_all", (inputs, seen)))
        self.seen |= set(seen)

    async def check_code(self, cmd: mqtt.PanelCommand) -> None:
        self.calls.append(("check_code", cmd.action))

    async def seen_of(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return set(keys) & self.seen

    async def confirm(self, device: str, ids: list[str]) -> None:
        self.calls.extend(("confirm", i) for i in ids)


def event(device: str, kind: EventType, event_id: str) -> Incoming:
    body = mqtt.DeviceEvent(id=event_id, device=device, type=kind, ts=T1).model_dump_json()
    return Incoming(mqtt.device_topic(SITE.id, device, mqtt.Channel.EVENT), body.encode(), False)


def command(action: str, code: str | None = None) -> Incoming:
    body = mqtt.PanelCommand.model_validate({"action": action, "code": code}).model_dump_json()
    return Incoming(mqtt.panel_topic(SITE.id, mqtt.Channel.SET), body.encode(), False)


def intake() -> tuple[Intake, Shell, Counter[str]]:
    shell, counters = Shell(), Counter[str]()
    return Intake(SITE, shell, counters), shell, counters


async def test_queued_events_are_one_commit_then_each_is_confirmed() -> None:
    it, shell, _ = intake()
    await it.handle([event("door-front", EventType.OPEN, "a1"), event("door-back", EventType.OPEN, "b1")])
    [(name, (inputs, seen)), *confirms] = shell.calls  # type: ignore[misc]
    assert name == "apply_all" and seen == [("door-front", "a1"), ("door-back", "b1")]
    assert [(i.device, i.type, i.at) for i in inputs] == [("door-front", EventType.OPEN, T1),
                                                          ("door-back", EventType.OPEN, T1)]
    assert confirms == [("confirm", "a1"), ("confirm", "b1")]


async def test_a_repeated_event_is_confirmed_again_but_stepped_once() -> None:
    it, shell, counters = intake()
    await it.handle([event("door-front", EventType.OPEN, "a1")])
    await it.handle([event("door-front", EventType.OPEN, "a1"), event("door-front", EventType.OPEN, "a1")])
    assert [name for name, _ in shell.calls] == ["apply_all", "confirm", "confirm"]
    assert counters["duplicate_event"] == 2


async def test_other_messages_keep_their_place_between_events() -> None:
    it, shell, _ = intake()
    online = Incoming(mqtt.device_topic(SITE.id, "door-back", mqtt.Channel.AVAILABILITY), b"offline", True)
    await it.handle([event("door-front", EventType.OPEN, "a1"), online, command("ARM_AWAY", "1234"),
                     command("TRIGGER"), event("door-front", EventType.CLOSE, "a2")])
    assert [name for name, _ in shell.calls] == [
        "apply_all", "confirm", "apply", "check_code", "apply", "apply_all", "confirm"]
    assert shell.calls[2][1] == panel.DeviceAvailability("door-back", False)
    assert shell.calls[4][1] == panel.Command("TRIGGER", None)  # no code needed, none checked


async def test_retained_states_are_kept_for_the_resume() -> None:
    it, shell, _ = intake()
    state = mqtt.DeviceState(device="door-back", contact="open").model_dump_json().encode()
    await it.handle([Incoming(mqtt.device_topic(SITE.id, "door-back", mqtt.Channel.STATE), state, True)])
    assert it.retained["door-back"].contact == "open" and shell.calls == []


async def test_bad_messages_are_counted_and_change_nothing() -> None:
    it, shell, counters = intake()
    wrong_topic = event("door-front", EventType.OPEN, "x1")._replace(
        topic=mqtt.device_topic(SITE.id, "door-back", mqtt.Channel.EVENT))
    await it.handle([
        Incoming(mqtt.device_topic(SITE.id, "door-front", mqtt.Channel.EVENT), b"{not json", False),
        Incoming(mqtt.device_topic(SITE.id, "nobody", mqtt.Channel.EVENT), b"{}", False),
        Incoming(mqtt.device_topic(SITE.id, "door-back", mqtt.Channel.AVAILABILITY), b"maybe", True),
        Incoming(mqtt.panel_topic(SITE.id, mqtt.Channel.SET), b'{"action": "EXPLODE"}', False),
        wrong_topic,
        event("door-front", EventType.OPEN, "ok"),  # and the loop goes on
    ])
    assert counters["bad_payload"] == 5
    assert [name for name, _ in shell.calls] == ["apply_all", "confirm"]


async def test_the_lane_takes_only_presses_and_releases_of_alarm_buttons() -> None:
    it, shell, _ = intake()
    assert sorted(it.lane_topics()) == sorted(mqtt.device_topic(SITE.id, d, mqtt.Channel.EVENT)
                                              for d in ("panic-hall", "panic-bedroom"))
    await it.handle_lane([event("panic-hall", EventType.TAMPER, "t1"),
                          event("door-front", EventType.OPEN, "d1"),
                          event("panic-hall", EventType.PRESS, "p1"),
                          event("panic-bedroom", EventType.RELEASE, "r1")])
    assert [(name, [(i.device, i.type) for i in arg[0]] if name == "apply_all" else arg)  # type: ignore[index]
            for name, arg in shell.calls] == [
        ("apply_all", [("panic-hall", EventType.PRESS)]), ("confirm", "p1"),
        ("apply_all", [("panic-bedroom", EventType.RELEASE)]), ("confirm", "r1")]


async def test_a_press_in_both_sessions_is_stepped_once_and_confirmed_after_its_commit() -> None:
    """The lane has the press in hand (its commit not done) when the main session's batch with a
    copy of it comes: the main session waits for the lane, then takes only the rest."""
    shell = Shell()
    committing, release = asyncio.Event(), asyncio.Event()
    original = shell.apply_all

    async def slow_apply_all(inputs: list[panel.Input], *, seen: list[tuple[str, str]]) -> None:
        if seen == [("panic-hall", "p1")]:
            committing.set()
            await release.wait()
        await original(inputs, seen=seen)

    shell.apply_all = slow_apply_all  # type: ignore[method-assign]
    counters = Counter[str]()
    it = Intake(SITE, shell, counters)
    press = event("panic-hall", EventType.PRESS, "p1")
    lane = asyncio.create_task(it.handle_lane([press]))
    await asyncio.wait_for(committing.wait(), 5)
    main = asyncio.create_task(it.handle([press, event("door-front", EventType.OPEN, "d1")]))
    async with asyncio.timeout(5):
        while not counters["deferred_to_lane"]:
            await asyncio.sleep(0.01)
    assert shell.calls == []  # nothing stepped or confirmed before the press's commit
    release.set()
    await asyncio.wait_for(asyncio.gather(lane, main), 5)
    await it.handle([press])  # a late copy: committed, so only confirmed again
    stepped = [i.device for name, arg in shell.calls if name == "apply_all" for i in arg[0]]  # type: ignore[index]
    assert stepped == ["panic-hall", "door-front"]
    assert [i for name, i in shell.calls if name == "confirm"] == ["p1", "p1", "d1", "p1"]
    assert counters["duplicate_event"] == 2
