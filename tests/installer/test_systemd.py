"""systemd units: `systemd-analyze verify` and `security` on the real files, plus unit hygiene.

The units name /opt/wachter/.venv/bin/wachter, which does not exist here. Instead of editing the
units, the test builds a throwaway root: the system's own unit directory, a stand-in executable
at every path the units run, and our units in its /etc; then ``systemd-analyze --root`` checks
the unchanged files there.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEMD = REPO / "systemd"
UNITS = sorted(p.name for p in SYSTEMD.glob("*.service"))
HOME_UNITS = ["wachter-agent.service", "wachter-gpio.service", "wachter-intercom.service",
              "wachter-zigbee2mqtt.service"]
SYSTEM_UNITS = Path("/usr/lib/systemd/system")


def _analyze() -> str:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    if subprocess.run([tool, "--version"], capture_output=True).returncode != 0:
        pytest.skip("systemd-analyze cannot run in this container")
    return tool


def parse_unit(path: Path) -> dict[str, list[str]]:
    """``Key`` -> every value it is given (systemd allows repeats), sections folded together."""
    out: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            out.setdefault(key.strip(), []).append(value.strip())
    return out


def _fake_executables(root: Path, unit: Path) -> None:
    for key, values in parse_unit(unit).items():
        if key.startswith("Exec"):
            for value in values:
                exe = Path(value.lstrip("-@:+!").split()[0])
                target = root / exe.relative_to("/")
                if not target.exists():
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text("#!/bin/sh\nexit 0\n")
                    target.chmod(0o755)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    _analyze()
    root = tmp_path_factory.mktemp("root")
    (root / "usr/lib/systemd").mkdir(parents=True)
    shutil.copytree(SYSTEM_UNITS, root / "usr/lib/systemd/system", symlinks=True)
    etc = root / "etc/systemd/system"
    shutil.copytree(SYSTEMD, etc, dirs_exist_ok=True)
    for unit in [*etc.glob("*.service"), *(root / "usr/lib/systemd/system").glob("mosquitto.service")]:
        _fake_executables(root, unit)
    yield root


def verify(root: Path, unit: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_analyze(), "verify", f"--root={root}", "--man=no", "--generators=no", unit],
        capture_output=True, text=True, cwd=root,
    )


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify_passes(root: Path, unit: str) -> None:
    result = verify(root, unit)
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_mosquitto_drop_in_verifies_with_debians_unit(root: Path) -> None:
    if not (SYSTEM_UNITS / "mosquitto.service").exists():
        pytest.skip("mosquitto's own unit is not installed (apt-get install mosquitto)")
    result = verify(root, "mosquitto.service")
    assert result.returncode == 0 and result.stderr == "", result.stderr
    shown = subprocess.run([_analyze(), "cat-config", f"--root={root}",
                            "systemd/system/mosquitto.service.d/wachter.conf"],
                           capture_output=True, text=True)
    assert "Restart=always" in shown.stdout


def test_verify_would_catch_a_broken_unit(root: Path) -> None:
    """Guards the test itself: verify does report problems in this setup."""
    broken = root / "etc/systemd/system/broken-example.service"
    broken.write_text((SYSTEMD / "wachter-agent.service").read_text()
                      .replace("Restart=always", "Restart=sometimes")
                      .replace("/opt/wachter/.venv/bin/wachter agent", "/opt/missing/wachter agent"))
    try:
        result = verify(root, broken.name)
    finally:
        broken.unlink()
    assert "restart" in result.stderr and "/opt/missing/wachter" in result.stderr


def exposure(root: Path, unit: str) -> tuple[float, str]:
    result = subprocess.run(
        [_analyze(), "security", "--offline=true", f"--root={root}", "--no-pager", unit],
        capture_output=True, text=True, cwd=root,
    )
    found = re.search(rf"Overall exposure level for {re.escape(unit)}: ([0-9.]+) (\w+)", result.stdout)
    assert found, result.stdout + result.stderr
    return float(found.group(1)), found.group(2)


def test_security_rates_the_agent_ok_or_better(root: Path) -> None:
    """systemd's scale: 0-10 exposure, named SAFE, OK, MEDIUM, EXPOSED, UNSAFE."""
    level, word = exposure(root, "wachter-agent.service")
    assert word in ("SAFE", "OK") and level < 2.0, (level, word)


@pytest.mark.parametrize("unit", [u for u in UNITS if u != "wachter-agent.service"])
def test_security_rates_every_other_unit_ok_or_better(root: Path, unit: str) -> None:
    level, word = exposure(root, unit)
    assert word in ("SAFE", "OK"), (unit, level, word)


@pytest.mark.parametrize("unit", UNITS)
def test_every_unit_is_a_supervised_unprivileged_service(unit: str) -> None:
    keys = parse_unit(SYSTEMD / unit)
    one = {k: v[-1] for k, v in keys.items()}
    assert one["Type"] == "notify" and one["NotifyAccess"] == "main"
    assert 10 <= int(one["WatchdogSec"]) <= 120
    assert one["Restart"] == "always"
    assert one["User"] not in ("", "root") and one["User"].startswith("wachter")
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert one[key] == "yes", key
    assert one["ProtectSystem"] == "strict"
    assert one["CapabilityBoundingSet"] == ""
    assert one["DevicePolicy"] == "closed"


def test_device_groups_only_where_needed() -> None:
    groups = {u: parse_unit(SYSTEMD / u).get("SupplementaryGroups", []) for u in UNITS}
    assert groups == {
        "wachter-agent.service": [],
        "wachter-gpio.service": ["gpio"],
        "wachter-intercom.service": ["video"],
        "wachter-receiver.service": [],
        "wachter-zigbee2mqtt.service": [],
    }
    assert parse_unit(SYSTEMD / "wachter-gpio.service")["DeviceAllow"] == [
        "char-gpiochip rw", "/dev/gpiomem rw"
    ]
    assert parse_unit(SYSTEMD / "wachter-intercom.service")["DeviceAllow"] == ["char-video4linux rw"]
    for unit in HOME_UNITS:
        assert parse_unit(SYSTEMD / unit)["User"] == ["wachter"]
