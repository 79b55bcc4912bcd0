"""Bypassed zones: forced arming, swinger shutdown and re-arm reinstatement; all reported."""

from __future__ import annotations

from agent.panel.state import ArmMode
from agent.panel.turn import Turn
from agent.panel.zones import ACTIVE
from config.site import Device
from protocol.codes import EventKind

__all__ = ["bypass", "clear_bypasses", "open_zones_in"]


def bypass(turn: Turn, device: Device, reason: str, user: int | None = None) -> None:
    """Ignore a zone until disarm, and tell the alarm centre why."""
    if device.id in turn.state.bypassed:
        return
    turn.state.bypassed = [*turn.state.bypassed, device.id]
    turn.report(EventKind.BYPASS, device.zone, user=user, device=device.id, text=reason)
    turn.notice("bypassed", zone=device.id, reason=reason)
    turn.log(f"zone {device.zone} ({device.name}) bypassed: {reason}")


def clear_bypasses(turn: Turn, user: int | None) -> None:
    """Disarm ends every bypass; the alarm centre hears each one lifted."""
    for device_id in turn.state.bypassed:
        device = turn.site.device(device_id)
        zone = device.zone if device else 0
        turn.report(EventKind.BYPASS, zone, restore=True, user=user, device=device_id)
    turn.state.bypassed = []


def open_zones_in(turn: Turn, mode: ArmMode) -> list[Device]:
    """Zones live in ``mode`` whose contact is known open and that are not yet bypassed."""
    return [
        d
        for d in turn.site.devices
        if d.effective_zone_type in ACTIVE[mode]
        and turn.device(d.id).contact == "open"
        and d.id not in turn.state.bypassed
    ]
