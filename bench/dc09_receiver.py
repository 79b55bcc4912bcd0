"""DC-09 receiver throughput: N closed-loop TCP senders against Wachter's receiver and pysiaalarm.

Each sender keeps one connection and sends one encrypted SIA-DCS frame (ascii key), waits for
its ACK, then sends the next. Wachter ACKs only after the event is committed to its SQLite
store (WAL, synchronous=FULL). Each receiver runs in its own process (Wachter as
`wachter receiver` with flags); the load generator runs in this one, with frames encoded
beforehand. Target (issue 3): Wachter >= 3x pysiaalarm and p99 round trip < 10 ms, 8 senders.

    python bench/dc09_receiver.py [--senders 8[,32]] [--seconds 10] [--warmup 2] [--runs 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import deadline  # bench/deadline.py: this directory is on sys.path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from protocol.dc09 import Dc09Key, Message, encode  # noqa: E402

KEY_TEXT = "AAAAAAAAAAAAAAAA"
CODE = "RP"  # automatic test: the bulk of an ARC's traffic; see --code


def _accounts(senders: int) -> list[str]:
    return [f"{0xB000 + i:04X}" for i in range(senders)]


def _encode_chunk(account: str, start: int, count: int, code: str) -> list[bytes]:
    """Frames ``start..start+count`` of one account: distinct (sequence, zone), fresh timestamp."""
    key = Dc09Key.from_ascii(KEY_TEXT)
    now = datetime.now(UTC)
    frames = []
    for i in range(start, start + count):
        zone = i // 9999 + 1
        msg = Message("SIA-DCS", i % 9999 + 1, account, receiver="1", prefix="0",
                      data=f"#{account}|Nri1/{code}{zone:03d}", timestamp=now, encrypted=True)
        frames.append(encode(msg, key))
    return frames


def _encode_all(accounts: list[str], per_sender: int, code: str,
                pool: ProcessPoolExecutor) -> list[list[bytes]]:
    """All senders' first chunks first: the frames sent first are the oldest (timestamp window)."""
    chunk = 2000
    jobs = {(s, a): pool.submit(_encode_chunk, a, s, min(chunk, per_sender - s), code)
            for s in range(0, per_sender, chunk) for a in accounts}
    return [[f for s in range(0, per_sender, chunk) for f in jobs[s, a].result()] for a in accounts]


@dataclass
class Tally:
    """ACKs and round trips of one run; only ACKs inside the measured window count."""

    start: float
    stop: float
    acked: int = 0
    acked_total: int = 0  # warm-up included: every one of these must be in the store
    refused: int = 0  # NAK, DUH or a reply for another sequence
    wrapped: int = 0  # senders that ran out of pre-encoded frames and resent old ones
    rtt: list[float] = field(default_factory=list)


class Sender(asyncio.Protocol):
    """One panel on one kept connection: a frame out, wait for its ACK, the next frame out."""

    def __init__(self, frames: list[bytes], tally: Tally, done: asyncio.Future[None]) -> None:
        self.frames, self.tally, self.done = frames, tally, done
        # what the reply must carry: ACK and our sequence, in clear in the header (encrypted or not)
        self.expect = [b'ACK"' + f[f.index(b'"', 10) + 1:][:4] for f in frames]
        self.index, self.buf, self.sent_at = 0, b"", 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self._send()

    def _send(self) -> None:
        i = self.index % len(self.frames)
        if i == 0 and self.index:
            self.tally.wrapped += 1
        self.sent_at = time.perf_counter()
        assert self.transport is not None
        self.transport.write(self.frames[i])

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r")
        if end < 0:
            return
        reply, self.buf = self.buf[:end], self.buf[end + 1:]
        now = time.perf_counter()
        tally = self.tally
        if self.expect[self.index % len(self.frames)] in reply[:24]:
            tally.acked_total += 1
            if tally.start <= now <= tally.stop:
                tally.acked += 1
                tally.rtt.append(now - self.sent_at)
        else:
            tally.refused += 1
        self.index += 1
        if now >= tally.stop:
            assert self.transport is not None
            self.transport.close()
        else:
            self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_result(None)


async def _load(port: int, frames: list[list[bytes]], warmup: float, seconds: float) -> Tally:
    loop = asyncio.get_running_loop()
    now = time.perf_counter()
    tally = Tally(start=now + warmup, stop=now + warmup + seconds)
    dones = [loop.create_future() for _ in frames]
    transports = []
    for mine, done in zip(frames, dones, strict=True):
        transport, _ = await loop.create_connection(lambda m=mine, d=done: Sender(m, tally, d),  # type: ignore[misc]
                                                    "127.0.0.1", port)
        transports.append(transport)
    try:
        await asyncio.wait_for(asyncio.gather(*dones), warmup + seconds + 15)
    finally:
        for transport in transports:
            transport.close()
    return tally


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_listening(port: int, alive: Any, what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not alive():
            raise SystemExit(f"{what} exited during start-up")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise SystemExit(f"{what} did not start listening on port {port}")


@contextlib.contextmanager
def wachter_receiver(tmp: Path, accounts: list[str]) -> Iterator[tuple[int, Path]]:
    """`wachter receiver` from flags, in its own process, with its store in ``tmp``."""
    port, db = _free_port(), tmp / "receiver.db"
    argv = [sys.executable, "-m", "wachter.cli", "receiver", "--listen", f"tcp://127.0.0.1:{port}",
            "--store", f"sqlite://{db}", "--http-port", "0"]
    key_file = tmp / "dc09.key"  # not on the command line, where `ps` shows it
    key_file.write_text(f"ascii:{KEY_TEXT}\n")
    key_file.chmod(0o600)
    for account in accounts:
        argv += ["--account", f"{account}:file:{key_file}"]
    log = (tmp / "receiver.log").open("wb")
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=log, stderr=log)
    try:
        _wait_listening(port, lambda: proc.poll() is None, "wachter receiver")
        yield port, db
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()


def _serve_pysiaalarm(port: int, accounts: list[str]) -> None:
    """pysiaalarm's asyncio TCP receiver with a no-op callback (runs in a child process)."""
    from pysiaalarm.account import SIAAccount
    from pysiaalarm.aio.client import SIAClient
    from pysiaalarm.utils.enums import CommunicationsProtocol

    async def on_event(_event: object) -> None:
        return None

    async def serve() -> None:
        sia = [SIAAccount(a, KEY_TEXT) for a in accounts]
        client: Any = SIAClient("127.0.0.1", port, sia, on_event,  # type: ignore[abstract]
                                protocol=CommunicationsProtocol.TCP)
        await client.async_start()
        await asyncio.Event().wait()

    asyncio.run(serve())


@contextlib.contextmanager
def pysiaalarm_receiver(accounts: list[str]) -> Iterator[int]:
    port = _free_port()
    proc = multiprocessing.get_context("spawn").Process(target=_serve_pysiaalarm, args=(port, accounts),
                                                        daemon=True)
    proc.start()
    try:
        _wait_listening(port, proc.is_alive, "pysiaalarm")
        yield port
    finally:
        proc.terminate()
        proc.join(10)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _run(port: int, accounts: list[str], rate_cap: int, args: argparse.Namespace,
         pool: ProcessPoolExecutor) -> Tally:
    per_sender = int(rate_cap * (args.warmup + args.seconds) / len(accounts)) + 1
    frames = _encode_all(accounts, per_sender, args.code, pool)  # timestamps: now
    tally: Tally = _event_loop_runner(args.loop)(_load(port, frames, args.warmup, args.seconds))
    return tally


def _event_loop_runner(kind: str) -> Any:
    """How the load generator runs: uvloop when installed (about 3x less CPU per frame than
    asyncio's loop), so the senders take less of the machine from the receiver under test.
    Both receivers face the same generator."""
    if kind != "asyncio":
        try:
            import uvloop
        except ImportError:
            if kind == "uvloop":
                raise SystemExit("--loop uvloop: uvloop is not installed") from None
        else:
            return uvloop.run
    return asyncio.run


def _loop_name(kind: str) -> str:
    return "asyncio" if _event_loop_runner(kind) is asyncio.run else "uvloop"


def _row(name: str, tally: Tally, seconds: float) -> str:
    return (f"{name:<12} {tally.acked / seconds:>10,.0f} {tally.acked:>10,} {tally.refused:>8,}"
            f" {_pct(tally.rtt, 0.50):>8.2f} {_pct(tally.rtt, 0.99):>8.2f} {_pct(tally.rtt, 0.999):>8.2f}")


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"--senders wants numbers like 8 or 8,32, got {text!r}") from None
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("--senders: at least one sender")
    return counts


@dataclass
class Round:
    """One measurement of one receiver at one sender count."""

    tally: Tally
    stored: int = -1  # events in Wachter's store afterwards (-1: not counted)

    def rate(self, seconds: float) -> float:
        return self.tally.acked / seconds


def _measure(name: str, senders: int, args: argparse.Namespace, pool: ProcessPoolExecutor) -> Round:
    accounts = _accounts(senders)
    if name == "pysiaalarm":
        with pysiaalarm_receiver(accounts) as port:
            return Round(_run(port, accounts, args.max_rate // 3, args, pool))
    with tempfile.TemporaryDirectory(prefix="wachter-bench-") as tmp:
        with wachter_receiver(Path(tmp), accounts) as (port, db):
            tally = _run(port, accounts, args.max_rate, args, pool)
        with sqlite3.connect(db) as conn:
            stored = int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
    return Round(tally, stored)


def _median_round(rounds: list[Round], seconds: float) -> Round:
    return sorted(rounds, key=lambda r: r.rate(seconds))[len(rounds) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--senders", type=_counts, default=[8, 32],
                        help="concurrent TCP senders, one count or several: 8,32 (the default)")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured time per receiver")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time before that")
    parser.add_argument("--runs", type=int, default=1,
                        help="runs per receiver and count, alternating; the median run is shown")
    parser.add_argument("--code", default=CODE, help="SIA event code sent (default RP)")
    parser.add_argument("--max-rate", type=int, default=15_000,
                        help="frames/s to pre-encode for Wachter (pysiaalarm gets a third)")
    parser.add_argument("--only", choices=["wachter", "pysiaalarm"], help="measure one receiver")
    parser.add_argument("--loop", choices=["auto", "uvloop", "asyncio"], default="auto",
                        help="event loop of the load generator (default: uvloop when installed)")
    parser.add_argument("--target", type=int, metavar="PORT",
                        help="load a receiver already running on 127.0.0.1:PORT instead (profiling)")
    args = parser.parse_args()
    load_before = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    names = [n for n in ("wachter", "pysiaalarm") if args.only in (None, n)]
    # each measurement: warm-up, measured time, and about a minute of encoding, start and stop
    deadline.start(60 + len(args.senders) * args.runs * len(names) * (args.warmup + args.seconds + 60))
    results: dict[int, dict[str, list[Round]]] = {}
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        if args.target:
            accounts = _accounts(args.senders[0])
            tally = _run(args.target, accounts, args.max_rate, args, pool)
            print(_row(f"port {args.target}", tally, args.seconds))
            return 0
        for senders in args.senders:
            results[senders] = {name: [] for name in names}
            for _ in range(args.runs):
                for name in names:
                    results[senders][name].append(_measure(name, senders, args, pool))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nDC-09 receivers, closed-loop TCP senders, encrypted SIA-DCS ({args.code}, ascii key),"
          f" {args.seconds:g} s after {args.warmup:g} s warm-up, median of {args.runs} run(s)")
    print(f"{multiprocessing.cpu_count()} CPUs, load average before {load_before}, at the end {load}"
          " (other work on the machine skews this)")
    print(f"load generator: one process, {_loop_name(args.loop)} event loop, frames encoded beforehand")
    print("wachter: `wachter receiver` (uvloop), SQLite WAL synchronous=FULL, every event committed"
          " before its ACK; pysiaalarm: its asyncio TCP server, no store\n")
    print(f"{'senders':>7} {'receiver':<12} {'ACKed/s':>10} {'ACKed':>10} {'refused':>8}"
          f" {'p50 ms':>8} {'p99 ms':>8} {'p99.9 ms':>8}   all runs, ACKed/s")
    failed = False
    for senders, by_name in results.items():
        for name, rounds in by_name.items():
            middle = _median_round(rounds, args.seconds)
            every = " ".join(f"{r.rate(args.seconds):,.0f}" for r in rounds)
            print(f"{senders:>7} {_row(name, middle.tally, args.seconds)}   {every}")
            for r in rounds:
                failed |= not r.tally.rtt
                if r.tally.wrapped:
                    print(f"warning: {name} senders ran out of frames {r.tally.wrapped}x; raise --max-rate")
                if r.tally.refused:
                    print(f"warning: {name} refused {r.tally.refused:,} frames (NAK/DUH); if encoding took"
                          " over 40 s their timestamps fell out of the window: lower --max-rate")
                if r.stored >= 0 and r.stored < r.tally.acked_total:
                    print(f"MISSING EVENTS: {name} ACKed {r.tally.acked_total:,} but stored {r.stored:,}")
                    failed = True
    print()
    for senders, by_name in results.items():
        if "wachter" in by_name:
            rounds = by_name["wachter"]
            stored, acked = sum(r.stored for r in rounds), sum(r.tally.acked_total for r in rounds)
            p99 = _pct(_median_round(rounds, args.seconds).tally.rtt, 0.99)
            print(f"{senders} senders: wachter stored {stored:,} events for {acked:,} ACKs"
                  f" ({'ok' if stored >= acked else 'MISSING EVENTS'}); p99 {p99:.2f} ms (target < 10 ms)")
        if len(by_name) == 2:
            ours, theirs = (_median_round(by_name[n], args.seconds).rate(args.seconds) for n in names)
            if theirs:
                print(f"{senders} senders: ratio wachter / pysiaalarm {ours / theirs:.2f}x (target >= 3x)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
