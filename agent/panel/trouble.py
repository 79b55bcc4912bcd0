"""Device trouble: tamper, battery, masking, camera loss and lost devices (supervision).

Trouble is never an intrusion and never silent: it is reported, announced and listed in the
panel's faults. Only tamper while set also sounds (EN 50131-1, grade 2).
"""

from __future__ import annotations

from datetime import timedelta

from agent.panel.modes import trigger
from agent.panel.state import DeviceStatus
from agent.panel.turn import Turn
from config.site import Device, DeviceType
from protocol.codes import EventKind
from protocol.mqtt import EventType

__all__ = ["GRACE", "NAMES", "TROUBLES", "device_lost", "grace", "on_availability", "set_trouble"]

TROUBLES: dict[EventType, tuple[EventKind, bool]] = {
    EventType.TAMPER: (EventKind.TAMPER, True),
    EventType.TAMPER_RESTORE: (EventKind.TAMPER, False),
    EventType.BATTERY_LOW: (EventKind.LOW_BATTERY, True),
    EventType.BATTERY_OK: (EventKind.LOW_BATTERY, False),
    EventType.MASKING: (EventKind.CAMERA_MASKED, True),
    EventType.MASKING_RESTORE: (EventKind.CAMERA_MASKED, False),
    EventType.CAMERA_LOST: (EventKind.CAMERA_LOST, True),
    EventType.CAMERA_RESTORED: (EventKind.CAMERA_LOST, False),
}

# Offline grace before "device lost": long enough to ride out a broker or driver restart,
# short for what an attacker would disable first (panic buttons, the camera, the siren);
# all far below the 2 h EN 50131 grade 2 allows.
GRACE: dict[DeviceType, timedelta] = {
    DeviceType.CONTACT: timedelta(minutes=5),
    DeviceType.PANIC: timedelta(minutes=2),
    DeviceType.INTERCOM: timedelta(seconds=60),
    DeviceType.SMOKE: timedelta(minutes=5),
    DeviceType.KEYPAD: timedelta(minutes=5),
    DeviceType.SIREN: timedelta(minutes=2),
}


def grace(device: Device) -> timedelta:
    return device.supervision if device.supervision is not None else GRACE[device.type]


# The name of each trouble in the panel state and its public ``faults`` (Home Assistant reads
# them): the device fact that starts it, whatever the report is called at the alarm centre.
NAMES: dict[EventKind, str] = {
    EventKind.TAMPER: EventType.TAMPER.value,
    EventKind.LOW_BATTERY: EventType.BATTERY_LOW.value,
    EventKind.CAMERA_MASKED: EventType.MASKING.value,
    EventKind.CAMERA_LOST: EventType.CAMERA_LOST.value,
}


def set_trouble(turn: Turn, device: Device, kind: EventKind, active: bool) -> None:
    """Report a trouble when it starts or ends; repeats of the same fact change nothing."""
    status, name = turn.device(device.id), NAMES[kind]
    if (name in status.troubles) == active:
        return
    status.troubles = sorted(set(status.troubles) ^ {name})
    turn.report(kind, device.zone, restore=not active, device=device.id, text=device.name)
    turn.notice("trouble" if active else "trouble_restored", device=device.id, trouble=name)
    turn.log(f"{name} {'on' if active else 'restored'}: zone {device.zone} ({device.name})")
    if active and kind is EventKind.TAMPER and turn.state.armed is not None:
        trigger(turn, audible=True, reason=f"tamper {device.name}")


def on_availability(turn: Turn, device: Device, online: bool) -> None:
    """Offline starts the grace timer; back online restores. The contact state is untouched."""
    status = turn.device(device.id)
    if online == status.online:
        return
    status.online = online
    if not online:
        status.lost_deadline = turn.now + grace(device)
        turn.log(f"{device.name} offline; lost after {grace(device).total_seconds():g}s")
        return
    status.lost_deadline = None
    if status.lost_reported:
        status.lost_reported = False
        turn.report(EventKind.SUPERVISION_LOST, device.zone, restore=True, device=device.id)
        turn.notice("device_restored", device=device.id)
    turn.log(f"{device.name} online")


def device_lost(turn: Turn, device_id: str, status: DeviceStatus) -> None:
    """The grace ran out while offline: report the lost device."""
    status.lost_deadline, status.lost_reported = None, True
    device = turn.site.device(device_id)
    zone = device.zone if device else 0
    turn.report(EventKind.SUPERVISION_LOST, zone, device=device_id, text="device lost")
    turn.notice("device_lost", device=device_id)
    turn.log(f"{device_id} lost (offline past its grace)")
