"""Guessing codes over MQTT (issue 17): one lockout for every command, no alarm held back.

A real mosquitto, receiver, agent and simulator; the attacker publishes on the panel's ``set``
topic as Home Assistant or a keypad would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from protocol import mqtt
from tests.broker import Mosquitto
from tests.e2e.stack import Stack, running_stack

pytestmark = pytest.mark.broker
WRONG, RESIDENT, INSTALLER = "0000", "1234", "4321"


@contextlib.asynccontextmanager
async def _keypad(stack: Stack) -> AsyncIterator[tuple[aiomqtt.Client, list[mqtt.PanelEvent]]]:
    """A client on the panel's topics: it sends commands and collects the panel's notices."""
    notices: list[mqtt.PanelEvent] = []
    client = aiomqtt.Client("127.0.0.1", int(stack.broker_url.rsplit(":", 1)[1]), timeout=10)
    async with client:
        await client.subscribe(mqtt.panel_topic(stack.agent.site.id, mqtt.Channel.EVENT), qos=1)

        async def collect() -> None:
            async for message in client.messages:
                notices.append(mqtt.decode(mqtt.PanelEvent, bytes(message.payload)))  # type: ignore[arg-type]

        async with asyncio.TaskGroup() as tg:
            task = tg.create_task(collect())
            try:
                yield client, notices
            finally:
                task.cancel()


async def _send(client: aiomqtt.Client, stack: Stack, action: str, code: str) -> None:
    cmd = mqtt.PanelCommand.model_validate({"action": action, "code": code})
    await client.publish(mqtt.panel_topic(stack.agent.site.id, mqtt.Channel.SET),
                         cmd.model_dump_json(), qos=1)


async def _notice(notices: list[mqtt.PanelEvent], event: str, timeout: float = 10) -> mqtt.PanelEvent:
    async with asyncio.timeout(timeout):
        while True:
            found = [n for n in notices if n.event == event]
            if found:
                return found[-1]
            await asyncio.sleep(0.02)


async def test_wrong_installer_codes_lock_out_and_report_ja(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack, _keypad(stack) as (client, notices):
        for _ in range(stack.agent.site.panel.wrong_code_limit):
            await _send(client, stack, "WALK_TEST_START", WRONG)
        ja = await stack.wait_event("JA", timeout=10)
        lockout = await _notice(notices, "lockout")
        assert ja.code == "JA" and lockout.detail["until"]
        assert [n.detail["attempts"] for n in notices if n.event == "bad_code"] == [1, 2, 3, 4, 5]
        assert stack.agent.state.walktest is None


async def test_the_installer_code_is_refused_during_a_resident_lockout(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack, _keypad(stack) as (client, notices):
        for _ in range(stack.agent.site.panel.wrong_code_limit):
            await _send(client, stack, "ARM_AWAY", WRONG)
        await stack.wait_event("JA", timeout=10)
        await _send(client, stack, "WALK_TEST_START", INSTALLER)
        refused = await _notice(notices, "code_refused")
        assert refused.detail["action"] == "WALK_TEST_START"
        await stack.wait_outbox_empty()  # the refusal was stepped and committed: no TS behind it
        assert await stack.receiver.store.events(code="TS") == []
        assert stack.agent.state.walktest is None


async def test_panic_and_hold_up_during_a_walk_test_reach_the_centre_as_alarms(
        tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack, _keypad(stack) as (client, notices):
        await _send(client, stack, "WALK_TEST_START", INSTALLER)
        await stack.wait_event("TS", timeout=10)
        await stack.act("panic-hall", "press")
        await stack.act("panic-bedroom", "press")
        pa = await stack.wait_event("PA", timeout=5)
        ha = await stack.wait_event("HA", timeout=5)
        assert (pa.zone, ha.zone) == ("02", "01")
        await stack.wait_event("TP", timeout=5, zone="02")  # and ticked off as tested
        await _send(client, stack, "ARM_AWAY", RESIDENT)
        refused = await _notice(notices, "command_refused")
        assert "walk test" in str(refused.detail["reason"])


async def test_a_flood_of_wrong_codes_does_not_delay_a_hold_up(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """200 guesses on panel/set, then the hold-up button: its HA reaches the receiver within 1 s."""
    async with running_stack(tmp_path, mosquitto.url) as stack, _keypad(stack) as (client, notices):
        for _ in range(200):
            await _send(client, stack, "DISARM", WRONG)
        loop = asyncio.get_running_loop()
        pressed = loop.time()
        await stack.act("panic-bedroom", "press")
        await stack.wait_event("HA", timeout=5)
        assert loop.time() - pressed < 1.0
        await _notice(notices, "lockout")
        assert stack.agent.counters["code_attempts_over_budget"] > 0
