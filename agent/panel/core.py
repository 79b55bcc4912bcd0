"""The panel as a pure function: ``(state, input, now) -> (state, actions)``.

No I/O, no sleeps, no wall clock: the shell passes aware UTC time in, persists the returned
state, performs the actions and calls again with a Tick at ``next_deadline(state)``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from agent.panel.actions import Action, PublishState
from agent.panel.commands import on_command
from agent.panel.devices import on_device_input
from agent.panel.inputs import Command, DeviceAvailability, DeviceInput, Input, Tick
from agent.panel.state import DeviceStatus, PanelState
from agent.panel.timers import on_tick
from agent.panel.trouble import on_availability
from agent.panel.turn import Turn
from agent.panel.view import public_state
from config.site import Site

__all__ = ["initial_state", "step"]


def initial_state(site: Site) -> PanelState:
    """Disarmed, every device online with unknown (not open) contacts."""
    return PanelState(devices={d.id: DeviceStatus() for d in site.devices})


def step(
    site: Site, state: PanelState, event: Input, now: datetime
) -> tuple[PanelState, list[Action]]:
    """Apply one input at ``now``; ``state`` itself is never modified."""
    if now.tzinfo is None or now.utcoffset() != timedelta(0):
        raise ValueError(f"now must be an aware UTC datetime, got {now!r}")
    turn = Turn(site, state.clone(), now)
    _dispatch(turn, event)
    turn.state.clock = now
    after = public_state(turn.state, now)
    if after != public_state(state, now):
        turn.emit(PublishState(after))
    return turn.state, turn.ordered()


def _dispatch(turn: Turn, event: Input) -> None:
    if isinstance(event, Tick):
        on_tick(turn)
    elif isinstance(event, Command):
        on_command(turn, event)
    elif isinstance(event, DeviceInput):
        on_device_input(turn, event)
    elif isinstance(event, DeviceAvailability):
        device = turn.site.device(event.device)
        if device is None:
            turn.log(f"availability of unknown device {event.device!r} ignored")
        else:
            on_availability(turn, device, event.online)
