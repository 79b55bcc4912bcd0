"""`wachter demo` prints the mobile app's link, and `wachter sim phone-press` raises a mobile
alarm with a position and listen-in audio on it, as a user would run them."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.demo_process import WACHTER, running_demo


def _get(url: str, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as resp:
        body = resp.read().decode()
        return json.loads(body) if resp.headers.get_content_type() == "application/json" else body


@pytest.mark.broker
def test_mobile_demo_banner_link_and_sim_phone_press(tmp_path: Path) -> None:
    state = tmp_path / "demo"
    with running_demo(state) as demo:
        base = f"http://127.0.0.1:{demo.http}"
        link = next((w for w in demo.banner.split() if w.startswith(f"{base}/mobile/enrol#we_")), None)
        assert link and "mobile panic button" in demo.banner, demo.banner
        app = _get(link.split("#")[0])
        assert '<link rel="manifest" href="/mobile/manifest.webmanifest">' in app

        sim = subprocess.run(
            [*WACHTER, "sim", "phone-press", "--lat", "52.3731", "--lon", "4.8922", "--audio", "1",
             "--receiver", base, "--state-dir", str(state)],
            capture_output=True, text=True, timeout=60,
        )
        assert sim.returncode == 0, sim.stderr
        assert "pressed: event" in sim.stdout

        [alarm] = [a for a in _get(f"{base}/api/alarms", demo.token) if "PA" in a["title"]]
        assert alarm["priority"] == 1 and "mobile panic button of Burgemeester (mobiel)" in alarm["title"]
        mobile = _get(f"{base}/api/mobile/alarms/{alarm['id']}", demo.token)
        assert (mobile["track"][0]["lat"], mobile["track"][0]["lon"]) == (52.3731, 4.8922)
        assert mobile["recordings"] and mobile["recordings"][0]["seconds"] == pytest.approx(1.0, abs=0.05)
