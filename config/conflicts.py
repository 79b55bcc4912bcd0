"""Cross-field rules (an id, zone, pin or name used twice) checked on the YAML tree itself.

Pydantic runs a model validator only after every field of the model passed, so a duplicate pin
would hide behind a typo elsewhere. These rules read the raw tree instead, tolerate fields of
the wrong type, and name every occurrence, so one run of ``wachter check`` reports everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Clash", "Loc", "receiver_clashes", "same_device_id", "site_clashes"]

Loc = tuple[int | str, ...]


@dataclass(frozen=True)
class Clash:
    """``what`` at ``loc`` was already used at ``first``; ``fix`` says what to do."""

    loc: Loc
    what: str
    fix: str
    first: Loc | None = None


def _items(data: Any, key: str) -> Iterator[tuple[int, Mapping[str, Any]]]:
    seq = data.get(key) if isinstance(data, Mapping) else None
    if isinstance(seq, list):
        for i, item in enumerate(seq):
            if isinstance(item, Mapping):
                yield i, item


def _scalar(value: Any) -> str | None:
    """A hashable key for a value that may be of the wrong type (those are reported elsewhere)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    return str(value)


def _twice(
    entries: Sequence[tuple[Loc, Any]], what: Callable[[str], str], fix: str, *, fold: bool = False,
    same: Callable[[str], str] = str,
) -> list[Clash]:
    """``same``: the form in which two values count as one (``fold``: regardless of case)."""
    first: dict[str, Loc] = {}
    out: list[Clash] = []
    for loc, value in entries:
        key = _scalar(value)
        if key is None:
            continue
        key = same(key.upper() if fold else key)
        if key in first:
            out.append(Clash(loc, what(str(value)), fix, first[key]))
        else:
            first[key] = loc
    return out


def same_device_id(device_id: str) -> str:
    """The form Home Assistant's entity ids give a device id (``agent/discovery.py``)."""
    return device_id.replace("-", "_")


def _pins(data: Any) -> list[tuple[Loc, Any]]:
    out: list[tuple[Loc, Any]] = []
    for i, device in _items(data, "devices"):
        gpio = device.get("gpio")
        if isinstance(gpio, Mapping):
            for key in ("pin", "tamper_pin", "led_pin"):
                if gpio.get(key) is not None:
                    out.append((("devices", i, "gpio", key), gpio[key]))
    return out


def _wired_and_zigbee(data: Any) -> list[Clash]:
    return [
        Clash(("devices", i, "zigbee"), "a device with both gpio and zigbee", "keep one of the two")
        for i, device in _items(data, "devices")
        if device.get("gpio") is not None and device.get("zigbee") is not None
    ]


def _zigbee_hold(data: Any) -> list[Clash]:
    return [
        Clash(("devices", i, "hold_ms"), "hold_ms on a Zigbee button",
              "set hold_ms: 0; a Zigbee SOS button does its own hold and reports only the press")
        for i, device in _items(data, "devices")
        if device.get("zigbee") is not None and device.get("hold_ms") not in (None, 0)
    ]


def site_clashes(data: Any) -> list[Clash]:
    devices = list(_items(data, "devices"))
    users = list(_items(data.get("panel") if isinstance(data, Mapping) else None, "users"))
    paths = list(_items(data.get("alarm_centre") if isinstance(data, Mapping) else None, "paths"))
    zigbee = [
        (("devices", i, "zigbee", "friendly_name"), d["zigbee"].get("friendly_name"))
        for i, d in devices
        if isinstance(d.get("zigbee"), Mapping)
    ]
    return [
        *_twice([(("devices", i, "id"), d.get("id")) for i, d in devices],
                lambda v: f"device id {v}", "give each device its own id (Home Assistant reads - as _,"
                " so door-front and door_front are one entity there)", same=same_device_id),
        *_twice([(("devices", i, "zone"), d.get("zone")) for i, d in devices],
                lambda v: f"zone {v}", "give each device its own zone number"),
        *_twice(_pins(data), lambda v: f"GPIO pin {v}", "give each input and output its own pin"),
        *_twice(zigbee, lambda v: f"Zigbee friendly name {v!r}", "one Wachter device per Zigbee device"),
        *_wired_and_zigbee(data),
        *_zigbee_hold(data),
        *_twice([(("panel", "users", i, "number"), u.get("number")) for i, u in users],
                lambda v: f"user number {v}", "give each user their own number"),
        *_twice([(("panel", "users", i, "name"), u.get("name")) for i, u in users],
                lambda v: f"user name {v!r}", "give each user their own name"),
        *_twice([(("alarm_centre", "paths", i, "name"), p.get("name")) for i, p in paths],
                lambda v: f"path name {v!r}", "name the paths primary and backup"),
    ]


def _account_zones(accounts: list[tuple[int, Mapping[str, Any]]]) -> list[Clash]:
    out: list[Clash] = []
    for i, account in accounts:
        zones = [(("accounts", i, "zones", j, "zone"), z.get("zone")) for j, z in _items(account, "zones")]
        out += _twice(zones, lambda v: f"zone {v}", "keep one entry per zone number")
    return out


def receiver_clashes(data: Any) -> list[Clash]:
    accounts = list(_items(data, "accounts"))
    listen = data.get("listen") if isinstance(data, Mapping) else None
    return [
        *_account_zones(accounts),
        *_twice([(("accounts", i, "account"), a.get("account")) for i, a in accounts],
                lambda v: f"account {v}", "keep one entry per account", fold=True),
        *_twice([(("listen", i), v) for i, v in enumerate(listen or []) if isinstance(listen, list)],
                lambda v: f"listen address {v}", "list each address once"),
    ]
