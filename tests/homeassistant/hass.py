"""A real Home Assistant for the tests: its own venv (``make .venv-ha/.installed``), a private
config directory, a user made through HA's onboarding API and MQTT added through its config flow.

HA runs with ``--skip-pip``: every package it needs is pinned in ``requirements.txt`` beside this
file and installed once by the Makefile, so a test run downloads nothing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import aiohttp

__all__ = ["HA_PYTHON", "HA_RELEASE", "HA_VENV", "HomeAssistant", "RunningHass", "start_hass", "stop_hass"]

ROOT = Path(__file__).resolve().parents[2]
HA_VENV = Path(os.environ.get("WACHTER_HA_VENV", ROOT / ".venv-ha"))
HA_PYTHON = HA_VENV / "bin" / "python"
HA_RELEASE = next(line.split("==")[1] for line in (Path(__file__).parent / "requirements.txt").read_text()
                  .splitlines() if line.startswith("homeassistant=="))
START_TIMEOUT = 120.0  # first start on a shared 2-core machine: database schema, frontend
USER, PASSWORD = "resident", "wachter-test-password"
T = TypeVar("T")

CONFIGURATION = """\
homeassistant:
  name: Wachter test home
  time_zone: Europe/Amsterdam
  country: NL
  currency: EUR
  unit_system: metric
  latitude: 52.37
  longitude: 4.89
  elevation: 0
http:
  server_host: 127.0.0.1
  server_port: {port}
api:
config:
frontend:
recorder:
  db_url: sqlite:///{config}/home-assistant_v2.db
  commit_interval: 0
history:
logbook:
logger:
  default: warning
  logs:
    homeassistant.components.mqtt: info
"""


@dataclass
class RunningHass:
    """The process, its URL, and the admin's access token."""

    proc: subprocess.Popen[bytes]
    url: str
    token: str
    config: Path
    refresh_token: str

    def log(self) -> str:
        path = self.config / "home-assistant.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _request(url: str, *, data: dict[str, Any] | None = None, form: dict[str, str] | None = None,
             token: str | None = None, timeout: float = 30) -> Any:
    body, headers = None, {}
    if data is not None:
        body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
    elif form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST" if body else "GET")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read() or b"null")


def _wait_http(proc: subprocess.Popen[bytes], url: str, config: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Home Assistant exited ({proc.returncode}):\n{_tail(config)}")
        try:
            _request(f"{url}/api/onboarding", timeout=2)
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
    raise RuntimeError(f"Home Assistant did not answer within {START_TIMEOUT:.0f} s:\n{_tail(config)}")


def _tail(config: Path) -> str:
    path = config / "home-assistant.log"
    return "\n".join(path.read_text(errors="replace").splitlines()[-40:]) if path.exists() else ""


def _onboard(url: str) -> tuple[str, str]:
    """The first user, as the onboarding page makes it, and the last step. The location and
    analytics steps are marked done in advance (``_seed``): the location step would set up
    weather, radio and TTS integrations whose packages this venv leaves out."""
    client_id = f"{url}/"
    made = _request(f"{url}/api/onboarding/users", data={
        "client_id": client_id, "name": "Resident", "username": USER, "password": PASSWORD,
        "language": "en"})
    tokens = _request(f"{url}/auth/token", form={
        "grant_type": "authorization_code", "code": made["auth_code"], "client_id": client_id})
    token = tokens["access_token"]
    _request(f"{url}/api/onboarding/integration", data={"client_id": client_id,
                                                         "redirect_uri": f"{url}/?auth_callback=1"},
             token=token)
    return token, tokens["refresh_token"]


def _seed(config: Path) -> None:
    storage = config / ".storage"
    storage.mkdir(exist_ok=True)
    (storage / "onboarding").write_text(json.dumps({
        "version": 4, "minor_version": 1, "key": "onboarding",
        "data": {"done": ["core_config", "analytics"]}}))


def _add_mqtt(url: str, token: str, broker_port: int, account: tuple[str, str]) -> None:
    """Settings > Devices & services > Add integration > MQTT, through the REST config flow."""
    flow = _request(f"{url}/api/config/config_entries/flow", data={"handler": "mqtt"}, token=token)
    assert flow["type"] == "form" and flow["step_id"] == "broker", flow
    username, password = account
    done = _request(f"{url}/api/config/config_entries/flow/{flow['flow_id']}", token=token, data={
        "broker": "127.0.0.1", "port": broker_port, "username": username, "password": password})
    assert done["type"] == "create_entry", done


def start_hass(config: Path, port: int, broker_port: int, account: tuple[str, str]) -> RunningHass:
    """HA on ``port``, onboarded, with MQTT on ``broker_port`` as ``account`` (user, password)."""
    if not HA_PYTHON.exists():
        raise RuntimeError(f"no Home Assistant venv at {HA_VENV}: run `make .venv-ha/.installed`")
    config.mkdir(parents=True, exist_ok=True)
    (config / "configuration.yaml").write_text(CONFIGURATION.format(port=port, config=config))
    _seed(config)
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [str(HA_PYTHON), "-m", "homeassistant", "--config", str(config), "--skip-pip"],
        stdout=subprocess.DEVNULL, stderr=(config / "stderr.log").open("wb"), start_new_session=True)
    try:
        _wait_http(proc, url, config)
        token, refresh = _onboard(url)
        _add_mqtt(url, token, broker_port, account)
    except BaseException:
        stop_hass(proc)
        raise
    return RunningHass(proc, url, token, config, refresh)


def stop_hass(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


class HomeAssistant:
    """HA's REST API as the tests use it (aiohttp, one session per test)."""

    def __init__(self, hass: RunningHass, session: aiohttp.ClientSession) -> None:
        self.hass, self.session = hass, session
        self.headers = {"Authorization": f"Bearer {hass.token}"}

    async def get(self, path: str, **params: str) -> Any:
        async with self.session.get(f"{self.hass.url}{path}", headers=self.headers, params=params) as r:
            r.raise_for_status()
            return await r.json()

    async def post(self, path: str, data: dict[str, Any]) -> Any:
        async with self.session.post(f"{self.hass.url}{path}", headers=self.headers, json=data) as r:
            r.raise_for_status()
            return await (r.text() if path == "/api/template" else r.json())

    async def states(self) -> dict[str, dict[str, Any]]:
        return {s["entity_id"]: s for s in await self.get("/api/states")}

    async def state(self, entity_id: str) -> dict[str, Any] | None:
        async with self.session.get(f"{self.hass.url}/api/states/{entity_id}", headers=self.headers) as r:
            if r.status == 404:
                return None
            r.raise_for_status()
            result: dict[str, Any] = await r.json()
            return result

    async def template(self, template: str) -> str:
        text: str = await self.post("/api/template", {"template": template})
        return text

    async def call(self, domain: str, service: str, **data: Any) -> None:
        await self.post(f"/api/services/{domain}/{service}", data)

    async def history(self, since: datetime, entity_ids: list[str]) -> list[list[dict[str, Any]]]:
        result: list[list[dict[str, Any]]] = await self.get(
            f"/api/history/period/{since.isoformat()}", filter_entity_id=",".join(entity_ids),
            minimal_response="0", no_attributes="0")
        return result

    async def logbook(self, since: datetime) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.get(f"/api/logbook/{since.isoformat()}")
        return result

    async def until(self, check: Callable[[], Awaitable[T | None]], what: str, timeout: float = 30.0) -> T:
        """Poll ``check`` until it returns something; a generous deadline for a shared machine."""
        last: T | None = None
        try:
            async with asyncio.timeout(timeout):
                while (last := await check()) is None:
                    await asyncio.sleep(0.1)
        except TimeoutError:
            raise AssertionError(f"Home Assistant never showed {what}") from None
        return last

    async def wait_state(self, entity_id: str, wanted: str, timeout: float = 30.0) -> dict[str, Any]:
        async def check() -> dict[str, Any] | None:
            state = await self.state(entity_id)
            return state if state is not None and state["state"] == wanted else None

        return await self.until(check, f"{entity_id} = {wanted}", timeout)
