"""`wachter demo`: the whole system on one machine with embedded defaults, until Ctrl-C."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from agent.service import Agent
from config.loader import load_receiver, load_site
from config.receiver import ReceiverConfig
from config.site import Site
from receiver.auth import Role
from receiver.service import Receiver
from simulator.devices import SimulatedSite
from simulator.mosquitto import free_port
from simulator.page import AlarmCentreApi, SimulatorPage
from simulator.target import default_state_dir, read_token
from simulator.wired import WiredPins
from wachter.broker import BrokerChoice, DemoBroker, demo_broker
from wachter.demo_mobile import demo_phones
from wachter.signals import cancel_firmly, stop_on_signals

__all__ = ["DemoPorts", "default_state_dir", "demo_configs", "run_demo"]

log = logging.getLogger(__name__)

EXAMPLES = Path(__file__).resolve().parent.parent / "config" / "examples"


@dataclass(frozen=True)
class DemoPorts:
    http: int = 8080
    mqtt: int = 1883
    dc09: int = 9000
    sim: int = 0  # the simulator page; 0: the HTTP port + 1 when free, else any free port
    broker: BrokerChoice = "auto"  # mosquitto when installed, else the embedded amqtt


def _wired() -> bool:
    """Wired devices run the real GPIO driver on mock pins, unless WACHTER_SIM_DRIVERS=direct."""
    return os.environ.get("WACHTER_SIM_DRIVERS", "real") != "direct"


def _page_port(ports: DemoPorts, http_port: int) -> int:
    if ports.sim:
        return ports.sim
    import socket

    with socket.socket() as probe:
        return free_port() if probe.connect_ex(("127.0.0.1", http_port + 1)) == 0 else http_port + 1


def demo_configs(state_dir: Path, ports: DemoPorts, broker: DemoBroker) -> tuple[Site, ReceiverConfig]:
    """The example site and receiver, pointed at local ports and the demo's state dir."""
    site = load_site(EXAMPLES / "site.yaml")
    paths = [
        p.model_copy(update={"url": f"{p.url.split('://')[0]}://127.0.0.1:{ports.dc09}"})
        for p in site.alarm_centre.paths
    ]
    site = site.model_copy(update={
        "state_dir": state_dir / "agent",
        "mqtt": site.mqtt.model_copy(update={"url": broker.url, "protocol": broker.protocol}),
        "alarm_centre": site.alarm_centre.model_copy(update={"paths": paths}),
    })
    receiver = load_receiver(EXAMPLES / "receiver.yaml")
    receiver = receiver.model_copy(update={
        "listen": [f"tcp://127.0.0.1:{ports.dc09}", f"udp://127.0.0.1:{ports.dc09}"],
        "store": f"sqlite://{(state_dir / 'receiver' / 'receiver.db').resolve()}",
        "http": receiver.http.model_copy(update={"port": ports.http}),
    })
    return site, receiver


async def run_demo(state_dir: Path, ports: DemoPorts, stop: asyncio.Event | None = None) -> None:
    stop = stop or stop_on_signals()
    state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    async with demo_broker(state_dir, ports.mqtt, ports.broker) as broker:
        broker_url = broker.url
        site, receiver_config = demo_configs(state_dir, ports, broker)
        async with Receiver(receiver_config) as receiver:
            phones = await demo_phones(receiver)
            credentials = await demo_credentials(receiver, state_dir, phones[1] if phones else None)
            site = await with_evidence_upload(site, receiver)
            agent = Agent(site)
            pins = WiredPins(site) if _wired() else None
            simulator = SimulatedSite(site, broker_url, hardware=pins)
            http = f"http://127.0.0.1:{receiver.http_port}"
            centre = AlarmCentreApi(http, read_token(credentials), console=http + "/")
            try:
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(agent.run(stop), name="agent")
                    sim = tg.create_task(simulator.run(), name="simulator")
                    if pins is not None:
                        tg.create_task(pins.run(stop), name="gpio-driver")
                    page = SimulatorPage(site, simulator, broker_url, centre, hardware=pins,
                                         port=_page_port(ports, receiver.http_port))
                    async with page:
                        _banner(site, receiver, broker, state_dir, credentials, page.url,
                                phones[0] if phones else None)
                        await stop.wait()
                    await cancel_firmly(sim)
            finally:
                log.info("demo stopped")


async def with_evidence_upload(site: Site, receiver: Receiver) -> Site:
    """Give the agent a site token so its snapshots reach the alarm centre as evidence."""
    token = await receiver.accounts.add_token(f"agent-{site.id}", Role.SITE, site=site.id)
    centre = site.alarm_centre.model_copy(update={
        "evidence_url": f"http://127.0.0.1:{receiver.http_port}",
        "evidence_token": SecretStr(token),
    })
    return site.model_copy(update={"alarm_centre": centre})


async def demo_credentials(receiver: Receiver, state_dir: Path, mobile_token: str | None = None) -> Path:
    """Fresh passwords and an API token for this run, in a 0600 file; never printed or logged."""
    users = {"admin": Role.ADMIN, "operator": Role.OPERATOR}
    found: dict[str, object] = {"console": f"http://127.0.0.1:{receiver.http_port}/"}
    for name, role in users.items():
        password = secrets.token_urlsafe(12)
        await receiver.accounts.add_user(name, role, password)
        found[name] = {"user": name, "password": password, "role": role.name.lower()}
    found["api_token"] = await receiver.accounts.add_token("demo-api", Role.OPERATOR)
    if mobile_token is not None:
        found["mobile_token"] = mobile_token  # the simulated phone (wachter sim phone-press)
    path = state_dir / "credentials.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        os.fchmod(out.fileno(), 0o600)
        json.dump(found, out, indent=2)
    return path


def _banner(site: Site, receiver: Receiver, broker: DemoBroker, state_dir: Path, credentials: Path,
            page: str, phone_link: str | None = None) -> None:
    http = f"http://127.0.0.1:{receiver.http_port}"
    print(f"Wachter demo is running (site {site.id}, {len(site.devices)} simulated devices)", flush=True)
    print(f"  simulator page        {page}  (press a panic button, watch it arrive)", flush=True)
    print(f"  alarm centre console  {http}/", flush=True)
    print(f"  sign-in and API token {credentials} (admin, operator, api_token)", flush=True)
    print(f"  events API            {http}/api/events (Authorization: Bearer <api_token>)", flush=True)
    if phone_link is not None:
        print(f"  mobile panic button   {phone_link}  (open once on a phone: the app installs)", flush=True)
    print(f"  MQTT broker           {broker.describe()}", flush=True)
    print(f"  DC-09 receiver        tcp+udp 127.0.0.1:{receiver.port('tcp')}", flush=True)
    print(f"  state                 {state_dir}", flush=True)
    print(f"Try: wachter sim press panic-hall --broker {broker.url}", flush=True)
    if phone_link is not None:
        where = "" if state_dir == default_state_dir().resolve() else f" --state-dir {state_dir}"
        print(f"     wachter sim phone-press --lat 52.0907 --lon 5.1214 --receiver {http}{where}", flush=True)
    print("Ctrl-C stops everything.", flush=True)
