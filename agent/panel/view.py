"""The panel as Home Assistant sees it: the retained ``state`` payload."""

from __future__ import annotations

from datetime import datetime

from agent.panel.state import PanelState
from protocol import mqtt

__all__ = ["faults", "open_zones", "public_state"]


def open_zones(state: PanelState) -> list[str]:
    """Devices whose contact is known open; an offline or unknown contact is not open."""
    return sorted(d for d, s in state.devices.items() if s.contact == "open")


def faults(state: PanelState) -> list[str]:
    """``device:fault`` for every reported trouble, e.g. ``door-front:offline``."""
    out: list[str] = []
    for device, status in sorted(state.devices.items()):
        if status.lost_reported:
            out.append(f"{device}:offline")
        out.extend(f"{device}:{trouble}" for trouble in status.troubles)
    return out


def public_state(state: PanelState, now: datetime | None = None) -> mqtt.PanelState:
    """Stamped with ``now`` or the last step's clock; the core never reads the wall clock."""
    stamp = now or state.clock
    return mqtt.PanelState(
        state=state.mode,
        changed_by=state.changed_by,
        open_zones=open_zones(state),
        bypassed=sorted(state.bypassed),
        faults=faults(state),
        deadline=state.deadline,
        sounder=state.sounder,
        **({"ts": stamp} if stamp else {}),
    )
