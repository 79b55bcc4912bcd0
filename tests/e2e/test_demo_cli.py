"""The commands as a user runs them: `wachter demo`, `wachter sim press`, `wachter agent` on a bad file."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.broker import free_port
from tests.e2e.demo_process import WACHTER, running_demo

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site.yaml"


@pytest.mark.broker
def test_demo_then_sim_press_shows_pa_in_the_api(tmp_path: Path) -> None:
    with running_demo(tmp_path / "demo", "--broker", "mosquitto") as demo:
        assert f"http://127.0.0.1:{demo.http}/" in demo.banner
        assert f"mqtt://127.0.0.1:{demo.mqtt}  (mosquitto)" in demo.banner
        credentials = tmp_path / "demo" / "credentials.json"
        assert str(credentials) in demo.banner
        assert credentials.stat().st_mode & 0o777 == 0o600
        sim = demo.sim("press", "panic-hall")
        assert sim.returncode == 0, sim.stderr
        assert "PA" in demo.wait_for_codes("PA", 1, timeout=5)
        event = next(e for e in demo.events() if e["code"] == "PA")
        assert {"id", "site", "account", "received_at", "code", "zone"} <= set(event)


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
