"""Home Assistant MQTT discovery: one HA device per Wachter device, via the panel's device.

Every entity reads what the agent or a driver already publishes (docs/home-assistant.md):

* the panel: ``alarm_control_panel`` (commands at QoS 1, the PIN checked by the agent), and an
  ``event`` entity for what a user must hear about (failed to arm, wrong code, lockout);
* each device: its main state (contact, smoke, panic, camera), tamper and battery as diagnostic
  entities from the panel's fault list, the intercom's doorbell and person as ``event``
  entities, a siren as a read-only ``siren``;
* availability: the agent's and the device's topic, both required.

A covert device (hold-up zone or silent panic button) gets no entity that reads its own topics:
its only entities are tamper and battery, from the panel's faults, so an active hold-up shows
nowhere in Home Assistant. Its name, model and area are still shown: name it discreetly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from config.site import Device, DeviceType, Site, ZoneType
from protocol import mqtt

__all__ = ["PANEL_EVENTS", "PREFIX", "covert", "discovery_messages", "read_topics", "unique_id"]

PREFIX = "homeassistant"
QOS = 1
# Panel notices a user acts on. Never "disarmed" or anything else a duress code could colour:
# a duress disarm emits exactly what a normal disarm does, and none of it is listed here.
PANEL_EVENTS = ("failed_to_arm", "bad_code", "lockout", "code_refused", "command_not_allowed",
                "no_code", "command_refused")
_MODEL = {
    DeviceType.CONTACT: "Door/window contact",
    DeviceType.PANIC: "Panic button",
    DeviceType.SMOKE: "Smoke detector",
    DeviceType.INTERCOM: "Video intercom",
    DeviceType.KEYPAD: "Keypad",
    DeviceType.SIREN: "Siren",
}
_MAIN: dict[DeviceType, tuple[str, str, str]] = {  # key, DeviceState field, device class
    DeviceType.CONTACT: ("contact", "contact", "door"),
    DeviceType.PANIC: ("panic", "pressed", "safety"),
    DeviceType.SMOKE: ("smoke", "smoke", "smoke"),
}
_ON_WHEN = {"contact": "v == 'open'", "pressed": "v", "smoke": "v", "camera": "v != 'ok'"}


def _slug(text: str) -> str:
    return text.replace("-", "_")


def unique_id(site: Site, device: Device | None = None, key: str | None = None) -> str:
    """``wachter_<site>[_<device>][_<key>]``: unique id, object id and device identifier alike."""
    parts = ["wachter", site.id, *([device.id] if device else []), *([key] if key else [])]
    return _slug("_".join(parts))


def covert(device: Device) -> bool:
    """A hold-up or silent panic device: nothing in Home Assistant may show it raised an alarm."""
    return device.effective_zone_type is ZoneType.HOLDUP or (device.type is DeviceType.PANIC
                                                             and device.silent)


@dataclass(frozen=True)
class _Entity:
    component: str
    uid: str
    config: dict[str, Any]

    def message(self) -> tuple[str, str]:
        topic = f"{PREFIX}/{self.component}/{self.uid}/config"
        # object_id names the entity up to HA 2025.9; default_entity_id from 2025.10 (object_id is
        # ignored from 2026.4); each release drops the key it does not know
        body = {"unique_id": self.uid, "object_id": self.uid,
                "default_entity_id": f"{self.component}.{self.uid}", "qos": QOS, **self.config}
        return topic, json.dumps(body, separators=(",", ":"))


def _panel_device(site: Site) -> dict[str, Any]:
    return {"identifiers": [unique_id(site)], "name": site.name, "manufacturer": "Wachter",
            "model": "Alarm panel (agent)"}


def _device(site: Site, device: Device) -> dict[str, Any]:
    link = "wired" if device.gpio else "Zigbee" if device.zigbee else ""
    info: dict[str, Any] = {
        "identifiers": [unique_id(site, device)], "name": device.name, "manufacturer": "Wachter",
        "model": f"{_MODEL[device.type]} ({link})" if link else _MODEL[device.type],
        "via_device": unique_id(site),
    }
    if area := suggested_area(device.location):
        info["suggested_area"] = area
    return info


def suggested_area(location: str) -> str:
    """The room of a location: "bedroom, beside the bed" -> "Bedroom"."""
    room = location.split(",")[0].strip()
    return room[:1].upper() + room[1:]


def _availability(site: Site, device: Device | None) -> dict[str, Any]:
    topics = [mqtt.panel_topic(site.id, mqtt.Channel.AVAILABILITY)]
    if device is not None:
        topics.append(mqtt.device_topic(site.id, device.id, mqtt.Channel.AVAILABILITY))
    return {"availability": [{"topic": t} for t in topics], "availability_mode": "all",
            "payload_available": mqtt.Availability.ONLINE.value,
            "payload_not_available": mqtt.Availability.OFFLINE.value}


def _names(site: Site) -> str:
    """A Jinja dict literal: device id -> name, to show names instead of ids in attributes."""
    return json.dumps({d.id: d.name for d in site.devices})


def _named(var: str, source: str) -> str:
    """Jinja that sets ``ns.<var>`` to the names of the device ids in ``source``."""
    return (f"{{% set ns.{var} = [] %}}{{% for i in {source} %}}"
            f"{{% set ns.{var} = ns.{var} + [names.get(i, i)] %}}{{% endfor %}}")


def _panel(site: Site) -> list[_Entity]:
    state = mqtt.panel_topic(site.id, mqtt.Channel.STATE)
    names = "{% set names = " + _names(site) + " %}{% set ns = namespace() %}"
    attributes = (names + _named("open", "value_json.open_zones") + _named("bypassed", "value_json.bypassed")
                  + "{{ {'changed_by_user': value_json.changed_by, 'open_zones': ns.open, "
                  "'bypassed': ns.bypassed, 'deadline': value_json.deadline} | to_json }}")
    panel = {
        "name": None,
        "state_topic": state,
        "value_template": "{{ value_json.state }}",
        "json_attributes_topic": state,
        "json_attributes_template": attributes,
        "command_topic": mqtt.panel_topic(site.id, mqtt.Channel.SET),
        "command_template": '{"v": 1, "action": {{ action | to_json }}, "code": {{ code | to_json }}}',
        "code": "REMOTE_CODE",  # Home Assistant asks for the PIN; the agent checks it
        "code_arm_required": True,
        "code_disarm_required": True,
        "supported_features": ["arm_home", "arm_away", "arm_night", "trigger"],
        "device": _panel_device(site),
        **_availability(site, None),
    }
    listed = ", ".join(f"'{e}'" for e in PANEL_EVENTS)
    events = {
        "name": "Warnings",
        "state_topic": mqtt.panel_topic(site.id, mqtt.Channel.EVENT),
        "event_types": list(PANEL_EVENTS),
        "value_template": (names + "{% if value_json.event in [" + listed + "] %}"
                           + _named("zones", "value_json.detail.get('zones', [])")
                           + "{% set d = dict(value_json.detail, event_type=value_json.event) %}"
                           "{% if ns.zones %}{% set d = dict(d, zones=ns.zones) %}{% endif %}"
                           "{{ d | to_json }}{% endif %}"),
        "icon": "mdi:shield-alert-outline",
        "device": _panel_device(site),
        **_availability(site, None),
    }
    return [_Entity("alarm_control_panel", unique_id(site), panel),
            _Entity("event", unique_id(site, key="warnings"), events)]


def _state_template(field: str) -> str:
    """ON/OFF from one DeviceState field; an absent field is unknown (``None``), never off."""
    return (f"{{% set v = value_json.get('{field}') %}}"
            f"{{{{ 'None' if v is none else ('ON' if {_ON_WHEN[field]} else 'OFF') }}}}")


def _fault_template(device: Device, trouble: str) -> str:
    return f"{{{{ 'ON' if '{device.id}:{trouble}' in value_json.faults else 'OFF' }}}}"


def _entities(site: Site, device: Device) -> Iterator[_Entity]:
    common = {"device": _device(site, device), **_availability(site, device)}
    state = mqtt.device_topic(site.id, device.id, mqtt.Channel.STATE)
    panel_state = mqtt.panel_topic(site.id, mqtt.Channel.STATE)
    main = _MAIN.get(device.type)
    if main is not None and not covert(device):
        key, field, device_class = main
        if device.type is DeviceType.CONTACT and "door" not in f"{device.id} {device.name}".lower():
            device_class = "window"
        yield _Entity("binary_sensor", unique_id(site, device, key), {
            "name": None, "device_class": device_class, "state_topic": state,
            "value_template": _state_template(field), **common})
    if device.type is DeviceType.INTERCOM:
        events = mqtt.device_topic(site.id, device.id, mqtt.Channel.EVENT)
        yield _Entity("event", unique_id(site, device, "doorbell"), {
            "name": "Doorbell", "device_class": "doorbell", "event_types": ["ring"],
            "state_topic": events,
            "value_template": "{% if value_json.type == 'doorbell' %}{\"event_type\": \"ring\"}{% endif %}",
            **common})
        yield _Entity("event", unique_id(site, device, "person"), {
            "name": "Person", "device_class": "motion", "event_types": ["person"],
            "state_topic": events,
            "value_template": ("{% if value_json.type == 'person' %}{{ {'event_type': 'person', "
                               "'score': value_json.get('score')} | to_json }}{% endif %}"),
            **common})
        yield _Entity("binary_sensor", unique_id(site, device, "camera"), {
            "name": "Camera", "device_class": "problem", "entity_category": "diagnostic",
            "state_topic": state, "value_template": _state_template("camera"), **common})
    if device.type is DeviceType.SIREN:
        # read-only: the panel alone sounds and silences it (trigger, or disarm with a code)
        yield _Entity("siren", unique_id(site, device, "siren"), {
            "name": None, "state_topic": panel_state,
            "state_value_template": "{{ 'ON' if value_json.get('sounder') else 'OFF' }}",
            "command_topic": mqtt.panel_topic(site.id, mqtt.Channel.SET),
            "command_template": "None", "command_off_template": "None",
            "support_duration": False, "support_volume_set": False, **common})
    for key, trouble, device_class in (("tamper", "tamper", "tamper"), ("battery", "battery_low", "battery")):
        yield _Entity("binary_sensor", unique_id(site, device, key), {
            "name": key.capitalize(), "device_class": device_class, "entity_category": "diagnostic",
            "state_topic": panel_state, "value_template": _fault_template(device, trouble),
            # a wired input has no battery: there for a wireless one, and to be enabled by hand
            **({"enabled_by_default": False} if key == "battery" and device.gpio else {}),
            **common})


def _retired(site: Site) -> list[str]:
    """Discovery topics of earlier versions (one HA device for all): emptied, so HA drops them."""
    old = [f"{PREFIX}/alarm_control_panel/wachter_{site.id}/config"]
    old += [f"{PREFIX}/binary_sensor/{_slug(f'wachter_{site.id}_{d.id}')}/config" for d in site.devices]
    return old


def _all(site: Site) -> list[_Entity]:
    return _panel(site) + [e for d in site.devices for e in _entities(site, d)]


def read_topics(site: Site) -> list[str]:
    """Every Wachter topic Home Assistant's entities subscribe to: all the ``ui`` account may read."""
    topics: dict[str, None] = {}
    for e in _all(site):
        for key in ("state_topic", "json_attributes_topic"):
            if key in e.config:
                topics[e.config[key]] = None
        topics.update((a["topic"], None) for a in e.config["availability"])
    return list(topics)


def discovery_messages(site: Site) -> list[tuple[str, str]]:
    """Retained (topic, payload) pairs: earlier versions' configs removed first, then every entity."""
    current = [e.message() for e in _all(site)]
    live = {topic for topic, _ in current}
    return [(topic, "") for topic in _retired(site) if topic not in live] + current
