"""Issue 14: a newcomer's first run on a machine without mosquitto.

`wachter demo` (default `--broker auto`) must then run the whole system on its embedded broker:
panic presses and an armed burglary reach the alarm centre's API, and the demo's log shows no
link cycling and no traceback. As root (CI) mosquitto is hidden for real, in a private mount
namespace with an empty /usr/sbin; elsewhere `--broker embedded` stands in.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.demo_process import HIDE_MOSQUITTO, can_hide_mosquitto, running_demo


def test_demo_without_mosquitto_carries_panics_and_a_burglary(tmp_path: Path) -> None:
    hidden = can_hide_mosquitto()
    prefix, extra = (HIDE_MOSQUITTO, ()) if hidden else ((), ("--broker", "embedded"))
    with running_demo(tmp_path / "demo", *extra, prefix=prefix) as demo:
        assert "(embedded amqtt, MQTT 3.1.1" in demo.banner, demo.banner
        for n in range(1, 4):
            assert demo.sim("press", "panic-hall", "--hold", "0.2").returncode == 0
            codes = demo.wait_for_codes("PA", n, timeout=10)
            assert codes.count("PA") == n, codes
        # the panics left the panel triggered: the resident disarms, arms away, a window opens
        assert "disarmed" in demo.sim("panel", "disarm", "--code", "1234").stdout
        armed = demo.sim("panel", "arm-away", "--code", "1234", "--skip-delay")
        assert "armed_away" in armed.stdout, armed
        assert demo.sim("open", "window-living").returncode == 0
        codes = demo.wait_for_codes("BA", 1, timeout=10)
        assert "BA" in codes, codes
        log = demo.log.read_text()
    assert "MQTT link down" not in log
    assert "Traceback" not in log
    assert "broker connection lost" not in log
    broker_log = (tmp_path / "demo" / "broker.log").read_text()
    assert "Traceback" not in broker_log
    assert "amqtt broker listening" in broker_log
