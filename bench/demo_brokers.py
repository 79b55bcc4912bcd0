"""Panic press to PA at the alarm centre, in `wachter demo` on mosquitto and on the embedded broker.

    python bench/demo_brokers.py [--presses 30] [--rounds 2]

Each round starts the demo once per broker (alternating), presses the hall panic button through
the simulator `--presses` times, one at a time, and takes the time from just before the press
command leaves to the PA's `received_at` at the receiver (the same clock: one machine). Prints
p50/p99/max per broker over all rounds. Issue 14: the embedded broker must not be slower than
mosquitto here (both well under 1 s).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from simulator.control import send_action
from simulator.devices import SimAction
from tests.e2e.demo_process import Demo, running_demo


def _pa_times(demo: Demo) -> list[float]:
    return sorted(datetime.fromisoformat(str(e["received_at"])).timestamp()
                  for e in demo.events() if e["code"] == "PA")


def _presses(demo: Demo, count: int) -> list[float]:
    latencies: list[float] = []
    assert demo.sim("press", "panic-hall").returncode == 0  # the simulator is up; not measured
    demo.wait_for_codes("PA", 1, timeout=10)
    asyncio.run(send_action(demo.broker, "panic-hall", SimAction(action="release")))
    time.sleep(0.3)
    for _ in range(count):
        before = len(_pa_times(demo))
        pressed = time.time()
        asyncio.run(send_action(demo.broker, "panic-hall", SimAction(action="press")))
        deadline = time.monotonic() + 10
        while len(times := _pa_times(demo)) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        if len(times) == before:
            raise SystemExit("a press did not arrive within 10 s")
        latencies.append(times[-1] - pressed)
        time.sleep(0.2)  # a real press lasts a moment; the driver debounces a bouncing contact
        asyncio.run(send_action(demo.broker, "panic-hall", SimAction(action="release")))
        time.sleep(0.3)
    return latencies


def _row(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return (f"{name:10s} n={len(ms):3d}  p50 {statistics.median(ms):7.1f} ms  p99 {p99:7.1f} ms  "
            f"max {ms[-1]:7.1f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presses", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    results: dict[str, list[float]] = {"mosquitto": [], "embedded": []}
    with tempfile.TemporaryDirectory(prefix="wachter-bench-brokers-") as tmp:
        for round_no in range(args.rounds):
            for broker in results:
                with running_demo(Path(tmp) / f"{broker}-{round_no}", "--broker", broker) as demo:
                    results[broker] += _presses(demo, args.presses)
    print("panic press -> PA stored at the receiver, `wachter demo`:")
    for broker, values in results.items():
        print("  " + _row(broker, values))
    return 0


if __name__ == "__main__":
    sys.exit(main())
