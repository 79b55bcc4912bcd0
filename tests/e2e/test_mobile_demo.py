"""`wachter demo` prints the mobile app's link, and `wachter sim phone-press` raises a mobile
alarm with a position and listen-in audio on it, as a user would run them."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.broker import free_port
from tests.e2e.test_demo_cli import WACHTER, _wait_for_line


def _get(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
        body = resp.read().decode()
        return json.loads(body) if resp.headers.get_content_type() == "application/json" else body


@pytest.mark.broker
def test_mobile_demo_banner_link_and_sim_phone_press(tmp_path: Path) -> None:
    http, mqtt_port, dc09 = free_port(), free_port(), free_port()
    state = tmp_path / "demo"
    proc = subprocess.Popen(
        [*WACHTER, "demo", "--state-dir", str(state), "--http-port", str(http),
         "--mqtt-port", str(mqtt_port), "--dc09-port", str(dc09)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    base = f"http://127.0.0.1:{http}"
    try:
        banner = "".join(_wait_for_line(proc, "Ctrl-C", timeout=20))
        link = re.search(r"mobile panic button\s+(\S+)", banner)
        assert link and link.group(1).startswith(f"{base}/mobile/enrol#we_"), banner
        app = _get(link.group(1).split("#")[0])
        assert '<link rel="manifest" href="/mobile/manifest.webmanifest">' in app

        sim = subprocess.run(
            [*WACHTER, "sim", "phone-press", "--lat", "52.3731", "--lon", "4.8922", "--audio", "1",
             "--receiver", base, "--state-dir", str(state)],
            capture_output=True, text=True, timeout=60,
        )
        assert sim.returncode == 0, sim.stderr
        assert "pressed: event" in sim.stdout

        token = json.loads((state / "credentials.json").read_text())["api_token"]
        [alarm] = [a for a in _get(f"{base}/api/alarms", token) if "PA" in a["title"]]
        assert alarm["priority"] == 1
        mobile = _get(f"{base}/api/mobile/alarms/{alarm['id']}", token)
        assert (mobile["track"][0]["lat"], mobile["track"][0]["lon"]) == (52.3731, 4.8922)
        assert mobile["recordings"] and mobile["recordings"][0]["seconds"] == pytest.approx(1.0, abs=0.05)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
