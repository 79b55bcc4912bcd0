"""The demo's simulator page: press a panic button in the browser and watch it reach the alarm centre.

Left: the home (a button for every action of every device, the panel with its keypad); middle:
what travels on MQTT; right: the alarm centre's view, fetched server-side from the receiver's
JSON API with the demo's API token, so the token never reaches the browser.

Only the page itself may use it: a request must name this server in ``Host`` (a DNS-rebound
name is refused), and a POST must come from the page's own origin (``Origin``,
``Sec-Fetch-Site``) as JSON, which a form or a "simple" cross-site request cannot send.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from config.site import Site
from protocol import mqtt
from simulator.devices import Hardware, SimAction, SimulatedSite, Verb, verbs_for
from simulator.remote import SiteRemote

__all__ = ["SimulatorPage"]

log = logging.getLogger(__name__)

PAGE = Path(__file__).resolve().parent / "static" / "page.html"


class _Act(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device: str
    action: Verb
    hold: float | None = None


class _Panel(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str
    code: str | None = None
    skip_delay: bool = False


@dataclass
class AlarmCentreApi:
    """The receiver's JSON API, with a bearer token (the demo's ``api_token``)."""

    url: str
    token: str
    console: str = ""

    async def view(self, http: aiohttp.ClientSession, site: str) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        out: dict[str, Any] = {"console": self.console or self.url + "/", "error": None}
        try:
            async with http.get(f"{self.url}/api/events", params={"site": site, "limit": "40"},
                                headers=headers) as resp:
                resp.raise_for_status()
                out["events"] = list(reversed(await resp.json()))
            async with http.get(f"{self.url}/api/alarms", headers=headers) as resp:
                out["alarms"] = await resp.json() if resp.status == 200 else []
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            out["error"] = f"alarm centre unreachable: {exc.__class__.__name__}"
        return out


class SimulatorPage:
    """``async with SimulatorPage(...) as page``: serves on ``page.url`` until the block ends."""

    def __init__(self, site: Site, simulator: SimulatedSite, broker_url: str, centre: AlarmCentreApi,
                 *, hardware: Hardware | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.site, self.simulator, self.hardware = site, simulator, hardware
        self.centre = centre
        self.remote = SiteRemote(broker_url, site.id, journal=60)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None
        self._http: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    async def __aenter__(self) -> Self:
        await self.remote.__aenter__()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2))
        app = web.Application(middlewares=[self._same_origin])
        app.router.add_get("/", self._page)
        app.router.add_get("/api/state", self._state)
        app.router.add_post("/api/act", self._act)
        app.router.add_post("/api/panel", self._panel)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self.__aexit__(None, None, None)
            raise
        server = site._server
        if isinstance(server, asyncio.Server) and server.sockets:
            self.port = server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._http is not None:
            await self._http.close()
        await self.remote.__aexit__(exc_type, exc, tb)

    @web.middleware
    async def _same_origin(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        refused = _foreign(request, self._hosts())
        if refused:
            log.warning("simulator page: %s %s refused: %s", request.method, request.path, refused)
            return web.json_response({"error": refused}, status=403)
        return await handler(request)

    def _hosts(self) -> set[str] | None:
        """The Host headers this page answers to (None: any, when it listens on every address)."""
        if self.host in ("0.0.0.0", "::", ""):  # noqa: S104 - comparing, not binding
            return None
        names = {self.host} | (_LOOPBACK if self.host in _LOOPBACK else set())
        return {f"{name}:{self.port}" for name in names}

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=PAGE.read_text(encoding="utf-8"), content_type="text/html")

    async def _state(self, request: web.Request) -> web.Response:
        assert self._http is not None
        panel = self.remote.panel
        body = {
            "site": {"id": self.site.id, "name": self.site.name},
            "now": datetime.now(UTC).isoformat(),
            "devices": [self._device(d.id) for d in self.site.devices],
            "panel": panel.model_dump(mode="json") if panel else None,
            "journal": [{"ts": ts.isoformat(), "source": src, "text": text}
                        for ts, src, text in reversed(self.remote.journal)],
            "centre": await self.centre.view(self._http, self.site.id),
        }
        return web.json_response(body)

    def _device(self, device_id: str) -> dict[str, Any]:
        device = self.site.device(device_id)
        assert device is not None
        known = self.remote.states.get(device_id)
        state = known.model_dump(exclude={"v", "device", "ts"}, exclude_none=True) if known else {}
        wired = self.hardware is not None and device_id in self.hardware.devices
        return {
            "id": device.id, "name": device.name, "type": device.type.value, "zone": device.zone,
            "zone_type": device.effective_zone_type.value, "verbs": list(verbs_for(device)),
            "availability": self.remote.availability.get(device.id, "unknown"),
            "state": {k: v for k, v in state.items() if k != "tamper" or v},
            "wired": wired,
        }

    async def _act(self, request: web.Request) -> web.Response:
        try:
            act = _Act.model_validate(await request.json())
        except (ValidationError, ValueError) as exc:
            return web.json_response({"error": str(exc)[:300]}, status=400)
        device = self.site.device(act.device)
        if device is None or act.action not in verbs_for(device):
            return web.json_response({"error": f"{act.device} cannot {act.action}"}, status=400)
        await self._do(act.device, SimAction(action=act.action))
        if act.action == "press" and act.hold:
            task = asyncio.get_running_loop().create_task(self._release(act.device, act.hold))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response({"ok": True})

    async def _release(self, device: str, after: float) -> None:
        await asyncio.sleep(min(after, 10.0))
        await self._do(device, SimAction(action="release"))

    async def _do(self, device: str, action: SimAction) -> None:
        """At the mock pin when the real driver serves the device, else through the simulator."""
        if self.hardware is None or not self.hardware.act(device, action):
            with contextlib.suppress(ConnectionError):
                await self.simulator.perform(device, action)

    async def _panel(self, request: web.Request) -> web.Response:
        try:
            req = _Panel.model_validate(await request.json())
            command = mqtt.PanelCommand.model_validate(
                {"action": req.action.upper(), "code": req.code or None, "skip_delay": req.skip_delay})
        except (ValidationError, ValueError) as exc:
            return web.json_response({"error": str(exc)[:300]}, status=400)
        await self.remote.command(command)
        return web.json_response({"ok": True})


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _foreign(request: web.Request, hosts: set[str] | None) -> str:
    """Why a request does not come from the page itself ("" when it does)."""
    if hosts is not None and request.host not in hosts:
        return "unknown Host"
    if request.method in ("GET", "HEAD"):
        return ""
    origin = request.headers.get("Origin")
    if origin is not None and origin != f"http://{request.host}":
        return "cross-origin request"
    if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
        return "cross-site request"
    if request.content_type != "application/json":
        return "JSON only"
    return ""
