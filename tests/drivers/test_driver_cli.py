"""A driver started on a config it cannot use stops with exit 2 and says why, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ruamel.yaml import YAML

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "examples" / "site.yaml"


def test_gpio_driver_without_its_credentials_exits_2_naming_the_file(tmp_path: Path) -> None:
    yaml = YAML()
    data = yaml.load(EXAMPLE)
    data["state_dir"] = str(tmp_path / "state")
    data["mqtt"]["credentials_dir"] = str(tmp_path / "no-credentials")
    config = tmp_path / "site.yaml"
    with config.open("w") as fh:
        yaml.dump(data, fh)
    result = subprocess.run(
        [sys.executable, "-m", "wachter.cli", "gpio", "--config", str(config)],
        capture_output=True, text=True, timeout=30,
        env={**os.environ, "GPIOZERO_PIN_FACTORY": "mock"},
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "no-credentials" in result.stderr and "wachter keys" in result.stderr
