"""The shell's part of a walk test: the installer's report once the core has ended it.

The test itself (start, ticking devices off, the time limit, panic and hold-up still alarming)
is pure and lives in ``agent/panel/walktest.py``; here the link test to each path and the
JSON-ready outcome the ``wachter walktest`` CLI turns into the commissioning report.
"""

from __future__ import annotations

from agent.panel import PointResult, WalkTestEnded
from config.site import Site

__all__ = ["outcome"]


def outcome(site: Site, ended: WalkTestEnded, links: dict[str, float | None]) -> dict[str, object]:
    """Every device with its result, why the test ended, and the link round trips in ms."""
    test = ended.test
    devices = []
    for d in site.devices:
        p = test.points.get(d.id, PointResult())
        devices.append({
            "id": d.id, "name": d.name, "type": d.type.value, "zone": d.zone, "location": d.location,
            "tested": p.triggered is not None,
            "triggered": p.triggered.isoformat() if p.triggered else None,
            "tamper": p.tamper.isoformat() if p.tamper else None,
            "battery_low": p.battery_low,
        })
    return {"site": site.id, "started": test.started.isoformat(), "by": test.by,
            "reason": ended.reason, "devices": devices, "links_ms": links}
