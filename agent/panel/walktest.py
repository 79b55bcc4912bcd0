"""Walk test (commissioning): the installer triggers every device, the centre gets test reports.

Started and ended with an admin code, checked like every other code (one wrong-code counter and
one lockout). It ends by itself at ``panel.walk_test_limit``. While it runs a device fact ticks
the device off (its first trigger is reported as point tested, TP) instead of raising an alarm,
except at a panic or hold-up zone: those always raise PA/HA, and are ticked off as well. When it
ends the shell catches the panel up from the retained device states.
"""

from __future__ import annotations

from agent.panel.actions import WalkTestEnded
from agent.panel.inputs import DeviceInput
from agent.panel.state import PointResult, WalkTest
from agent.panel.turn import Turn
from config.site import Device, DeviceType, User, ZoneType
from protocol.codes import EventKind
from protocol.mqtt import EventType

__all__ = [
    "ALWAYS_ALARMS",
    "TRIGGERS",
    "end_walk_test",
    "start_walk_test",
    "walk_test_over",
    "walk_test_point",
]

# What counts as "this device works" per type; a tamper is recorded for every type.
TRIGGERS: dict[DeviceType, frozenset[EventType]] = {
    DeviceType.CONTACT: frozenset({EventType.OPEN}),
    DeviceType.PANIC: frozenset({EventType.PRESS}),
    DeviceType.SMOKE: frozenset({EventType.SMOKE}),
    DeviceType.INTERCOM: frozenset({EventType.DOORBELL, EventType.PERSON, EventType.MOTION}),
    DeviceType.KEYPAD: frozenset({EventType.PRESS, EventType.TAMPER}),
    DeviceType.SIREN: frozenset({EventType.TAMPER}),  # an output proves itself by its tamper loop
}
# Zones whose presses and openings raise their alarm during a walk test too.
ALWAYS_ALARMS = frozenset({ZoneType.PANIC, ZoneType.HOLDUP})
_ALARM_FACTS = frozenset({EventType.PRESS, EventType.RELEASE, EventType.OPEN, EventType.CLOSE})


def start_walk_test(turn: Turn, user: User) -> None:
    s = turn.state
    if s.walktest is not None or s.mode != "disarmed":
        reason = "already running" if s.walktest is not None else "disarm first"
        turn.notice("command_refused", action="WALK_TEST_START", reason=reason)
        return
    until = turn.now + turn.site.panel.walk_test_limit
    s.walktest = WalkTest(started=turn.now, until=until, user=user.number, by=user.name,
                          points={d.id: PointResult() for d in turn.site.devices})
    turn.report(EventKind.WALK_TEST, user.number, user=user.number, text=f"walk test by {user.name}")
    turn.notice("walk_test_started", devices=[d.id for d in turn.site.devices], until=until.isoformat())
    turn.log(f"walk test started by {user.name}, ends by itself at {until.isoformat()}")


def end_walk_test(turn: Turn, reason: str) -> None:
    test = turn.state.walktest
    if test is None:
        turn.notice("command_refused", action="WALK_TEST_END", reason="no walk test running")
        return
    turn.state.walktest = None
    tested = f"{test.tested()}/{len(test.points)} tested"
    turn.report(EventKind.WALK_TEST, test.user, restore=True, user=test.user,
                text=f"walk test ended ({reason}), {tested}")
    turn.log(f"walk test ended ({reason}), {tested}")
    turn.emit(WalkTestEnded(test, reason))


def walk_test_over(turn: Turn) -> None:
    """The Tick at ``until``: a forgotten walk test must not keep the panel from arming."""
    test = turn.state.walktest
    if test is not None and turn.now >= test.until:
        end_walk_test(turn, "time limit")


def walk_test_point(turn: Turn, device: Device, event: DeviceInput) -> bool:
    """Tick the device off; True when the fact must also reach the panel (panic, hold-up)."""
    test = turn.state.walktest
    assert test is not None
    point = test.points.setdefault(device.id, PointResult())
    kind = event.type
    if kind in TRIGGERS[device.type] and point.triggered is None:
        point.triggered = turn.now
        turn.report(EventKind.POINT_TESTED, device.zone, device=device.id,
                    text=f"{device.name}: {kind.value}")
    if kind is EventType.TAMPER and point.tamper is None:
        point.tamper = turn.now
    if kind in (EventType.BATTERY_LOW, EventType.BATTERY_OK):
        point.battery_low = kind is EventType.BATTERY_LOW
    turn.notice("point_tested", device=device.id, event=kind.value, tested=test.tested())
    return device.effective_zone_type in ALWAYS_ALARMS and kind in _ALARM_FACTS
