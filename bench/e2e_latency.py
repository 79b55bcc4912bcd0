"""End-to-end alarm latency: a panic press published on the broker -> the PA committed at the receiver.

Real mosquitto, the real receiver (in this process, so the commit is timed by its own callback)
and the agent as a subprocess with the example site. 1,000 presses one after another, idle and
with 100 background device events per second (tamper toggles of other devices, each one a report
for the alarm centre). Target (issue 5): p99 <= 50 ms.

mosquitto runs with ``set_tcp_nodelay true`` as production should: with Nagle's algorithm on
(mosquitto's default) every hop waits for a delayed ACK and the p50 is ~95 ms instead of ~6 ms.
Set BENCH_MOSQUITTO_CONF="" to see that. A run stops at BENCH_CAP_S seconds per phase.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiomqtt
import deadline

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol import mqtt
from protocol.mqtt_client import bounded, still_wanted
from receiver.service import Receiver
from simulator.mosquitto import Mosquitto
from tests.faults.harness import SITE, agent_process, path_spec, receiver_on, write_site

PRESSES = int(os.environ.get("BENCH_PRESSES", "1000"))
CAP = float(os.environ.get("BENCH_CAP_S", "120"))
WARMUP, BACKGROUND_RATE = 20, 100.0
BACKGROUND_DEVICES = ["door-front", "door-back", "window-living", "window-bedroom", "window-study",
                      "smoke-hall", "keypad-hall", "intercom-front"]


def _event(device: str, kind: mqtt.EventType) -> tuple[str, str]:
    event = mqtt.DeviceEvent(id=uuid.uuid4().hex, device=device, type=kind)
    return mqtt.device_topic(SITE, device, mqtt.Channel.EVENT), event.model_dump_json()


async def _background(client: aiomqtt.Client, rate: float, stop: asyncio.Event) -> None:
    """Until ``stop``: a flag, not only a cancel, which a publish may swallow (Python 3.11)."""
    tampered = dict.fromkeys(BACKGROUND_DEVICES, False)
    start, n = time.perf_counter(), 0
    while not stop.is_set():
        still_wanted()
        device = BACKGROUND_DEVICES[n % len(BACKGROUND_DEVICES)]
        tampered[device] = not tampered[device]
        kind = mqtt.EventType.TAMPER if tampered[device] else mqtt.EventType.TAMPER_RESTORE
        await client.publish(*_event(device, kind), qos=1)
        n += 1
        await asyncio.sleep(max(0.0, start + n / rate - time.perf_counter()))


async def _presses(client: aiomqtt.Client, receiver: Receiver, added: asyncio.Queue[float]) -> list[float]:
    latencies: list[float] = []
    last = await receiver.store.last_id()
    stop_at = time.perf_counter() + CAP
    for i in range(PRESSES + WARMUP):
        if time.perf_counter() > stop_at:
            print(f"(capped at {CAP:g} s after {len(latencies)} presses)", flush=True)
            break
        while not added.empty():
            added.get_nowait()
        sent = time.perf_counter()
        await client.publish(*_event("panic-hall", mqtt.EventType.PRESS), qos=1)
        while True:
            committed = await asyncio.wait_for(added.get(), 10)
            found = await receiver.store.events(code="PA", after_id=last, limit=1)
            if found:
                last = found[-1].id
                break
        if i >= WARMUP:
            latencies.append((committed - sent) * 1000)
    return latencies


def _report(label: str, ms: list[float]) -> None:
    q = statistics.quantiles(ms, n=100)
    print(f"{label:<28} n={len(ms)}  p50 {statistics.median(ms):6.1f} ms  p99 {q[98]:6.1f} ms  "
          f"max {max(ms):6.1f} ms", flush=True)


async def main() -> None:
    with tempfile.TemporaryDirectory(prefix="wachter-bench-") as d:
        tmp = Path(os.environ.get("BENCH_DIR", d))
        (tmp / "broker").mkdir()
        conf = os.environ.get("BENCH_MOSQUITTO_CONF", "set_tcp_nodelay true\n")
        broker = Mosquitto(tmp / "broker", extra_conf=conf)
        broker.start()
        try:
            async with Receiver(receiver_on(tmp, "receiver")) as receiver:
                added: asyncio.Queue[float] = asyncio.Queue()
                receiver.store.on_added(lambda _id: added.put_nowait(time.perf_counter()))
                paths = [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}", poll="90s",
                                   ack_timeout="5s", retries=2),
                         path_spec("backup", f"udp://127.0.0.1:{receiver.port('udp')}", poll="180s",
                                   ack_timeout="5s", retries=2)]
                devices = aiomqtt.Client("127.0.0.1", broker.port, identifier="bench-devices")
                async with agent_process(tmp, write_site(tmp, broker.url, paths)) as agent, \
                        bounded(devices) as client:
                    await agent.connected()
                    await asyncio.sleep(1.0)  # the agent's resume after connect
                    _report("idle", await _presses(client, receiver, added))
                    stop = asyncio.Event()
                    async with asyncio.TaskGroup() as tg:
                        load = tg.create_task(_background(client, BACKGROUND_RATE, stop), name="background")
                        try:
                            await asyncio.sleep(1.0)
                            loaded = await _presses(client, receiver, added)
                            _report(f"{BACKGROUND_RATE:g} background events/s", loaded)
                        finally:
                            stop.set()
                            async with asyncio.timeout(10):  # bounded: never waits for ever
                                await asyncio.wait([load])
        finally:
            broker.stop()


if __name__ == "__main__":
    deadline.start(2 * CAP + 120)
    asyncio.run(main())
