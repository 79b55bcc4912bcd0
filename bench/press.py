"""The panic button of bench/e2e_latency.py, in a process of its own as on the Pi (where the
GPIO driver is never in the alarm centre's receiver process).

    python bench/press.py --port P --site demo-home --device panic-hall

Prints ``ready`` once connected; then for every line on stdin presses once (the real driver link,
``drivers/link.py``) and prints the press's ``time.perf_counter()`` (CLOCK_MONOTONIC, the clock
every process of the bench stamps its hops with). Ends at the end of stdin.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.broker import Broker
from drivers.link import DeviceLink
from protocol import mqtt


async def main(port: int, site: str, device: str) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    async with DeviceLink(Broker("127.0.0.1", port), site, device) as link:
        async with asyncio.timeout(10):
            await link.connected.wait()
        print("ready", flush=True)
        while await stdin.readline():
            pressed = time.perf_counter()
            link.event(mqtt.EventType.PRESS)
            print(f"{pressed:.9f}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--site", required=True)
    parser.add_argument("--device", required=True)
    args = parser.parse_args()
    asyncio.run(main(args.port, args.site, args.device))
