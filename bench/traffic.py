"""Background traffic for bench/e2e_latency.py, in its own process (never on the measured loops).

    python bench/traffic.py mqtt --port P --rate 500     # device events of the demo site
    python bench/traffic.py dc09 --port P --rate 2000    # DC-09 frames from other sites

``mqtt``: tamper toggles of eight devices of the demo site (each one a TA or TR report for the
alarm centre), QoS 1, paced at ``rate`` events/s. ``dc09``: ``--senders`` panels of other sites
(accounts ``C000``..), each on its own kept TCP connection sending an encrypted SIA-DCS test
report (RP) and waiting for its ACK before the next, paced so that together they send ``rate``
frames/s. Runs until SIGTERM, then prints what it achieved on one line.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiomqtt

from protocol import mqtt
from protocol.dc09 import Dc09Key, FrameSplitter, Message, encode

SITE = "demo-home"
DEVICES = ["door-front", "door-back", "window-living", "window-bedroom", "window-study",
           "smoke-hall", "keypad-hall", "intercom-front"]
KEY = "hex:C73EC203BC231D91C3EEBBC4751A55E9"


def load_accounts(senders: int) -> list[str]:
    return [f"{0xC000 + i:04X}" for i in range(senders)]


async def _paced(rate: float, stop: asyncio.Event, one: object) -> int:
    """Call ``one()`` ``rate`` times a second (catching up when late) until ``stop``."""
    start, n = time.perf_counter(), 0
    while not stop.is_set():
        await one()  # type: ignore[operator]
        n += 1
        delay = start + n / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    return n


async def device_events(port: int, rate: float, stop: asyncio.Event) -> str:
    tampered = dict.fromkeys(DEVICES, False)
    count = 0

    async def one() -> None:
        nonlocal count
        device = DEVICES[count % len(DEVICES)]
        tampered[device] = not tampered[device]
        kind = mqtt.EventType.TAMPER if tampered[device] else mqtt.EventType.TAMPER_RESTORE
        event = mqtt.DeviceEvent(id=uuid.uuid4().hex, device=device, type=kind)
        await client.publish(mqtt.device_topic(SITE, device, mqtt.Channel.EVENT),
                             event.model_dump_json(), qos=1, timeout=10)
        count += 1

    began = time.perf_counter()
    name = f"bench-traffic-{uuid.uuid4().hex[:6]}"
    async with aiomqtt.Client("127.0.0.1", port, identifier=name) as client:
        await _paced(rate, stop, one)
    return f"mqtt: {count} events in {time.perf_counter() - began:.1f} s"


async def frames(port: int, rate: float, senders: int, stop: asyncio.Event) -> str:
    key = Dc09Key.parse(KEY)
    acked = [0]

    async def sender(account: str) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        seq = [0]

        async def one() -> None:
            seq[0] = seq[0] % 9999 + 1
            msg = Message("SIA-DCS", seq[0], account, receiver="1", prefix="0",
                          data=f"#{account}|Nri1/RP001", timestamp=datetime.now(UTC), encrypted=True)
            writer.write(encode(msg, key))
            splitter = FrameSplitter()
            async with asyncio.timeout(30):
                while True:
                    chunk = await reader.read(4096)
                    if not chunk:
                        raise ConnectionError("the receiver closed the connection")
                    if list(splitter.feed(chunk)):
                        break
            acked[0] += 1

        try:
            await _paced(rate / senders, stop, one)
        finally:
            writer.transport.abort()

    began = time.perf_counter()
    async with asyncio.TaskGroup() as tg:
        for account in load_accounts(senders):
            tg.create_task(sender(account))
    return f"dc09: {acked[0]} frames acknowledged in {time.perf_counter() - began:.1f} s"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("kind", choices=["mqtt", "dc09"], nargs="?")
    parser.add_argument("--port", type=int)
    parser.add_argument("--rate", type=float)
    parser.add_argument("--senders", type=int, default=40)
    args = parser.parse_args()
    if args.kind is None or args.port is None or args.rate is None:  # `make bench` runs every file
        print("bench/traffic.py is the load of bench/e2e_latency.py; alone it does nothing (--help)")
        return
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    if args.kind == "mqtt":
        said = await device_events(args.port, args.rate, stop)
    else:
        said = await frames(args.port, args.rate, args.senders, stop)
    print(said, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
