"""Home Assistant MQTT discovery: the panel as an ``alarm_control_panel``, devices as sensors."""

from __future__ import annotations

import json

from config.site import Device, DeviceType, Site
from protocol import mqtt

__all__ = ["discovery_messages"]

PREFIX = "homeassistant"

_SENSOR: dict[DeviceType, tuple[str, str]] = {  # device_class, value template
    DeviceType.CONTACT: ("door", "{{ 'ON' if value_json.contact == 'open' else 'OFF' }}"),
    DeviceType.PANIC: ("safety", "{{ 'ON' if value_json.pressed else 'OFF' }}"),
    DeviceType.SMOKE: ("smoke", "{{ 'ON' if value_json.smoke else 'OFF' }}"),
    DeviceType.INTERCOM: ("problem", "{{ 'OFF' if value_json.camera in (None, 'ok') else 'ON' }}"),
}


def _device_info(site: Site) -> dict[str, object]:
    return {"identifiers": [f"wachter_{site.id}"], "name": site.name, "manufacturer": "Wachter"}


def _panel(site: Site) -> tuple[str, str]:
    config = {
        "name": None,
        "unique_id": f"wachter_{site.id}_panel",
        "object_id": f"wachter_{site.id}",
        "state_topic": mqtt.panel_topic(site.id, mqtt.Channel.STATE),
        "value_template": "{{ value_json.state }}",
        "json_attributes_topic": mqtt.panel_topic(site.id, mqtt.Channel.STATE),
        "command_topic": mqtt.panel_topic(site.id, mqtt.Channel.SET),
        "command_template": '{"v": 1, "action": "{{ action }}", "code": "{{ code }}"}',
        "code": "REMOTE_CODE",
        "code_arm_required": True,
        "code_disarm_required": True,
        "supported_features": ["arm_home", "arm_away", "arm_night", "trigger"],
        "availability_topic": mqtt.panel_topic(site.id, mqtt.Channel.AVAILABILITY),
        "device": _device_info(site),
    }
    return f"{PREFIX}/alarm_control_panel/wachter_{site.id}/config", json.dumps(config)


def _sensor(site: Site, device: Device) -> tuple[str, str] | None:
    known = _SENSOR.get(device.type)
    if known is None:
        return None
    device_class, template = known
    if device.type is DeviceType.CONTACT and not device.id.startswith("door"):
        device_class = "window"
    uid = f"wachter_{site.id}_{device.id}".replace("-", "_")
    config = {
        "name": device.name,
        "unique_id": uid,
        "device_class": device_class,
        "state_topic": mqtt.device_topic(site.id, device.id, mqtt.Channel.STATE),
        "value_template": template,
        "availability_topic": mqtt.device_topic(site.id, device.id, mqtt.Channel.AVAILABILITY),
        "device": _device_info(site),
    }
    return f"{PREFIX}/binary_sensor/{uid}/config", json.dumps(config)


def discovery_messages(site: Site) -> list[tuple[str, str]]:
    """Retained (topic, payload) pairs that make the panel and every device show up."""
    messages = [_panel(site)]
    messages += [m for d in site.devices if (m := _sensor(site, d)) is not None]
    return messages
