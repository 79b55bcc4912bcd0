"""The mode -> live-zone table, rule by rule, and end to end on the example house."""

from __future__ import annotations

import pytest

from agent.panel.zones import Response, respond
from config.site import ZoneType
from tests.panel.harness import Panel, interior_site, kinds

E, P, INT, N = ZoneType.ENTRY_EXIT, ZoneType.PERIMETER, ZoneType.INTERIOR, ZoneType.NONE
IGNORE, ENTRY, INSTANT = Response.IGNORE, Response.ENTRY, Response.INSTANT


@pytest.mark.parametrize(
    ("mode", "armed", "zone", "expected"),
    [
        ("disarmed", None, E, IGNORE),
        ("disarmed", None, P, IGNORE),
        ("disarmed", None, INT, IGNORE),
        ("arming", "armed_away", E, IGNORE),
        ("arming", "armed_away", INT, IGNORE),
        ("arming", "armed_away", P, INSTANT),
        ("armed_away", "armed_away", E, ENTRY),
        ("armed_away", "armed_away", P, INSTANT),
        ("armed_away", "armed_away", INT, INSTANT),
        ("armed_away", "armed_away", N, IGNORE),
        ("armed_home", "armed_home", E, ENTRY),
        ("armed_home", "armed_home", P, INSTANT),
        ("armed_home", "armed_home", INT, IGNORE),
        ("armed_night", "armed_night", E, ENTRY),
        ("armed_night", "armed_night", INT, INSTANT),
        ("pending", "armed_away", E, IGNORE),
        ("pending", "armed_away", INT, IGNORE),
        ("pending", "armed_away", P, INSTANT),
        ("pending", "armed_home", INT, IGNORE),
        ("triggered", "armed_away", E, INSTANT),
        ("triggered", "armed_away", INT, INSTANT),
        ("triggered", "armed_home", INT, IGNORE),
        ("triggered", None, P, IGNORE),
    ],
)
def test_zone_response(mode: str, armed: str | None, zone: ZoneType, expected: Response) -> None:
    assert respond(mode, armed, zone) is expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("action", "device", "mode_after", "reported"),
    [
        ("ARM_AWAY", "door-front", "pending", []),
        ("ARM_AWAY", "window-living", "triggered", ["burglary_perimeter"]),
        ("ARM_AWAY", "door-living", "triggered", ["burglary_interior"]),
        ("ARM_HOME", "door-front", "pending", []),
        ("ARM_HOME", "door-back", "triggered", ["burglary_perimeter"]),
        ("ARM_HOME", "door-living", "armed_home", []),
        ("ARM_NIGHT", "door-living", "triggered", ["burglary_interior"]),
        ("ARM_NIGHT", "window-bedroom", "triggered", ["burglary_perimeter"]),
    ],
)
def test_opening_per_mode(action: str, device: str, mode_after: str, reported: list[str]) -> None:
    panel = Panel(interior_site()).armed(action)
    actions = panel.open(device)
    assert panel.mode == mode_after
    assert kinds(actions) == reported


def test_nothing_alarms_while_disarmed_except_24h_zones() -> None:
    panel = Panel(interior_site())
    for device in ("door-front", "door-back", "window-living", "door-living", "intercom-front"):
        assert kinds(panel.open(device)) == []
    assert panel.mode == "disarmed"
