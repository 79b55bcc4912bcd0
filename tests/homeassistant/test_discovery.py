"""The discovery payloads' invariants, without Home Assistant (test_home_assistant.py has HA)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent.discovery import PANEL_EVENTS, discovery_messages, read_topics
from config.loader import load_site

SITE = load_site(Path(__file__).resolve().parents[2] / "config" / "examples" / "site.yaml")
AGENT = "wachter/v1/demo-home/panel/availability"


def configs() -> list[dict[str, object]]:
    return [json.loads(p) for _, p in discovery_messages(SITE) if p]


def test_every_entity_commands_at_qos_1_and_follows_the_agent_and_its_device() -> None:
    for config in configs():
        assert config["qos"] == 1
        topics = [a["topic"] for a in config["availability"]]  # type: ignore[attr-defined]
        assert topics[0] == AGENT and config["availability_mode"] == "all"
        device = config["device"]["identifiers"][0]  # type: ignore[index]
        if device != "wachter_demo_home":  # a device's entities also follow the device
            assert len(topics) == 2 and topics[1].endswith("/availability"), config


def test_ids_are_one_style_and_unique() -> None:
    ids = [c["unique_id"] for c in configs()]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"wachter_demo_home(_[a-z0-9_]+)?", str(i)) for i in ids)
    assert all(c["object_id"] == c["unique_id"] for c in configs())


def test_no_entity_reads_a_covert_buttons_own_topics() -> None:
    reads = [t for t in read_topics(SITE) if "panic-bedroom" in t]
    assert reads == ["wachter/v1/demo-home/device/panic-bedroom/availability"]
    bedroom = [c for c in configs() if c["device"]["name"] == "Hold-up button bedroom"]  # type: ignore[index]
    assert sorted(str(c["name"]) for c in bedroom) == ["Battery", "Tamper"]
    assert "disarmed" not in PANEL_EVENTS  # a duress disarm must look like any disarm


def test_earlier_versions_configs_are_removed_before_the_new_ones() -> None:
    messages = discovery_messages(SITE)
    emptied = [t for t, p in messages if not p]
    assert "homeassistant/alarm_control_panel/wachter_demo-home/config" in emptied
    assert "homeassistant/binary_sensor/wachter_demo_home_door_front/config" in emptied
    assert messages[: len(emptied)] == [(t, "") for t in emptied]
    assert not set(emptied) & {t for t, p in messages if p}
