"""Intrusion, entry delay, panic/hold-up and fire: the rules that raise alarms."""

from __future__ import annotations

from agent.panel.actions import RequestSnapshot
from agent.panel.bypass import bypass, open_zones_in
from agent.panel.modes import become_armed, trigger
from agent.panel.state import EntryDelay
from agent.panel.turn import Turn
from agent.panel.verification import confirm, remember_alarm
from agent.panel.zones import Response, burglary_kind, respond
from config.site import Device, DeviceType, ZoneType
from protocol.codes import EventKind

__all__ = [
    "activation",
    "entry_delay_over",
    "exit_delay_over",
    "fire",
    "intrusion",
    "raise_panic",
    "snapshot",
    "snapshot_any",
    "start_entry",
]


def activation(turn: Turn, device: Device) -> None:
    """A zone opened (or saw motion): nothing, the entry delay, or an alarm."""
    zone = device.effective_zone_type
    if zone in (ZoneType.PANIC, ZoneType.HOLDUP):
        raise_panic(turn, device)
    elif zone is ZoneType.FIRE:
        fire(turn, device, active=True)
    elif device.id in turn.state.bypassed:
        turn.log(f"zone {device.zone} ({device.name}) opened while bypassed")
    elif zone is ZoneType.H24:
        intrusion(turn, device, EventKind.BURGLARY_24H)
    else:
        response = respond(turn.state.mode, turn.state.armed, zone)
        if response is Response.ENTRY:
            start_entry(turn, device)
        elif response is Response.INSTANT:
            intrusion(turn, device, burglary_kind(zone))


def intrusion(turn: Turn, device: Device, kind: EventKind) -> None:
    """Report a burglary (verified if a second detector), sound, and apply the swinger limit."""
    if turn.state.mode == "arming":
        become_armed(turn)  # the closing report goes before the alarm it belongs to
    status = turn.device(device.id)
    status.trips += 1
    turn.report(confirm(turn, device, kind), device.zone, device=device.id, text=device.name)
    remember_alarm(turn, device)
    snapshot(turn, kind, device)
    trigger(turn, audible=not device.silent, reason=f"zone {device.zone} {device.name}")
    if status.trips >= turn.site.panel.swinger_limit:
        bypass(turn, device, f"swinger: {status.trips} alarms this arming period")


def start_entry(turn: Turn, device: Device) -> None:
    """First entry-door opening starts the entry delay; re-openings never restart it."""
    delay = turn.timings().entry_delay
    if not delay:
        intrusion(turn, device, EventKind.BURGLARY_ENTRY_EXIT)
        return
    s = turn.state
    s.mode, s.deadline = "pending", turn.now + delay
    s.entry = EntryDelay(device=device.id, zone=device.zone, started=turn.now)
    turn.notice("pending", zone=device.id, deadline=s.deadline.isoformat())
    turn.log(f"entry delay started by zone {device.zone} ({device.name})")


def entry_delay_over(turn: Turn) -> None:
    """Nobody disarmed in time: the entry door that started the delay is the alarm zone."""
    entry = turn.state.entry
    device = turn.site.device(entry.device) if entry else None
    if device is None:  # door removed from the site since: still an alarm, on zone 0
        turn.report(EventKind.BURGLARY_ENTRY_EXIT, 0, text="entry delay expired")
        trigger(turn, audible=True, reason="entry delay expired")
        return
    intrusion(turn, device, EventKind.BURGLARY_ENTRY_EXIT)


def exit_delay_over(turn: Turn) -> None:
    """Armed now; an entry door still open starts the entry delay at once."""
    become_armed(turn)
    armed = turn.state.armed
    doors = open_zones_in(turn, armed) if armed else []
    door = next((d for d in doors if d.effective_zone_type is ZoneType.ENTRY_EXIT), None)
    if door is not None:
        start_entry(turn, door)


def raise_panic(turn: Turn, device: Device) -> None:
    """Panic and hold-up go to the ARC in this very step; hold-up and silent never sound."""
    holdup = device.effective_zone_type is ZoneType.HOLDUP
    kind = EventKind.HOLDUP if holdup else EventKind.PANIC
    turn.report(kind, device.zone, device=device.id, text=device.name, urgent=True)
    snapshot(turn, kind, device)
    if not (holdup or device.silent):
        trigger(turn, audible=True, reason=f"panic {device.name}")


def fire(turn: Turn, device: Device, *, active: bool) -> None:
    status = turn.device(device.id)
    if status.smoke == active:
        return
    status.smoke = active
    turn.report(EventKind.FIRE, device.zone, restore=not active, device=device.id, text=device.name)
    if active:
        trigger(turn, audible=True, reason=f"fire {device.name}")


def snapshot(turn: Turn, kind: EventKind, device: Device) -> None:
    """Evidence from the intercom, unless the intercom itself raised the alarm."""
    if device.type is not DeviceType.INTERCOM:
        snapshot_any(turn, kind, device.zone)


def snapshot_any(turn: Turn, kind: EventKind, zone: int) -> None:
    if any(d.type is DeviceType.INTERCOM for d in turn.site.devices):
        turn.emit(RequestSnapshot(reason=kind.value, alarm_zone=zone))
