"""Each device's facts in the order they happened (the driver's clock), whatever the order in
which they arrived.

A driver re-publishes an event until the agent confirms it, so one the broker dropped (sent
before the agent's first connection) arrives after newer ones; a tamper applied after its own
restore would leave the zone tampered for good. A fact older than the newest one applied for its
device is skipped and said so (a notice and a log line), except a press or release of a panic
or hold-up button: an alarm that happened is never dropped.

Such a press or release also leaves the device's clock alone: it takes the alarm lane (its own
MQTT session, ``agent/broker_link.py``) and so may arrive before the button's own earlier facts
(a tamper, a low battery), which must still count when they come.
"""

from __future__ import annotations

from agent.panel.inputs import DeviceInput
from agent.panel.turn import Turn
from config.site import Device, ZoneType
from protocol.mqtt import EventType

__all__ = ["alarm_press", "in_order"]

_ALARM_BUTTONS = frozenset({ZoneType.PANIC, ZoneType.HOLDUP})
_PRESSES = frozenset({EventType.PRESS, EventType.RELEASE})


def in_order(turn: Turn, device: Device, event: DeviceInput) -> bool:
    """True when ``event`` may be applied; remembers the newest time applied per device."""
    if event.at is None:  # derived by the shell (resume), not a driver's fact
        return True
    if alarm_press(device, event.type):
        return True
    status = turn.device(device.id)
    newest = status.last_fact
    if newest is not None and event.at < newest:
        turn.notice("event_skipped", device=device.id, event=event.type.value,
                    at=event.at.isoformat(), newest=newest.isoformat())
        turn.log(f"{device.id}: {event.type.value} of {event.at.isoformat()} skipped, older than "
                 f"the {newest.isoformat()} already applied")
        return False
    if newest is None or event.at > newest:
        status.last_fact = event.at
    return True


def alarm_press(device: Device, kind: EventType) -> bool:
    """A press or release of a panic or hold-up button: never skipped, and what takes the lane."""
    return device.effective_zone_type in _ALARM_BUTTONS and kind in _PRESSES
