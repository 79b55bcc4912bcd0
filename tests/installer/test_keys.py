"""`wachter keys`: generated credentials enforced by the REAL mosquitto (passwords, ACL, TLS)."""

from __future__ import annotations

import asyncio
import itertools
import re
import stat
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt
import pytest

from config.loader import load_site
from config.site import Site
from tests.broker import Mosquitto, free_port
from tests.installer.conftest import EXAMPLES, SITE_TEXT, edit
from wachter.cli import main
from wachter.keys import KeyPlan, dc09_key, write_mqtt
from wachter.mqtt_accounts import mosquitto_hash, verify_mosquitto_hash

SITE = load_site(EXAMPLES / "site.yaml")
_ids = itertools.count()
ROOT = f"wachter/v1/{SITE.id}"


def test_dc09_keys_have_the_right_length() -> None:
    for bits in (128, 192, 256):
        key = dc09_key(bits)
        assert re.fullmatch(rf"hex:[0-9A-F]{{{bits // 4}}}", key)
    assert dc09_key() != dc09_key()
    with pytest.raises(ValueError):
        dc09_key(100)


def test_dc09_key_file_is_private(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "keys" / "dc09.key"
    assert main(["keys", "dc09", "--bits", "256", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert stat.S_IMODE(out.parent.stat().st_mode) == 0o700
    assert re.fullmatch(r"hex:[0-9A-F]{64}\n", out.read_text())
    assert "hex:" not in capsys.readouterr().out  # the key is never printed when written to a file


def test_password_hash_is_mosquitto_passwd_format(tmp_path: Path) -> None:
    ours = mosquitto_hash("s3cret")
    assert re.fullmatch(r"\$7\$101\$[A-Za-z0-9+/]{16}\$[A-Za-z0-9+/]{86}==", ours)
    pwfile = tmp_path / "pw"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(pwfile), "alice", "s3cret"], check=True)
    theirs = pwfile.read_text().strip().split(":", 1)[1]
    assert verify_mosquitto_hash("s3cret", theirs) and not verify_mosquitto_hash("other", theirs)


def _modes(root: Path) -> set[tuple[str, int]]:
    return {("d" if p.is_dir() else "f", stat.S_IMODE(p.stat().st_mode)) for p in [root, *root.rglob("*")]}


def test_every_file_is_0600_in_0700_directories(tmp_path: Path) -> None:
    write_mqtt(KeyPlan(SITE, tmp_path / "keys"))
    assert _modes(tmp_path / "keys") == {("d", 0o700), ("f", 0o600)}


def test_rerun_keeps_credentials_and_adds_only_the_new_device(tmp_path: Path) -> None:
    out = tmp_path / "keys"
    write_mqtt(KeyPlan(SITE, out))
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    write_mqtt(KeyPlan(SITE, out))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

    bigger_yaml = tmp_path / "site.yaml"
    bigger_yaml.write_text(SITE_TEXT + "  - {id: window-attic, type: contact, name: Attic, zone: 15}\n")
    write_mqtt(KeyPlan(load_site(bigger_yaml), out))
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    changed = {p.relative_to(out).as_posix() for p in after if before.get(p) != after[p]}
    assert changed == {
        "broker/acl", "broker/passwd",
        *(f"clients/device.window-attic/{n}" for n in ("password", "ca.crt", "client.crt", "client.key")),
    }
    write_mqtt(KeyPlan(SITE, out, rotate=True))
    assert (out / "clients/agent/password").read_bytes() != before[out / "clients/agent/password"]


# ---- the real broker -------------------------------------------------------------------


@dataclass
class Secured:
    broker: Mosquitto
    out: Path
    tls_port: int

    def password(self, user: str) -> str:
        return (self.out / "clients" / user / "password").read_text().strip()

    def tls(self, user: str, *, cert: bool = True) -> aiomqtt.TLSParameters:
        d = self.out / "clients" / user
        return aiomqtt.TLSParameters(
            ca_certs=str(d / "ca.crt"),
            certfile=str(d / "client.crt") if cert else None,
            keyfile=str(d / "client.key") if cert else None,
        )

    def client(self, user: str | None, password: str | None = None, **kw: object) -> aiomqtt.Client:
        pw = password if password is not None else (self.password(user) if user else None)
        return aiomqtt.Client(
            "127.0.0.1", self.broker.port, username=user, password=pw, timeout=5,
            identifier=f"t-{user}-{next(_ids)}", **kw,  # type: ignore[arg-type]
        )


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[Secured]:
    """mosquitto with exactly the files `wachter keys mqtt` made (as root: `user root` added)."""
    workdir, out = tmp_path / "broker", tmp_path / "keys"
    workdir.mkdir()
    port, tls_port = free_port(), free_port()
    assert main(["keys", "mqtt", "--config", str(EXAMPLES / "site.yaml"), "--out", str(out),
                 "--port", str(port), "--tls-port", str(tls_port), "--tls-bind", "127.0.0.1",
                 "--host", "localhost", "--host", "127.0.0.1", "--ui", "homeassistant"]) == 0
    broker = Mosquitto(workdir, port=port)
    broker.conf.write_text("user root\n" + (out / "broker" / "wachter.conf").read_text())
    broker.start()
    try:
        yield Secured(broker, out, tls_port)
    finally:
        broker.stop()


@asynccontextmanager
async def watching(client: aiomqtt.Client, topic: str) -> AsyncIterator[list[tuple[str, bytes]]]:
    """Collect what ``client`` receives on ``topic`` while the block runs."""
    seen: list[tuple[str, bytes]] = []
    async with client:
        await client.subscribe(topic, qos=1)

        async def collect() -> None:
            async for m in client.messages:
                seen.append((m.topic.value, bytes(m.payload)))

        task = asyncio.create_task(collect())
        try:
            yield seen
        finally:
            task.cancel()


async def until(seen: list[tuple[str, bytes]], topic: str) -> None:
    async with asyncio.timeout(5):
        while not any(t == topic for t, _ in seen):
            await asyncio.sleep(0.02)


@pytest.mark.broker
async def test_a_device_publishes_only_its_own_topics(secured: Secured) -> None:
    marker = f"{ROOT}/device/door-front/event"
    forbidden = [
        f"{ROOT}/device/door-back/event",  # another device's event
        f"{ROOT}/device/door-back/state",
        f"{ROOT}/device/door-back/availability",
        f"{ROOT}/panel/set",  # a panel command
        f"{ROOT}/panel/state",  # the panel's state: only the agent
        f"{ROOT}/device/door-front/set",  # a command, even to itself: only the agent
        f"{ROOT}/device/door-front/confirm",
        "wachter/v1/other-home/device/door-front/event",
    ]
    agent = secured.client("agent")
    async with watching(agent, "wachter/v1/#") as seen, secured.client("device.door-front") as device:
        for topic in forbidden:
            await device.publish(topic, b'{"forged": true}', qos=1)
        await device.publish(marker, b'{"marker": true}', qos=1)
        await until(seen, marker)  # per-client ordering: anything forged would have come first
    assert seen == [(marker, b'{"marker": true}')]


@pytest.mark.broker
async def test_commands_reach_only_their_device(secured: Secured) -> None:
    front, back = secured.client("device.door-front"), secured.client("device.door-back")
    async with watching(front, f"{ROOT}/device/+/set") as front_seen, \
            watching(back, f"{ROOT}/device/door-back/set") as back_seen, \
            secured.client("agent") as agent:
        await agent.publish(f"{ROOT}/device/door-back/set", b'{"v":1,"command":"led_on"}', qos=1)
        await until(back_seen, f"{ROOT}/device/door-back/set")
        await agent.publish(f"{ROOT}/device/door-front/set", b'{"v":1,"command":"led_on"}', qos=1)
        await until(front_seen, f"{ROOT}/device/door-front/set")
    assert [t for t, _ in front_seen] == [f"{ROOT}/device/door-front/set"]


@pytest.mark.broker
async def test_home_assistant_commands_the_panel_and_reads_its_state(secured: Secured) -> None:
    command, state = b'{"v":1,"action":"ARM_AWAY"}', b'{"v":1,"state":"arming"}'
    async with watching(secured.client("ui.homeassistant"), f"{ROOT}/#") as ui_seen, \
            watching(secured.client("agent"), f"{ROOT}/panel/set") as agent_seen:
        async with secured.client("ui.homeassistant") as ui:
            await ui.publish(f"{ROOT}/panel/set", command, qos=1)
        await until(agent_seen, f"{ROOT}/panel/set")
        async with secured.client("agent") as agent:
            await agent.publish(f"{ROOT}/panel/state", state, qos=1)
        await until(ui_seen, f"{ROOT}/panel/state")
    assert agent_seen == [(f"{ROOT}/panel/set", command)]  # the agent got Home Assistant's command
    assert (f"{ROOT}/panel/state", state) in ui_seen  # and Home Assistant the agent's state


@pytest.mark.broker
@pytest.mark.parametrize(("user", "password"), [(None, None), ("agent", "wrong"), ("nobody", "x")])
async def test_anonymous_and_bad_passwords_are_refused(
    secured: Secured, user: str | None, password: str | None
) -> None:
    with pytest.raises(aiomqtt.MqttError):
        async with secured.client(user, password):
            pass


def agent_client(site: Site) -> aiomqtt.Client:
    """The agent's connection, as agent/service.py makes it once it honours the TLS fields."""
    url, m = urlsplit(site.mqtt.url), site.mqtt
    tls = url.scheme == "mqtts"
    return aiomqtt.Client(
        url.hostname or "127.0.0.1",
        url.port or (8883 if tls else 1883),
        identifier=f"wachter-agent-{site.id}",
        username=m.username,
        password=m.password_file.read_text().strip() if m.password_file else None,
        timeout=5,
        tls_params=aiomqtt.TLSParameters(
            ca_certs=str(m.ca_file) if m.ca_file else None,
            certfile=str(m.cert_file) if m.cert_file else None,
            keyfile=str(m.key_file) if m.key_file else None,
        ) if tls else None,
    )


@pytest.mark.broker
async def test_the_agent_works_over_tls_with_the_generated_ca(secured: Secured, tmp_path: Path) -> None:
    snippet = subprocess.run(
        [str(Path(".venv/bin/wachter").resolve()), "keys", "mqtt", "--config", str(EXAMPLES / "site.yaml"),
         "--out", str(secured.out), "--tls-port", str(secured.tls_port), "--host", "localhost"],
        check=True, capture_output=True, text=True,
    ).stdout.split("site.yaml:\n", 1)[1]
    site_yaml = tmp_path / "tls-site.yaml"
    site_yaml.write_text(edit(SITE_TEXT, ("mqtt:\n  url: mqtt://127.0.0.1:1883\n", snippet)))
    site = load_site(site_yaml)
    assert site.mqtt.url == f"mqtts://localhost:{secured.tls_port}"
    device = secured.client("device.door-front")
    async with watching(device, f"{ROOT}/device/door-front/set") as seen, agent_client(site) as agent:
        await agent.publish(f"{ROOT}/device/door-front/set", b'{"v":1,"command":"snapshot"}', qos=1)
        await until(seen, f"{ROOT}/device/door-front/set")


@pytest.mark.broker
async def test_tls_needs_a_client_certificate_and_the_private_ca(secured: Secured) -> None:
    def tls_client(params: aiomqtt.TLSParameters) -> aiomqtt.Client:
        return aiomqtt.Client("localhost", secured.tls_port, username="agent",
                              password=secured.password("agent"), timeout=5, tls_params=params)

    async with tls_client(secured.tls("agent")):
        pass
    with pytest.raises(aiomqtt.MqttError):  # no client certificate
        async with tls_client(secured.tls("agent", cert=False)):
            pass
    with pytest.raises(aiomqtt.MqttError):  # the system CAs do not vouch for the home's broker
        async with tls_client(aiomqtt.TLSParameters()):
            pass


@pytest.mark.broker
async def test_a_device_certificate_acts_only_as_its_own_account(secured: Secured) -> None:
    """The door's key and certificate with the agent's name and password: still only the door."""
    forged, marker = f"{ROOT}/panel/state", f"{ROOT}/device/door-front/event"
    impostor = aiomqtt.Client("localhost", secured.tls_port, username="agent",
                              password=secured.password("agent"), timeout=5,
                              tls_params=secured.tls("device.door-front"))
    # watched as the agent, which reads every topic of the site (Home Assistant's account reads no
    # contact's events)
    async with watching(secured.client("agent"), f"{ROOT}/#") as seen, impostor:
        await impostor.publish(forged, b'{"v":1,"state":"disarmed"}', qos=1)
        await impostor.publish(marker, b'{"marker": true}', qos=1)
        await until(seen, marker)  # per-client ordering: the forged state would have come first
    assert [t for t, _ in seen] == [marker]
