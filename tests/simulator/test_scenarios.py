"""The scenario library against the real thing: mosquitto, receiver, agent, GPIO driver on mock pins.

One test per file in simulator/scenarios/, so `make test` names the story that broke; plus the
runner's own promises: a wrong expectation fails with a report naming the step and what was seen.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from simulator.runner import run_local
from simulator.scenario import load_scenario
from wachter.cli import main

LIBRARY = Path(__file__).resolve().parents[2] / "simulator" / "scenarios"
FILES = sorted(LIBRARY.glob("*.yaml"))

# Known product bugs the library has found; the marker goes when the bug is fixed.
KNOWN_BUGS: dict[str, str] = {}

pytestmark = pytest.mark.broker


def _param(path: Path) -> object:
    bug = KNOWN_BUGS.get(path.name)
    marks = [pytest.mark.xfail(reason=bug, strict=False)] if bug else []
    return pytest.param(path, id=path.stem, marks=marks)


def test_the_library_has_every_documented_story() -> None:
    """docs/scenarios.md lists the library; each listed story has its file and each file its line."""
    docs = (LIBRARY.parents[1] / "docs" / "scenarios.md").read_text()
    listed = set(re.findall(r"^\| `([a-z0-9-]+\.yaml)`", docs, flags=re.MULTILINE))
    assert listed == {f.name for f in FILES}
    assert len(FILES) >= 10


@pytest.mark.parametrize("path", [_param(p) for p in FILES])
async def test_scenario(path: Path, tmp_path: Path) -> None:
    scenario, _site = load_scenario(path)
    outcome = await run_local(scenario, tmp_path)
    assert outcome.ok, outcome.report()


WRONG = """\
name: Panic expected as burglary
steps:
  - at: 0.3s
    device: panic-hall
    action: press
  - expect: event
    code: BA
    zone: 2
    within: 1s
  - expect: panel
    state: disarmed
"""


async def test_a_wrong_expectation_fails_naming_the_step_and_what_was_seen(tmp_path: Path) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG)
    scenario, _site = load_scenario(path)
    outcome = await run_local(scenario, tmp_path / "stack")
    assert not outcome.ok
    report = outcome.report()
    assert report.startswith("FAIL wrong.yaml: Panic expected as burglary")
    assert "step 2 (line 6," in report
    assert "expect within 1s: alarm centre has code BA zone 2" in report
    assert "not seen within 1s" in report
    assert "  PA  zone 2" in report  # what the alarm centre did receive
    assert "panel: triggered" in report


def test_sim_run_exits_non_zero_with_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "wrong.yaml"
    path.write_text(WRONG)
    assert main(["sim", "run", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL wrong.yaml" in out and "step 2 (line 6," in out
    assert "0 passed, 1 failed" in out


def test_sim_run_prints_the_report_and_keeps_the_logs_in_a_file(tmp_path: Path) -> None:
    """A user sees one line a scenario; the components' logs go to --log (issue 14). The network
    cut scenario tears a fault proxy down mid-connection, which once printed a CancelledError."""
    scenario = Path(__file__).resolve().parents[2] / "simulator/scenarios/network-cut-during-alarm.yaml"
    log = tmp_path / "run.log"
    command = [sys.executable, "-m", "wachter.cli", "sim", "run", str(scenario), "--log", str(log)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert lines[0].startswith("PASS network-cut-during-alarm.yaml") and len(lines) == 2, lines
    logged = log.read_text()
    assert "scenario fault: fault network_cut" in logged
    assert "Traceback" not in logged and "CancelledError" not in logged
