"""Plays a scenario's timeline against a target and reports, step by step, what was seen."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from protocol import mqtt
from simulator.devices import SimAction
from simulator.expect import ExpectationFailed, check, describe_panel
from simulator.remote import SiteRemote
from simulator.scenario import DeviceStep, ExpectStep, FaultStep, PanelStep, Scenario, Step, WaitStep
from simulator.stack import LocalStack
from simulator.target import RunningSystem, Seen, Target, Unsupported

__all__ = ["Outcome", "RemoteSystem", "play", "run_local", "run_remote"]

log = logging.getLogger(__name__)


@dataclass
class Outcome:
    """How one scenario went; ``report`` is what a person reads."""

    scenario: Scenario
    ok: bool = True
    elapsed: float = 0.0
    failed_step: int | None = None
    started_at: float = 0.0  # seconds into the scenario when the failed step started
    reason: str = ""
    events: list[Seen] = field(default_factory=list)
    panel: str = ""
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # expectations this target cannot check
    start: datetime = field(default_factory=lambda: datetime.now(UTC))

    def report(self) -> str:
        s = self.scenario
        verdict = "PASS" if self.ok else "FAIL"
        head = f"{verdict} {s.path.name}: {s.name} ({self.elapsed:.1f}s, {len(s.steps)} steps)"
        if self.ok:
            return "\n".join([head] + [f"  note: {note}" for note in self.skipped])
        lines = [head]
        if self.failed_step is not None:
            i = self.failed_step
            step = s.steps[i]
            lines.append(f"  step {i + 1} (line {s.line(i)}, at {self.started_at:.1f}s): {describe(step)}")
        lines.append(f"    {self.reason}")
        lines.append("    the alarm centre received, since the scenario began:")
        lines += [f"      {e.line(self.start)}" for e in self.events] or ["      nothing"]
        lines.append(f"    panel: {self.panel}")
        lines += [f"    {problem}" for problem in self.problems]
        return "\n".join(lines)


def describe(step: Step) -> str:
    if isinstance(step, WaitStep):
        return f"wait {step.wait.total_seconds():g}s"
    return step.describe()


async def _perform(step: Step, target: Target) -> None:
    remote = target.remote
    if isinstance(step, DeviceStep):
        await target.act(step.device, SimAction(action=step.action, score=step.score))
        if step.hold is not None:
            await asyncio.sleep(step.hold.total_seconds())
            await target.act(step.device, SimAction(action="release"))
    elif isinstance(step, PanelStep):
        action = step.panel.upper()
        await remote.command(mqtt.PanelCommand.model_validate(
            {"action": action, "code": step.code, "skip_delay": step.skip_delay, "force": step.force}))
    elif isinstance(step, FaultStep):
        if step.fault in ("jam", "unjam"):
            verb = "offline" if step.fault == "jam" else "online"
            for device in step.devices:
                await remote.act(device, SimAction(action=verb))
        else:
            await target.fault(step)
    elif isinstance(step, ExpectStep):
        await check(step, target)
    else:
        await asyncio.sleep(step.wait.total_seconds())


async def play(scenario: Scenario, target: Target) -> Outcome:
    """Every step at its time; the first failing step ends the scenario."""
    await target.mark()
    outcome = Outcome(scenario)
    t0 = time.monotonic()
    for index, step in enumerate(scenario.steps):
        if step.at is not None:
            await asyncio.sleep(max(0.0, t0 + step.at.total_seconds() - time.monotonic()))
        started = time.monotonic() - t0
        log.info("scenario %s: step %d at %.1fs: %s", scenario.name, index + 1, started, describe(step))
        try:
            await _perform(step, target)
        except Unsupported as exc:
            if not isinstance(step, ExpectStep):
                outcome.ok, outcome.failed_step, outcome.started_at = False, index, started
                outcome.reason = f"could not run: {exc}"
                break
            outcome.skipped.append(f"step {index + 1} not checked: {exc}")
        except (ExpectationFailed, ConnectionError, TimeoutError, PermissionError) as exc:
            reason = exc.seen if isinstance(exc, ExpectationFailed) else f"could not run: {exc}"
            outcome.ok, outcome.failed_step, outcome.started_at = False, index, started
            outcome.reason = f"{reason} (at {time.monotonic() - t0:.1f}s)"
            break
    outcome.elapsed = time.monotonic() - t0
    outcome.problems = target.problems()
    if outcome.problems and outcome.ok:
        outcome.ok, outcome.reason = False, "every step passed, but part of the system died"
    outcome.events = await target.events()
    outcome.panel = describe_panel(target.remote.panel)
    return outcome


async def run_local(scenario: Scenario, workdir: Path | None = None) -> Outcome:
    """Against a fresh in-process stack built from the scenario's site."""
    from simulator.scenario import site_for

    site = site_for(scenario)
    with tempfile.TemporaryDirectory(prefix="wachter-scenario-") as tmp:
        async with LocalStack(site, workdir or Path(tmp), wired=scenario.wired) as stack:
            return await play(scenario, stack)


@dataclass(frozen=True)
class RemoteSystem:
    broker: str
    receiver: str
    token: str


async def run_remote(scenario: Scenario, system: RemoteSystem) -> Outcome:
    """Against a running system; site overrides cannot apply there (its config decides)."""
    from simulator.scenario import site_for

    site = site_for(scenario)
    async with SiteRemote(system.broker, site.id) as remote:
        return await play(scenario, RunningSystem(site, remote, system.receiver, system.token))
