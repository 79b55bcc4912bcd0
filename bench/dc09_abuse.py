"""Good senders' ACK latency while abusive clients flood the receiver (issue 17, High 3).

`wachter receiver` runs in its own process with its defaults (docs/security.md). Good senders
(127.0.0.1) each send an encrypted SIA-DCS event every ``--interval`` on a kept connection and
time its ACK; first alone, then while ``--abusers`` clients (127.0.0.2, .3, ... each its own
address, in a separate process) stream `\\n\\r` pairs at ``--rate`` bytes/s each, the attack of
the issue, reconnecting as soon as they are cut off. Target: good senders' p99 <= 50 ms.

    python bench/dc09_abuse.py [--abusers 25] [--rate 300000] [--seconds 10] [--root TREE]

``--root`` runs the receiver of another checkout (e.g. an export of main, for "before");
``--ban 0s`` measures without bans (the error budget alone).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dc09_receiver as rig  # noqa: E402  (bench/ is on sys.path when run as a script)
import deadline  # noqa: E402

from protocol.dc09 import Dc09Key, Message, encode  # noqa: E402

TARGET_P99_MS = 50.0


@dataclass
class Timings:
    rtt: list[float] = field(default_factory=list)
    refused: int = 0  # NAK/DUH, or a reply for another sequence
    lost: int = 0  # no reply within the deadline, or the connection dropped


async def _good_sender(port: int, account: str, interval: float, stop: float, out: Timings) -> None:
    """One site: an event every ``interval`` s, one at a time, each ACK timed."""
    key = Dc09Key.from_ascii(rig.KEY_TEXT)
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    seq = 0
    try:
        while time.perf_counter() < stop:
            seq = seq % 9999 + 1
            msg = Message("SIA-DCS", seq, account, receiver="1", prefix="0",
                          data=f"#{account}|Nri1/RP{seq % 1000:03d}",
                          timestamp=datetime.now(UTC), encrypted=True)
            frame = encode(msg, key)
            sent = time.perf_counter()
            writer.write(frame)
            try:
                reply = await asyncio.wait_for(reader.readuntil(b"\r"), 30)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                out.lost += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            took = time.perf_counter() - sent
            if b'ACK"' + f"{seq:04d}".encode() in reply[:24]:
                out.rtt.append(took)
            else:
                out.refused += 1
            await asyncio.sleep(max(interval - took, 0.0))
    finally:
        writer.close()


async def _good_phase(port: int, senders: int, interval: float, seconds: float) -> Timings:
    out = Timings()
    stop = time.perf_counter() + seconds
    async with asyncio.TaskGroup() as tg:
        for i, account in enumerate(rig._accounts(senders)):
            await asyncio.sleep(interval / senders)  # spread the senders over the interval
            tg.create_task(_good_sender(port, account, interval, stop, out), name=f"sender-{i}")
    return out


async def _abuser(port: int, source: str, rate: int, stop: float, tally: dict[str, int]) -> None:
    """Streams `\\n\\r` pairs at ``rate`` bytes/s; reconnects at once whenever it is cut off."""
    chunk = b"\n\r" * max(rate // 200, 1)  # 100 writes a second
    while time.perf_counter() < stop:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
        except OSError:
            tally["connect_failed"] += 1
            await asyncio.sleep(0.01)
            continue
        tally["connections"] += 1
        try:
            while time.perf_counter() < stop and not reader.at_eof():
                writer.write(chunk)
                tally["bytes"] += len(chunk)
                await asyncio.wait_for(writer.drain(), 5)
                await asyncio.sleep(0.01)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(reader.read(1), 0)  # notices a close by the receiver
        except (ConnectionError, TimeoutError, RuntimeError):  # uvloop: RuntimeError once closed
            pass
        finally:
            writer.close()


def _run_abusers(port: int, count: int, rate: int, seconds: float, result: Any) -> None:
    """In a child process, so the abusers do not share the good senders' event loop."""
    tally = {"connections": 0, "connect_failed": 0, "bytes": 0}

    async def main() -> None:
        stop = time.perf_counter() + seconds
        async with asyncio.TaskGroup() as tg:
            for i in range(count):
                tg.create_task(_abuser(port, f"127.0.0.{2 + i}", rate, stop, tally), name=f"abuser-{i}")

    try:
        rig._event_loop_runner("auto")(main())
    finally:
        result.update(tally)


@contextlib.contextmanager
def _receiver(root: Path, tmp: Path, accounts: list[str], ban: str | None) -> Iterator[int]:
    """`wachter receiver --config` of the tree ``root``; the keys in the config file, not argv."""
    port = rig._free_port()
    lines = [f"listen: [tcp://127.0.0.1:{port}]", f"store: sqlite://{tmp / 'receiver.db'}",
             "http: {port: 0}", "accounts:"]
    key = f"ascii:{rig.KEY_TEXT}"
    lines += [f'  - {{account: "{a}", site: site-{a.lower()}, key: "{key}"}}' for a in accounts]
    if ban is not None:
        lines.append(f"limits: {{ban: {ban}}}")
    config = tmp / "receiver.yaml"
    config.write_text("\n".join(lines) + "\n")
    config.chmod(0o600)
    log = (tmp / "receiver.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "wachter.cli", "receiver", "--config", str(config)],
                            cwd=root, stdout=log, stderr=log)
    try:
        rig._wait_listening(port, lambda: proc.poll() is None, "wachter receiver")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _row(name: str, t: Timings) -> str:
    return (f"{name:<22} {len(t.rtt):>7,} {t.refused:>7,} {t.lost:>6,} {rig._pct(t.rtt, 0.50):>8.2f}"
            f" {rig._pct(t.rtt, 0.99):>8.2f} {max(t.rtt, default=float('nan')) * 1000:>8.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=int, default=8, help="good senders (sites)")
    parser.add_argument("--interval", type=float, default=0.05, help="seconds between a sender's events")
    parser.add_argument("--abusers", type=int, default=25, help="abusive clients, one address each")
    parser.add_argument("--rate", type=int, default=300_000, help="bytes/s each abuser streams")
    parser.add_argument("--seconds", type=float, default=10.0, help="each phase: alone, then under attack")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout whose receiver runs")
    parser.add_argument("--ban", metavar="DURATION",
                        help="limits.ban for the receiver, e.g. 0s (default: its own)")
    args = parser.parse_args()
    if not 1 <= args.abusers <= 250:
        raise SystemExit("--abusers: 1 to 250 (one 127.0.0.x address each)")
    deadline.start(120 + 2 * args.seconds + 60)  # the whole run, whatever hangs
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    runner = rig._event_loop_runner("auto")
    with tempfile.TemporaryDirectory(prefix="wachter-abuse-") as tmp, \
            _receiver(args.root.resolve(), Path(tmp), rig._accounts(args.senders), args.ban) as port:
        alone: Timings = runner(_good_phase(port, args.senders, args.interval, args.seconds))
        with multiprocessing.Manager() as manager:
            result = manager.dict()
            abusers = multiprocessing.get_context("spawn").Process(
                target=_run_abusers, args=(port, args.abusers, args.rate, args.seconds + 2, result))
            abusers.start()
            time.sleep(1.0)  # the flood is running before the measurement starts
            attacked: Timings = runner(_good_phase(port, args.senders, args.interval, args.seconds))
            abusers.join(args.seconds + 30)
            if abusers.is_alive():
                abusers.terminate()
                abusers.join(5)
            tally = dict(result)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nDC-09 receiver under abuse: {args.senders} good senders (an encrypted event every"
          f" {args.interval * 1000:g} ms each), {args.seconds:g} s per phase; receiver from {args.root}"
          f"{f', limits.ban {args.ban}' if args.ban is not None else ''}")
    print(f"{multiprocessing.cpu_count()} CPUs, load average before {load_before}, at the end {load}"
          " (other work on the machine skews this)")
    print(f"abusers: {args.abusers} clients, one address each, `\\n\\r` at {args.rate:,} B/s each,"
          f" reconnecting when cut off: {tally.get('connections', 0):,} connections,"
          f" {tally.get('bytes', 0) / 1e6:,.1f} MB written,"
          f" {tally.get('connect_failed', 0):,} connects failed\n")
    print(f"{'phase':<22} {'ACKed':>7} {'refused':>7} {'lost':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    print(_row("alone", alone))
    print(_row(f"with {args.abusers} abusers", attacked))
    p99 = rig._pct(attacked.rtt, 0.99)
    ok = bool(attacked.rtt) and p99 <= TARGET_P99_MS and not attacked.lost and not attacked.refused
    if not tally.get("bytes"):
        print("the abusers did not run: no figure")
        ok = False
    print(f"\ngood senders' p99 under attack {p99:.2f} ms (target <= {TARGET_P99_MS:g} ms):"
          f" {'ok' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
