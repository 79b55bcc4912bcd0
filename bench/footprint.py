"""Agent footprint: the example site with its 10 devices heartbeating (simulator), idle for 60 s.

Real mosquitto and receiver; the agent as a subprocess, measured with psutil: resident memory at
the end (and its peak during the window) and CPU time over the window as % of one core.
Target (issue 5): RSS <= 80 MB and CPU <= 1 %, so it fits a Raspberry Pi 3 beside mosquitto.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from pathlib import Path

import deadline  # bench/deadline.py: this directory is on sys.path
import psutil  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.loader import load_site
from receiver.service import Receiver
from simulator.devices import SimulatedSite
from simulator.mosquitto import Mosquitto
from tests.faults.harness import agent_process, path_spec, receiver_on, write_site

WINDOW = float(os.environ.get("BENCH_WINDOW_S", "60"))
SETTLE = 10.0  # start-up (imports, first polls, resume) is not idle
HEARTBEAT = 10.0  # seconds between a device's heartbeats (the simulator's default is 30)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wachter-footprint-") as d:
        tmp = Path(d)
        (tmp / "broker").mkdir()
        broker = Mosquitto(tmp / "broker")
        broker.start()
        try:
            async with Receiver(receiver_on(tmp, "receiver")) as receiver:
                paths = [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}", poll="90s",
                                   ack_timeout="5s", retries=2),
                         path_spec("backup", f"udp://127.0.0.1:{receiver.port('udp')}", poll="180s",
                                   ack_timeout="5s", retries=2)]
                config = write_site(tmp, broker.url, paths)
                simulator = SimulatedSite(load_site(config), broker.url, heartbeat=HEARTBEAT)
                async with agent_process(tmp, config) as agent, asyncio.TaskGroup() as tg:
                    sim = tg.create_task(simulator.run(), name="simulator")
                    await agent.connected()
                    await asyncio.sleep(SETTLE)
                    assert agent.proc is not None
                    proc = psutil.Process(agent.proc.pid)
                    before, peak = proc.cpu_times(), proc.memory_info().rss
                    for _ in range(int(WINDOW)):
                        await asyncio.sleep(1)
                        peak = max(peak, proc.memory_info().rss)
                    after, rss = proc.cpu_times(), proc.memory_info().rss
                    sim.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sim
        finally:
            broker.stop()
    cpu = (after.user + after.system - before.user - before.system) / WINDOW * 100
    print(f"agent idle {WINDOW:g} s, 10 devices heartbeating every {HEARTBEAT:g} s: "
          f"RSS {rss / 2**20:.1f} MB (peak {peak / 2**20:.1f} MB), CPU {cpu:.2f} % of one core")
    print(f"targets: RSS <= 80 MB {'ok' if peak <= 80 * 2**20 else 'MISSED'}, "
          f"CPU <= 1 % {'ok' if cpu <= 1.0 else 'MISSED'}")


if __name__ == "__main__":
    deadline.start(WINDOW + SETTLE + 120)
    asyncio.run(main())
