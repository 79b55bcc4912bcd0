"""Issue 16: Wachter as a Home Assistant user sees it, in a REAL Home Assistant.

HA (the pinned release in requirements.txt, in .venv-ha) runs once for this module with the MQTT
integration added through its own config flow; each test starts Wachter's receiver, agent and
simulator on the same mosquitto and drives HA through its REST API, as the frontend does.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from protocol import mqtt
from tests.e2e.stack import Stack, running_stack
from tests.homeassistant.conftest import Broker
from tests.homeassistant.hass import HomeAssistant

pytestmark = [pytest.mark.broker, pytest.mark.homeassistant, pytest.mark.timeout(240)]

SITE = "demo-home"
PANEL = "alarm_control_panel.wachter_demo_home"
WARNINGS = "event.wachter_demo_home_warnings"
HOLDUP = "panic_bedroom"  # the silent hold-up button's part of every entity id


def entity(device: str, key: str, domain: str = "binary_sensor") -> str:
    return f"{domain}.wachter_demo_home_{device.replace('-', '_')}_{key}"


async def ready(ha: HomeAssistant) -> None:
    """The agent is up and HA has read its panel state."""
    await ha.wait_state(PANEL, "disarmed")


async def panel_call(ha: HomeAssistant, service: str, code: str | None = None) -> None:
    data: dict[str, Any] = {"entity_id": PANEL} | ({"code": code} if code is not None else {})
    await ha.call("alarm_control_panel", service, **data)


async def next_warning(ha: HomeAssistant, after: str | None, event_type: str) -> dict[str, Any]:
    """The warnings entity's next event (its state is the time of the last event)."""
    async def check() -> dict[str, Any] | None:
        state = await ha.state(WARNINGS)
        fresh = state is not None and state["state"] not in ("unknown", after)
        return state if fresh and state["attributes"]["event_type"] == event_type else None

    return await ha.until(check, f"a {event_type} warning")


async def warning_time(ha: HomeAssistant) -> str | None:
    state = await ha.state(WARNINGS)
    return state["state"] if state else None


async def test_one_device_per_wachter_device_with_readable_names(
        tmp_path: Path, ha_broker: Broker, ha: HomeAssistant) -> None:
    async with running_stack(tmp_path, ha_broker.url):
        await ready(ha)
        await ha.wait_state(entity("intercom-front", "camera"), "off")
        states = await ha.states()
    ours = {e for e in states if "wachter" in e}
    devices = ["door-front", "door-back", "window-living", "window-bedroom", "window-study",
               "panic-hall", "panic-bedroom", "smoke-hall", "keypad-hall", "siren-hall", "intercom-front"]
    expected = {PANEL, WARNINGS, *(entity(d, "tamper") for d in devices),
                *(entity(d, "contact") for d in devices if d.startswith(("door", "window"))),
                entity("panic-hall", "panic"), entity("smoke-hall", "smoke"),
                entity("intercom-front", "camera"),
                entity("intercom-front", "doorbell", "event"), entity("intercom-front", "person", "event"),
                entity("siren-hall", "siren", "siren"),
                # batteries where a device can have one; a wired (GPIO) input's is disabled
                *(entity(d, "battery") for d in ("smoke-hall", "keypad-hall", "intercom-front"))}
    assert ours == expected
    assert not any(HOLDUP in e for e in ours - {entity("panic-bedroom", "tamper")})

    attrs = states[entity("door-front", "contact")]["attributes"]
    assert attrs["friendly_name"] == "Front door" and attrs["device_class"] == "door"
    assert states[entity("window-living", "contact")]["attributes"]["device_class"] == "window"
    assert states[entity("door-front", "tamper")]["attributes"]["friendly_name"] == "Front door Tamper"
    assert states[PANEL]["attributes"]["friendly_name"] == "Woning burgemeester (demo)"
    assert not {"v", "ts"} & set(states[PANEL]["attributes"])

    # one HA device per Wachter device: model, area from its location, behind the panel
    template = ("{% set d = device_id('" + entity("window-living", "contact") + "') %}"
                "{{ [device_attr(d, 'name'), device_attr(d, 'model'), device_attr(d, 'manufacturer'),"
                " area_name(d), device_attr(device_attr(d, 'via_device_id'), 'name'),"
                " device_id('" + entity("window-living", "tamper") + "') == d,"
                " device_id('" + PANEL + "') == d] | to_json }}")
    name, model, maker, area, via, same, panel_same = json.loads(await ha.template(template))
    assert (name, model, maker) == ("Living room window", "Door/window contact (wired)", "Wachter")
    assert area.lower() == "living room"  # onboarding made "Living Room": HA matched it
    assert via == "Woning burgemeester (demo)"
    assert same and not panel_same
    diagnostic = await ha.template(
        "{{ device_entities(device_id('" + entity("smoke-hall", "smoke") + "')) | sort | to_json }}")
    assert json.loads(diagnostic) == sorted(entity("smoke-hall", k) for k in ("battery", "smoke", "tamper"))


async def test_unknown_is_unknown_not_off(tmp_path: Path, ha_broker: Broker, ha: HomeAssistant) -> None:
    async with running_stack(tmp_path, ha_broker.url):
        await ready(ha)
        window = entity("window-study", "contact")
        await ha.wait_state(window, "off")
        # a driver that has not read the pin yet: the retained state has no ``contact``
        async with aiomqtt.Client("127.0.0.1", ha_broker.port) as client:
            state = mqtt.DeviceState(device="window-study", tamper=False)
            await client.publish(mqtt.device_topic(SITE, "window-study", mqtt.Channel.STATE),
                                 state.model_dump_json(exclude_none=True), qos=1, retain=True)
        await ha.wait_state(window, "unknown")


async def test_arm_and_disarm_with_a_code_show_who_and_warn_on_a_wrong_code(
        tmp_path: Path, ha_broker: Broker, ha: HomeAssistant) -> None:
    commands = aiomqtt.Client("127.0.0.1", ha_broker.port)
    async with running_stack(tmp_path, ha_broker.url) as stack, \
            watching(commands, mqtt.panel_topic(SITE, mqtt.Channel.SET)) as sent:
        await ready(ha)
        await panel_call(ha, "alarm_arm_home", "1234")
        armed = await ha.wait_state(PANEL, "armed_home")
        assert armed["attributes"]["changed_by_user"] == "resident"
        await ha.until(lambda: _some(sent), "the arm command on the broker")
        assert all(qos == 1 for _, qos in sent), "HA must send commands at QoS 1"

        before = await warning_time(ha)
        await panel_call(ha, "alarm_disarm", "0000")
        wrong = await next_warning(ha, before, "bad_code")
        assert wrong["attributes"]["action"] == "DISARM" and wrong["attributes"]["attempts"] == 1
        assert (await ha.state(PANEL) or {})["state"] == "armed_home"

        await panel_call(ha, "alarm_disarm", "2468")
        disarmed = await ha.wait_state(PANEL, "disarmed")
        assert disarmed["attributes"]["changed_by_user"] == "partner"

        # a window open: arming fails, and HA hears which zone, by name
        await stack.act("window-living", "open")
        await ha.wait_state(entity("window-living", "contact"), "on")
        before = await warning_time(ha)
        await panel_call(ha, "alarm_arm_away", "1234")
        failed = await next_warning(ha, before, "failed_to_arm")
        assert failed["attributes"]["zones"] == ["Living room window"]
        assert failed["attributes"]["mode"] == "armed_away"
        await stack.act("window-living", "close")
        await ha.wait_state(entity("window-living", "contact"), "off")


async def test_a_duress_disarm_looks_exactly_like_a_normal_one(
        tmp_path: Path, ha_broker: Broker, ha: HomeAssistant) -> None:
    async with running_stack(tmp_path, ha_broker.url) as stack:
        await ready(ha)
        normal = await arm_and_disarm(ha, stack, "1234")
        start = datetime.now(UTC)
        duress = await arm_and_disarm(ha, stack, "9999")
        await stack.wait_event("HA", timeout=10)  # the alarm centre got the duress report
        assert duress["attributes"] == normal["attributes"]
        assert (await ha.state(WARNINGS) or {}).get("state") == normal["warnings"]
        book = await ha.logbook(start - timedelta(seconds=1))
        texts = [json.dumps(e) for e in book if e.get("entity_id") == PANEL]
        assert texts and not any("duress" in t.lower() for t in texts)


async def arm_and_disarm(ha: HomeAssistant, stack: Stack, code: str) -> dict[str, Any]:
    await panel_call(ha, "alarm_arm_home", "1234")
    await ha.wait_state(PANEL, "armed_home")
    await panel_call(ha, "alarm_disarm", code)
    state = await ha.wait_state(PANEL, "disarmed")
    await stack.wait_outbox_empty(timeout=10)
    return {"attributes": state["attributes"], "warnings": await warning_time(ha)}


async def test_a_silent_holdup_shows_nowhere_in_home_assistant(
        tmp_path: Path, ha_broker: Broker, ha: HomeAssistant) -> None:
    study = mqtt.device_topic(SITE, "window-study", mqtt.Channel.STATE)
    async with running_stack(tmp_path, ha_broker.url) as stack, \
            watching(ha_broker.ui_client(), f"{mqtt.ROOT}/#") as ui_seen:
        await ready(ha)
        before = {e: s["state"] for e, s in (await ha.states()).items() if "wachter" in e}
        start = datetime.now(UTC)
        await stack.act("panic-bedroom", "press")
        holdup = await stack.wait_event("HA", timeout=10)  # the hold-up reached the alarm centre
        assert int(holdup.zone or 0) == 1
        await stack.act("panic-bedroom", "release")
        # proof HA processed what came after: a visible change from the same simulator
        await stack.act("window-study", "open")
        await ha.wait_state(entity("window-study", "contact"), "on")
        await ha.until(lambda: _some([t for t, _ in ui_seen if t == study]), "the study window for HA")
        # HA's MQTT account cannot even read the button's own topics, commands or snapshots
        leaks = [t for t, _ in ui_seen if ("panic-bedroom" in t and not t.endswith("/availability"))
                 or t.endswith(("/set", "/snapshot", "/confirm"))]
        assert not leaks, leaks
        after = {e: s for e, s in (await ha.states()).items() if "wachter" in e}
        changed = {e for e, s in after.items() if s["state"] != before.get(e)}
        assert changed == {entity("window-study", "contact")}
        assert after[PANEL]["state"] == "disarmed"
        assert "holdup" not in json.dumps(after[PANEL]).lower()

        history = await ha.history(start, sorted(after))
        moved = {rows[0]["entity_id"] for rows in history if len(rows) > 1}
        assert moved <= {entity("window-study", "contact")}, moved
        book = await ha.logbook(start)
        assert book, "the logbook shows the window, so it was read"
        assert not any(HOLDUP in json.dumps(e) or "hold" in json.dumps(e).lower() for e in book), book
        await stack.act("window-study", "close")
        await ha.wait_state(entity("window-study", "contact"), "off")


async def test_tamper_battery_doorbell_and_siren(
        tmp_path: Path, ha_broker: Broker, ha: HomeAssistant) -> None:
    async with running_stack(tmp_path, ha_broker.url) as stack:
        await ready(ha)
        await stack.act("door-front", "tamper")
        tamper = await ha.wait_state(entity("door-front", "tamper"), "on")
        assert tamper["attributes"]["device_class"] == "tamper"
        await stack.act("door-front", "tamper_restore")
        await ha.wait_state(entity("door-front", "tamper"), "off")
        # a covert button's tamper is a trouble like any other: shown, and not an alarm
        await stack.act("panic-bedroom", "tamper")
        await ha.wait_state(entity("panic-bedroom", "tamper"), "on")
        await stack.act("panic-bedroom", "tamper_restore")
        await ha.wait_state(entity("panic-bedroom", "tamper"), "off")

        await stack.act("smoke-hall", "battery_low")
        await ha.wait_state(entity("smoke-hall", "battery"), "on")
        await stack.act("smoke-hall", "battery_ok")
        await ha.wait_state(entity("smoke-hall", "battery"), "off")

        await stack.act("intercom-front", "doorbell")
        ring = await ha.until(lambda: _event(ha, entity("intercom-front", "doorbell", "event")), "a ring")
        assert ring["attributes"]["event_type"] == "ring"
        await stack.act("intercom-front", "person")
        person = await ha.until(lambda: _event(ha, entity("intercom-front", "person", "event")), "a person")
        assert person["attributes"]["event_type"] == "person" and person["attributes"]["score"] == 0.9

        siren = entity("siren-hall", "siren", "siren")
        await ha.wait_state(siren, "off")
        await panel_call(ha, "alarm_trigger", "1234")  # a manual panic: the siren sounds
        await ha.wait_state(PANEL, "triggered")
        await ha.wait_state(siren, "on")
        await panel_call(ha, "alarm_disarm", "1234")
        await ha.wait_state(siren, "off")


async def _some(items: list[Any]) -> list[Any] | None:
    return items or None


async def _event(ha: HomeAssistant, entity_id: str) -> dict[str, Any] | None:
    state = await ha.state(entity_id)
    return state if state is not None and state["state"] not in ("unknown", "unavailable") else None


async def test_entities_follow_the_agent_and_their_device(
        tmp_path: Path, ha_broker: Broker, ha: HomeAssistant) -> None:
    watched = [PANEL, entity("door-front", "contact"), entity("window-study", "tamper"), WARNINGS]
    async with running_stack(tmp_path, ha_broker.url) as stack:
        await ready(ha)
        await stack.act("window-study", "offline")
        await ha.wait_state(entity("window-study", "contact"), "unavailable")
        await ha.wait_state(entity("window-study", "tamper"), "unavailable")
        assert (await ha.state(entity("door-front", "contact")) or {})["state"] == "off"
        await stack.act("window-study", "online")
        await ha.wait_state(entity("window-study", "contact"), "off")
    for entity_id in watched:  # the agent stopped: everything it stands behind goes unavailable
        await ha.wait_state(entity_id, "unavailable")
    async with running_stack(tmp_path / "again", ha_broker.url):
        await ready(ha)
        await ha.wait_state(entity("door-front", "contact"), "off")


@contextlib.asynccontextmanager
async def watching(client: aiomqtt.Client, topic: str) -> AsyncIterator[list[tuple[str, int]]]:
    """(topic, QoS) of what ``client`` receives on ``topic`` (subscribed at QoS 1) in the block."""
    seen: list[tuple[str, int]] = []
    async with client:
        await client.subscribe(topic, qos=1)

        async def collect() -> None:
            async for message in client.messages:
                seen.append((message.topic.value, message.qos))

        task = asyncio.create_task(collect())
        try:
            yield seen
        finally:
            task.cancel()


CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--no-first-run"]
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def test_the_frontend_shows_rooms_devices_and_diagnostics(
        tmp_path: Path, ha_broker: Broker, ha: HomeAssistant) -> None:
    """What the resident sees in HA's own frontend (screenshots for docs/home-assistant.md)."""
    from playwright.async_api import async_playwright, expect

    hass = ha.hass
    tokens = {"hassUrl": hass.url, "clientId": f"{hass.url}/", "refresh_token": hass.refresh_token,
              "access_token": hass.token, "token_type": "Bearer", "expires_in": 1800,
              "expires": int(datetime.now(UTC).timestamp() * 1000) + 1_700_000}
    login = f"localStorage.setItem('hassTokens', {json.dumps(json.dumps(tokens))});"
    async with running_stack(tmp_path, ha_broker.url) as stack, async_playwright() as pw:
        await ready(ha)
        await ha.wait_state(entity("door-front", "tamper"), "off")
        front_door = await ha.template("{{ device_id('" + entity("door-front", "contact") + "') }}")
        panel = await ha.template("{{ device_id('" + PANEL + "') }}")
        await stack.act("window-living", "open")
        await ha.wait_state(entity("window-living", "contact"), "on")
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 900})
            await page.add_init_script(login)
            shots = {
                "ha-overview": ("/lovelace/0", "Front door"),
                "ha-device-front-door": (f"/config/devices/device/{front_door}", "Tamper"),
                "ha-device-panel": (f"/config/devices/device/{panel}", "Warnings"),
            }
            for name, (path, text) in shots.items():
                await page.goto(hass.url + path)
                await expect(page.get_by_text(text).first).to_be_visible(timeout=30_000)
                await page.wait_for_timeout(1000)  # let cards finish their transitions
                shot = tmp_path / f"{name}.png"
                await page.screenshot(path=str(shot))
                if os.environ.get("WACHTER_SCREENSHOTS"):
                    shutil.copy(shot, DOCS / shot.name)
        finally:
            await browser.close()
        await stack.act("window-living", "close")


async def test_last_home_assistant_logged_no_complaint_about_wachter(ha: HomeAssistant) -> None:
    """Runs last: a rejected discovery config, a template error, an unknown event type or a
    payload HA could not read would each have left a warning in HA's log by now."""
    complaints = [line for line in ha.hass.log().splitlines()
                  if (" WARNING " in line or " ERROR " in line) and "homeassistant.bootstrap" not in line]
    assert not complaints, "\n".join(complaints)
