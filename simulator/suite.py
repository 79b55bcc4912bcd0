"""`wachter sim run`: load every file first (a typo fails before anything runs), then play each."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from config.loader import ConfigError
from simulator.runner import Outcome, RemoteSystem, run_local, run_remote
from simulator.scenario import Scenario, load_scenario
from simulator.target import default_state_dir, read_token

__all__ = ["run_files", "system_from_args"]

log = logging.getLogger(__name__)


def system_from_args(args: argparse.Namespace) -> RemoteSystem | None:
    """None: a fresh in-process stack per scenario. Otherwise the running system to use."""
    if args.demo:
        state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
        token_file = Path(args.token_file) if args.token_file else state_dir / "credentials.json"
        receiver = args.receiver or "http://127.0.0.1:8080"
        return RemoteSystem(args.broker or "mqtt://127.0.0.1:1883", receiver, read_token(token_file))
    if args.broker:
        if not args.receiver or not args.token_file:
            raise ValueError("--broker needs --receiver URL and --token-file FILE as well")
        return RemoteSystem(args.broker, args.receiver, read_token(Path(args.token_file)))
    return None


def _load(paths: list[Path]) -> list[Scenario] | None:
    scenarios, failed = [], False
    for path in paths:
        try:
            scenarios.append(load_scenario(path)[0])
        except ConfigError as exc:
            failed = True
            print(f"{path}: cannot be used:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
    return None if failed else scenarios


async def run_files(paths: list[Path], system: RemoteSystem | None) -> int:
    """0 when every scenario passed, 1 when one failed, 2 when a file cannot be used."""
    scenarios = _load(paths)
    if scenarios is None:
        return 2
    started, outcomes = time.monotonic(), []
    for scenario in scenarios:
        if system is not None and scenario.site:
            print(f"note: {scenario.path.name} overrides site settings; a running system keeps its own",
                  file=sys.stderr)
        outcome = await (run_remote(scenario, system) if system else run_local(scenario))
        outcomes.append(outcome)
        print(outcome.report(), flush=True)
    return _summary(outcomes, time.monotonic() - started)


def _summary(outcomes: list[Outcome], elapsed: float) -> int:
    failed = [o for o in outcomes if not o.ok]
    print(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed in {elapsed:.1f}s")
    if failed:
        print("the components' logs: run again with -v, or with --log FILE")
    return 1 if failed else 0
