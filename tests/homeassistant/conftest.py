"""One real Home Assistant and one real mosquitto for the whole module; each test runs its own
Wachter stack (receiver, agent, simulator) on that broker, as a home would after a restart.

Home Assistant logs in as ``ui.homeassistant`` under exactly the ACL ``wachter keys mqtt``
writes for it; the Wachter side (agent, simulator, the tests' own clients) stays anonymous with
full access, since the simulator speaks for every device on one connection.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import aiomqtt
import pytest

from config.loader import load_site
from tests.broker import Mosquitto, free_port
from tests.homeassistant.hass import HA_RELEASE, HA_VENV, HomeAssistant, RunningHass, start_hass, stop_hass
from wachter.mqtt_accounts import Account, acl_text, mosquitto_hash

EXAMPLE_SITE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site.yaml"
UI_USER = "ui.homeassistant"


@dataclass
class Broker:
    mosquitto: Mosquitto
    ui_password: str

    @property
    def port(self) -> int:
        return self.mosquitto.port

    @property
    def url(self) -> str:
        return self.mosquitto.url

    def ui_client(self) -> aiomqtt.Client:
        """A client with Home Assistant's credentials, to see what its account can see."""
        return aiomqtt.Client("127.0.0.1", self.port, username=UI_USER, password=self.ui_password,
                              identifier=f"t-ui-{secrets.token_hex(3)}", timeout=10)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say, even under ``-q``, that a real Home Assistant ran and how its tests went."""
    reports = [r for key in ("passed", "failed", "error", "skipped")
               for r in terminalreporter.stats.get(key, [])
               if getattr(r, "when", "call") == "call" and "tests/homeassistant/test_home_assistant.py"
               in getattr(r, "nodeid", "")]
    if reports:
        counts = {o: sum(r.outcome == o for r in reports) for o in ("passed", "failed", "skipped")}
        terminalreporter.write_line(
            f"real Home Assistant {HA_RELEASE} ({HA_VENV.name}): {counts['passed']} passed, "
            f"{counts['failed']} failed, {counts['skipped']} skipped")


@pytest.fixture(scope="module")
def ha_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broker]:
    workdir = tmp_path_factory.mktemp("ha-broker")
    password = secrets.token_urlsafe(16)
    (workdir / "passwd").write_text(f"{UI_USER}:{mosquitto_hash(password)}\n")
    site = load_site(EXAMPLE_SITE)
    # rules before the first ``user`` line are the anonymous clients' (mosquitto acl_file)
    (workdir / "acl").write_text("topic readwrite #\n" + acl_text(site, [Account(UI_USER, "ui")]))
    files = f"password_file {workdir / 'passwd'}\nacl_file {workdir / 'acl'}\n"
    broker = Mosquitto(workdir, extra_conf=files)
    broker.start()
    try:
        yield Broker(broker, password)
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def running_hass(tmp_path_factory: pytest.TempPathFactory, ha_broker: Broker) -> Iterator[RunningHass]:
    config = tmp_path_factory.mktemp("ha-config")
    hass = start_hass(config, free_port(), ha_broker.port, (UI_USER, ha_broker.ui_password))
    try:
        yield hass
    finally:
        stop_hass(hass.proc)
        errors = [line for line in hass.log().splitlines() if " ERROR " in line]
        print(f"Home Assistant log: {config / 'home-assistant.log'} ({len(errors)} error lines)")


@pytest.fixture
async def ha(running_hass: RunningHass) -> AsyncIterator[HomeAssistant]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield HomeAssistant(running_hass, session)
