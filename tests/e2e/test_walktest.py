"""Issue 9's walk test through the simulator: test events (not alarms) and a full report."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest

from agent.walktest_cli import run_walktest, write_report
from config.site import DeviceType, Site
from protocol import mqtt
from protocol.mqtt_client import bounded
from tests.broker import Mosquitto
from tests.e2e.stack import running_stack

pytestmark = pytest.mark.broker

ACTION = {DeviceType.CONTACT: "open", DeviceType.PANIC: "press", DeviceType.SMOKE: "smoke",
          DeviceType.INTERCOM: "doorbell", DeviceType.KEYPAD: "tamper", DeviceType.SIREN: "tamper"}
RESTORE = {"open": "close", "press": "release", "smoke": "smoke_clear", "tamper": "tamper_restore"}


async def test_walk_test_ticks_off_every_device_and_reports_it(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        site = stack.agent.site
        seen: list[str] = []

        async def installer() -> None:
            while "walk_test_started" not in seen:
                await asyncio.sleep(0.05)
            for device in site.devices:  # trigger each device, then put it back as it was
                await stack.act(device.id, ACTION[device.type])
                if ACTION[device.type] in RESTORE:
                    await stack.act(device.id, RESTORE[ACTION[device.type]])
                if device.gpio and device.gpio.tamper_pin is not None:
                    await stack.act(device.id, "tamper")
                    await stack.act(device.id, "tamper_restore")

        async with asyncio.TaskGroup() as tg:
            tg.create_task(installer())
            outcome = await run_walktest(site, mosquitto.url, "4321", timeout=20,
                                         progress=lambda event, _detail: seen.append(event))
        devices = {d["id"]: d for d in outcome["devices"]}  # type: ignore[union-attr]
        assert set(devices) == {d.id for d in site.devices}
        assert all(d["tested"] for d in devices.values()), devices
        assert devices["door-front"]["tamper"] is not None
        assert outcome["links_ms"]["primary"] is not None  # type: ignore[index]
        json_path, html_path = write_report(outcome, tmp_path / "report")
        assert "NOT TESTED" not in html_path.read_text()
        assert json.loads(json_path.read_text())["site"] == "demo-home"
        assert oct(json_path.stat().st_mode)[-3:] == "600"
        await stack.wait_outbox_empty(timeout=3)
        codes = [e.code for e in await stack.receiver.store.events()]
        # test start, one point per device, test end; panic and hold-up buttons alarm all the
        # same (they always do), nothing else does
        assert codes[0] == "TS" and codes[-1] == "TE"
        assert codes.count("TP") == len(site.devices)
        assert sorted(c for c in codes if c in {"PA", "HA", "BA", "FA", "TA"}) == ["HA", "PA"]


async def test_walk_test_needs_an_installer_code(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        with pytest.raises(PermissionError, match="needs an admin code"):
            await run_walktest(stack.agent.site, mosquitto.url, "1234", timeout=5)


async def test_a_changed_security_profile_is_reported_to_the_centre(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        site = stack.agent.site
        await stack.wait_outbox_empty()
        assert await stack.receiver.store.events(code="YG") == []
    assert site.profile == "verhoogd"
    raise_profile = lambda s: s.model_copy(update={"profile": "hoog"})  # noqa: E731
    async with running_stack(tmp_path, mosquitto.url, tweak=raise_profile) as stack:
        event = await stack.wait_event("YG", timeout=3)
        assert ["I", "security profile verhoogd -> hoog"] in [[x["id"], x["value"]] for x in event.extended]


async def _panel_command(broker_url: str, site: str, action: str, code: str) -> None:
    url = urlsplit(broker_url)
    client = aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883, timeout=5)
    async with bounded(client):
        cmd = mqtt.PanelCommand.model_validate({"action": action, "code": code})
        await client.publish(mqtt.panel_topic(site, mqtt.Channel.SET), cmd.model_dump_json(), qos=1)


async def _until(condition: Callable[[], bool], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


def _since_reconnect(records: list[logging.LogRecord]) -> str:
    """What the agent logged after it connected for the second time."""
    connects = [i for i, r in enumerate(records) if r.getMessage().startswith("agent connected")]
    return "\n".join(r.getMessage() for r in records[connects[1]:]) if len(connects) > 1 else ""


async def test_a_reconnect_during_the_walk_test_turns_no_trigger_into_an_alarm(
    tmp_path: Path, mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """The retained states show the installer's triggers, which went to the test and not to the
    panel: a resume after a broker outage must not replay them as alarms. The end of the test
    catches the panel up, so a device still tampered with is reported then, after TE."""
    caplog.set_level(logging.INFO, logger="agent")
    async with running_stack(tmp_path, mosquitto.url) as stack:
        agent, site_id = stack.agent, stack.agent.site.id
        await _panel_command(mosquitto.url, site_id, "WALK_TEST_START", "4321")
        await _until(lambda: agent.state.walktest is not None)
        await stack.act("door-front", "tamper")  # and left so: the retained state says tamper
        await _until(lambda: agent.state.walktest is not None
                     and agent.state.walktest.points["door-front"].tamper is not None)
        await asyncio.to_thread(mosquitto.restart)  # retained states survive (persistence)
        async with asyncio.timeout(20):  # until the agent's resume after reconnecting has run
            while "resume deferred" not in _since_reconnect(caplog.records):
                assert await stack.receiver.store.events(code="TA") == []
                await asyncio.sleep(0.05)
        await _panel_command(mosquitto.url, site_id, "WALK_TEST_END", "4321")
        await stack.wait_event("TA", timeout=5)
        await stack.wait_outbox_empty(timeout=3)
        assert [e.code for e in await stack.receiver.store.events()] == ["TS", "TE", "TA"]


async def test_a_panic_right_after_the_walk_test_is_not_held_up_by_its_link_test(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """Ending a walk test tests the link to each path; a path that does not answer makes that
    take seconds. A panic pressed meanwhile must reach the centre at once all the same."""
    import socket
    from datetime import timedelta

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as dead:  # a UDP port nobody answers on
        dead.bind(("127.0.0.1", 0))
        dead_port = dead.getsockname()[1]

        def silent_backup(site: Site) -> Site:
            primary, backup = site.alarm_centre.paths
            backup = backup.model_copy(update={"url": f"udp://127.0.0.1:{dead_port}",
                                               "ack_timeout": timedelta(seconds=4), "retries": 0})
            centre = site.alarm_centre.model_copy(update={"paths": [primary, backup]})
            return site.model_copy(update={"alarm_centre": centre})

        async with running_stack(tmp_path, mosquitto.url, tweak=silent_backup) as stack:
            done = asyncio.Event()
            done.set()  # end the walk test as soon as it has started
            walk = asyncio.create_task(run_walktest(stack.agent.site, mosquitto.url, "4321", timeout=30,
                                                    done=done))
            await stack.wait_event("TE", timeout=5)
            assert not walk.done()  # the link test is still waiting for the silent backup
            loop = asyncio.get_running_loop()
            pressed = loop.time()
            await stack.act("panic-hall", "press")
            await stack.act("panic-hall", "release")
            await stack.wait_event("PA", timeout=1.0)
            assert loop.time() - pressed < 1.0 and not walk.done()
            outcome = await asyncio.wait_for(walk, 10)
            assert outcome["links_ms"] == {"primary": outcome["links_ms"]["primary"], "backup": None}  # type: ignore[index]
