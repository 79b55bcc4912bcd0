"""Security profiles ``basis``, ``verhoogd``, ``hoog``: defaults scaled to the official's risk.

A profile fills in every timing and policy field the site file leaves out; anything written in
the file wins (pydantic's ``model_fields_set`` tells the two apart). Numbers and their sources
(shared/reference/standards.md; UNVERIFIED there means "commonly quoted, check the paid text"):

* Link polling. The receiver declares a path lost when a poll is later than
  ``poll_interval + poll_grace`` (30 s by default), so the reporting time of a path is
  ``poll + 30 s``. Each profile aims its primary path at an EN 50136-1 ATS category (A5) and its
  backup path one category lower:
  basis -> SP3 (30 min): 10 min / 20 min;
  verhoogd -> SP4 (180 s; Ajax's EN 50131 grade-3 "< 180 s", A2): 90 s / 180 s;
  hoog -> SP5/DP4 (90 s primary, weak source): 60 s / 90 s.
  SP2's 25 h was rejected even for ``basis``: a cut line to an official's home would go unnoticed
  for a day.
* Device supervision (offline grace before "device lost"): all far below the 2 h that grade 2
  allows for wireless detectors (A2, Climax); ``verhoogd`` keeps the agent's built-in grace
  (agent/panel/trouble.py), ``basis`` allows longer driver restarts, ``hoog`` halves it.
* Verification window (sequential confirmation, B5/B6): basis 5 min, the Dutch police's "several
  zones within 5 min" pattern; verhoogd 30 min and hoog 60 min, DD 243's 30-60 min range, so a
  second detector confirms more readily as the threat grows.
* Evidence and reporting: higher profiles take more snapshots on more triggers, and send
  set/unset (CLC/TS 50131-9 allows "all set/unset events" or "abort"; we send both) and
  bypasses. Alarms, hold-up, duress, fire, tamper and faults always go to the alarm centre.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from pydantic import BaseModel

from config.site import Device, DeviceType, Evidence, Site

__all__ = ["PROFILES", "Profile", "ProfileName", "effective", "origins"]

ProfileName = Literal["basis", "verhoogd", "hoog"]
Report = Literal["open_close", "bypass", "doorbell"]

_S = timedelta(seconds=1)
_M = timedelta(minutes=1)


@dataclass(frozen=True)
class Profile:
    name: ProfileName
    ats_category: str  # what the primary path aims at (EN 50136-1)
    poll_primary: timedelta
    poll_backup: timedelta
    supervision: dict[DeviceType, timedelta]
    confirmation_window: timedelta
    evidence: Evidence
    also_send: list[Report]

    @property
    def reporting_time(self) -> timedelta:
        """Worst case until the receiver sees the primary path lost (poll + default grace)."""
        return self.poll_primary + 30 * _S


def _grace(contact: timedelta, panic: timedelta, intercom: timedelta) -> dict[DeviceType, timedelta]:
    return {
        DeviceType.CONTACT: contact,
        DeviceType.SMOKE: contact,
        DeviceType.KEYPAD: contact,
        DeviceType.PANIC: panic,
        DeviceType.SIREN: panic,
        DeviceType.INTERCOM: intercom,
    }


PROFILES: dict[ProfileName, Profile] = {
    "basis": Profile(
        name="basis",
        ats_category="SP3",
        poll_primary=10 * _M,
        poll_backup=20 * _M,
        supervision=_grace(15 * _M, 5 * _M, 2 * _M),
        confirmation_window=5 * _M,
        evidence=Evidence(snapshot_on=["burglary", "panic"], frames=1, interval=_S),
        also_send=[],
    ),
    "verhoogd": Profile(
        name="verhoogd",
        ats_category="SP4",
        poll_primary=90 * _S,
        poll_backup=180 * _S,
        supervision=_grace(5 * _M, 2 * _M, 60 * _S),
        confirmation_window=30 * _M,
        evidence=Evidence(snapshot_on=["burglary", "panic", "tamper"], frames=3, interval=_S),
        also_send=["open_close", "bypass"],
    ),
    "hoog": Profile(
        name="hoog",
        ats_category="SP5/DP4",
        poll_primary=60 * _S,
        poll_backup=90 * _S,
        supervision=_grace(2 * _M, 60 * _S, 30 * _S),
        confirmation_window=60 * _M,
        evidence=Evidence(
            snapshot_on=["burglary", "panic", "tamper", "fire", "doorbell"], frames=5, interval=_S
        ),
        also_send=["open_close", "bypass", "doorbell"],
    ),
}


def _fill(model: BaseModel, defaults: dict[str, Any]) -> Any:
    """``model`` with the fields it did not set explicitly taken from ``defaults``."""
    missing = {k: v for k, v in defaults.items() if k not in model.model_fields_set}
    return model.model_copy(update=missing) if missing else model


def effective(site: Site) -> Site:
    """The site as the services run it: its profile's defaults under its explicit settings."""
    p = PROFILES[site.profile]
    centre = site.alarm_centre
    paths = [
        _fill(path, {"poll_interval": p.poll_primary if i == 0 else p.poll_backup})
        for i, path in enumerate(centre.paths)
    ]
    devices: list[Device] = [_fill(d, {"supervision": p.supervision[d.type]}) for d in site.devices]
    evidence = p.evidence if "evidence" not in site.model_fields_set else _fill(
        site.evidence, {k: getattr(p.evidence, k) for k in Evidence.model_fields}
    )
    return site.model_copy(
        update={
            "alarm_centre": _fill(centre, {"also_send": list(p.also_send)}).model_copy(
                update={"paths": paths}
            ),
            "panel": _fill(site.panel, {"confirmation_window": p.confirmation_window}),
            "devices": devices,
            "evidence": evidence,
        }
    )


def origins(site: Site) -> list[tuple[str, str, bool]]:
    """``(field, value, explicit)`` for every field a profile governs, for ``wachter check``."""
    eff = effective(site)
    out: list[tuple[str, str, bool]] = []

    def add(field: str, value: object, explicit: bool) -> None:
        text = f"{value.total_seconds():g}s" if isinstance(value, timedelta) else str(value)
        out.append((field, text, explicit))

    for i, (raw, path) in enumerate(zip(site.alarm_centre.paths, eff.alarm_centre.paths, strict=True)):
        add(f"alarm_centre.paths[{i}].poll_interval", path.poll_interval,
            "poll_interval" in raw.model_fields_set)
    add("alarm_centre.also_send", eff.alarm_centre.also_send,
        "also_send" in site.alarm_centre.model_fields_set)
    add("panel.confirmation_window", eff.panel.confirmation_window,
        "confirmation_window" in site.panel.model_fields_set)
    for i, (raw_d, d) in enumerate(zip(site.devices, eff.devices, strict=True)):
        add(f"devices[{i}].supervision ({d.id})", d.supervision, "supervision" in raw_d.model_fields_set)
    explicit_ev = site.evidence.model_fields_set if "evidence" in site.model_fields_set else set()
    for key in Evidence.model_fields:
        add(f"evidence.{key}", getattr(eff.evidence, key), key in explicit_ev)
    return out
