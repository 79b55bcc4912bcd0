"""Issue 4 end to end: arming, sequential confirmation, hold-up, duress, restart while pending."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import pytest

from agent.eventlog import read_log
from protocol import mqtt
from receiver.service import Receiver
from simulator.control import send_action
from simulator.devices import SimAction, SimulatedSite
from tests.broker import Mosquitto
from tests.e2e.stack import receiver_config, running_stack, wait_event, write_site_yaml
from wachter.signals import cancel_firmly

pytestmark = pytest.mark.broker
SITE = "demo-home"


async def command(broker: Mosquitto, action: str, code: str, *, skip_delay: bool = True) -> None:
    cmd = mqtt.PanelCommand(action=action, code=code, skip_delay=skip_delay)  # type: ignore[arg-type]
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.publish(mqtt.panel_topic(SITE, mqtt.Channel.SET), cmd.model_dump_json(), qos=1)


async def panel_states(broker: Mosquitto) -> AsyncIterator[mqtt.PanelState]:
    async with aiomqtt.Client("127.0.0.1", broker.port) as client:
        await client.subscribe(mqtt.panel_topic(SITE, mqtt.Channel.STATE), qos=1)
        async for message in client.messages:
            yield mqtt.decode(mqtt.PanelState, bytes(message.payload))  # type: ignore[arg-type]


async def wait_state(broker: Mosquitto, wanted: str, timeout: float = 3.0) -> mqtt.PanelState:
    async with asyncio.timeout(timeout):
        async for state in panel_states(broker):
            if state.state == wanted:
                return state
    raise AssertionError("unreachable")


async def test_arm_away_then_two_zones_give_ba_then_bv(tmp_path: Path, mosquitto: Mosquitto) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        await command(mosquitto, "ARM_AWAY", "1234")
        armed = await wait_state(mosquitto, "armed_away")
        assert armed.changed_by == "resident"
        await stack.act("window-living", "open")
        ba = await stack.wait_event("BA", timeout=2.0)
        assert int(ba.zone or 0) == 12
        await stack.act("window-bedroom", "open")
        bv = await stack.wait_event("BV", timeout=2.0)
        assert bv.id > ba.id
        arm = await stack.wait_event("CQ")  # armed remotely (over MQTT), by user 1
        assert int(arm.zone or 0) == 1


async def test_hold_up_while_disarmed_reaches_the_centre_within_a_second(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        sirens: list[bytes] = []
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as client:
            await client.subscribe(mqtt.device_topic(SITE, "siren-hall", mqtt.Channel.SET), qos=1)
            await stack.act("panic-bedroom", "press")
            event = await stack.wait_event("HA", timeout=1.0)
            assert int(event.zone or 0) == 1
            with pytest.raises(TimeoutError):  # silent: the sounder stays off
                async with asyncio.timeout(0.5):
                    async for message in client.messages:
                        sirens.append(bytes(message.payload))  # type: ignore[arg-type]
        assert sirens == []
        assert stack.agent.state.mode == "disarmed"


async def test_duress_code_disarms_like_any_code_and_tells_the_centre(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with running_stack(tmp_path, mosquitto.url) as stack:
        await command(mosquitto, "ARM_AWAY", "1234")
        await wait_state(mosquitto, "armed_away")
        await stack.act("door-front", "open")
        await wait_state(mosquitto, "pending")
        await command(mosquitto, "DISARM", "9999")
        disarmed = await wait_state(mosquitto, "disarmed")
        assert disarmed.changed_by == "resident"  # exactly as with the normal code
        duress = await stack.wait_event("HA", timeout=2.0)
        assert int(duress.zone or 0) == 1  # user 1
        await stack.wait_outbox_empty()
        assert await stack.receiver.store.events(code="BA") == []


async def test_agent_killed_while_pending_alarms_once_at_the_original_deadline(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    async with Receiver(receiver_config(tmp_path)) as receiver:
        config = write_site_yaml(tmp_path, mosquitto.url, receiver.port("tcp"), receiver.port("udp"),
                                 entry_delay="4s")
        agent = _start_agent(config)
        try:
            site_sim = SimulatedSite(_load(config), mosquitto.url)
            async with asyncio.TaskGroup() as tg:
                sim = tg.create_task(site_sim.run())
                await asyncio.wait_for(site_sim.ready.wait(), 10)
                await wait_state(mosquitto, "disarmed", timeout=10)
                await command(mosquitto, "ARM_AWAY", "1234")
                await wait_state(mosquitto, "armed_away", timeout=5)
                await send_action(mosquitto.url, "door-front", SimAction(action="open"))
                pending = await wait_state(mosquitto, "pending")
                assert pending.deadline is not None
                await asyncio.sleep(1.0)
                agent.send_signal(signal.SIGKILL)
                agent.wait(timeout=5)
                agent = _start_agent(config)
                event = await wait_event(receiver, "BA", timeout=15)
                late = (event.received_at - pending.deadline).total_seconds()
                assert 0 <= late <= 2.0, late  # at the original deadline, not a new one
                await _resumed(config.parent / "agent" / "agent.db", starts=2)
                # processed up to here: a smoke alarm after the restart's resume is stored only
                # after every report queued before it, so a second BA would be there by then
                await send_action(mosquitto.url, "smoke-hall", SimAction(action="smoke"))
                await wait_event(receiver, "FA", timeout=10)
                assert len(await receiver.store.events(code="BA")) == 1
                await cancel_firmly(sim)
        finally:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=10)


async def _resumed(database: Path, *, starts: int, timeout: float = 15) -> None:
    """Until the agent's event log shows the resume after each start's connection."""
    async with asyncio.timeout(timeout):
        while sum(line.text == "resume after (re)connect"
                  for line in read_log(database, limit=1000)) < starts:
            await asyncio.sleep(0.05)


def _start_agent(config: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    log = (config.parent / "agent.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "wachter.cli", "agent", "--demo", "--config", str(config)],
                            env=env, stdout=subprocess.DEVNULL, stderr=log)


def _load(config: Path):  # type: ignore[no-untyped-def]
    from config.loader import load_site

    return load_site(config)

