"""Scenario files are checked before anything runs: every problem with its file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from config.loader import ConfigError
from simulator.scenario import DeviceStep, ExpectStep, load_scenario
from wachter.cli import main


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


def test_a_typo_in_a_device_and_an_impossible_action_are_both_reported(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
name: typos
steps:
  - device: panic-hal
    action: press
  - device: door-front
    action: press
""")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    text = str(err.value)
    assert f"{path}:3: steps[0]: no device 'panic-hal'" in text
    assert f"{path}:5: steps[1]: door-front is a contact: it cannot press" in text


def test_an_unknown_step_kind_names_its_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nsteps:\n  - at: 1s\n    shout: loud\n")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert ":3: steps[0]" in str(err.value)
    assert "one of device, panel, fault, expect or wait" in str(err.value)


def test_site_overrides_merge_devices_by_id_and_paths_by_position(tmp_path: Path) -> None:
    path = _write(tmp_path, """\
name: overrides
site:
  panel: {modes: {armed_away: {exit_delay: 1s, entry_delay: 2s, trigger_time: 30s}}}
  devices:
    - {id: panic-hall, hold_ms: 800}
  alarm_centre:
    paths:
      - {ack_timeout: 1s}
steps:
  - at: 500ms
    expect: panel
    state: disarmed
""")
    scenario, site = load_scenario(path)
    assert site.device("panic-hall").hold_ms == 800  # type: ignore[union-attr]
    assert site.device("panic-bedroom").hold_ms == 0  # type: ignore[union-attr]
    assert site.panel.modes["armed_away"].entry_delay.total_seconds() == 2
    assert site.panel.modes["armed_night"].entry_delay.total_seconds() == 15  # untouched
    primary, backup = site.alarm_centre.paths
    assert primary.ack_timeout.total_seconds() == 1 and primary.key is not None
    assert backup.ack_timeout.total_seconds() == 5
    assert isinstance(scenario.steps[0], ExpectStep) and scenario.steps[0].at is not None


def test_an_override_that_breaks_the_site_names_the_scenario_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "name: x\nsite:\n  panel: {modes: {armed_away: {entry_delay: 2m}}}\n"
                  "steps:\n  - wait: 1s\n")
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert f"{path}:2: site:" in str(err.value) and "45s" in str(err.value)


def test_every_library_file_loads() -> None:
    library = Path(__file__).resolve().parents[2] / "simulator" / "scenarios"
    for path in library.glob("*.yaml"):
        scenario, _ = load_scenario(path)
        assert scenario.description, f"{path.name} should say what story it tells"
        assert any(isinstance(s, DeviceStep | ExpectStep) for s in scenario.steps)


def test_sim_run_refuses_a_broken_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "name: x\nsteps:\n  - device: nope\n    action: open\n")
    assert main(["sim", "run", str(path)]) == 2
    assert "no device 'nope'" in capsys.readouterr().err
