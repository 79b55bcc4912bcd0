"""The alarm panel as a pure functional core: ``step(site, state, input, now)``.

Modules: ``inputs`` and ``actions`` (what goes in and out), ``state`` (the persisted value),
``zones`` (mode -> live zones), ``codes``, ``arming``, ``alarms``, ``verification``,
``trouble``, ``timers``, ``core`` (``step``) and ``resume`` (after a restart).
"""

from agent.panel.actions import (
    Action,
    LogEntry,
    PanelNotice,
    PublishState,
    Report,
    RequestSnapshot,
    Sounder,
    WalkTestEnded,
)
from agent.panel.core import initial_state, step
from agent.panel.inputs import (
    WRONG_CODE,
    Command,
    DeviceAvailability,
    DeviceInput,
    EnteredCode,
    Input,
    Tick,
)
from agent.panel.order import alarm_press
from agent.panel.resume import resume
from agent.panel.state import PanelState, PointResult, WalkTest
from agent.panel.timers import next_deadline
from agent.panel.view import public_state

__all__ = [
    "WRONG_CODE",
    "Action",
    "Command",
    "DeviceAvailability",
    "DeviceInput",
    "EnteredCode",
    "Input",
    "LogEntry",
    "PanelNotice",
    "PanelState",
    "PointResult",
    "PublishState",
    "Report",
    "RequestSnapshot",
    "Sounder",
    "Tick",
    "WalkTest",
    "WalkTestEnded",
    "alarm_press",
    "from_json",
    "initial_state",
    "next_deadline",
    "public_state",
    "resume",
    "step",
]

from_json = PanelState.from_json
