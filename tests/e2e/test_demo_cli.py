"""The commands as a user runs them: `wachter demo`, `wachter sim press`, `wachter agent` on a bad file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.broker import free_port

WACHTER = [sys.executable, "-m", "wachter.cli"]
EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site.yaml"


TOKEN: dict[int, str] = {}  # http port -> the demo's API token, read from credentials.json


def _events(port: int) -> list[dict[str, object]]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/events",
                                     headers={"Authorization": f"Bearer {TOKEN[port]}"})
    with urllib.request.urlopen(request, timeout=2) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            lines.append(line)
            if needle in line:
                return lines
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.05)
    raise AssertionError(f"{needle!r} not printed; got {lines!r}")


@pytest.mark.broker
def test_demo_then_sim_press_shows_pa_in_the_api(tmp_path: Path) -> None:
    http, mqtt_port, dc09 = free_port(), free_port(), free_port()
    proc = subprocess.Popen(
        [*WACHTER, "demo", "--state-dir", str(tmp_path / "demo"), "--http-port", str(http),
         "--mqtt-port", str(mqtt_port), "--dc09-port", str(dc09)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        banner = "".join(_wait_for_line(proc, "Ctrl-C", timeout=20))
        assert f"http://127.0.0.1:{http}/" in banner
        assert f"mqtt://127.0.0.1:{mqtt_port}" in banner
        credentials = tmp_path / "demo" / "credentials.json"
        assert str(credentials) in banner
        assert credentials.stat().st_mode & 0o777 == 0o600
        TOKEN[http] = json.loads(credentials.read_text())["api_token"]
        deadline = time.monotonic() + 10
        while True:  # the simulator announces its devices right after the banner
            sim = subprocess.run(
                [*WACHTER, "sim", "press", "panic-hall", "--broker", f"mqtt://127.0.0.1:{mqtt_port}"],
                capture_output=True, text=True, timeout=20,
            )
            if sim.returncode == 0 or time.monotonic() > deadline:
                break
        assert sim.returncode == 0, sim.stderr
        pressed = time.monotonic()
        while time.monotonic() - pressed < 2.0:
            if any(e["code"] == "PA" for e in _events(http)):
                break
            time.sleep(0.05)
        codes = [e["code"] for e in _events(http)]
        assert "PA" in codes, codes
        event = next(e for e in _events(http) if e["code"] == "PA")
        assert {"id", "site", "account", "received_at", "code", "zone"} <= set(event)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


def test_sim_press_without_a_demo_says_so() -> None:
    result = subprocess.run(
        [*WACHTER, "sim", "press", "panic-hall", "--broker", f"mqtt://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=20,
    )
    assert result.returncode == 1
    assert "cannot reach the broker" in result.stderr


def test_agent_refuses_a_bad_config_naming_file_line_and_field(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("entry_delay: 15s", "entry_delay: 60s")
    bad = tmp_path / "site.yaml"
    bad.write_text(text)
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "entry_delay: 60s" in ln)
    result = subprocess.run([*WACHTER, "agent", "--config", str(bad)], capture_output=True,
                            text=True, timeout=20)
    assert result.returncode == 2
    assert f"{bad}:{line}: panel.modes.armed_night.entry_delay:" in result.stderr
    assert "45s" in result.stderr
