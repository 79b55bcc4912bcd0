"""CPU per frame of the receiver's own work, without sockets: decode, checks, group commit to a
real SQLite store (WAL, synchronous=FULL), ACK. Frames come in batches of --batch (as they do
from that many concurrent senders); the figure is what `wachter receiver` spends per frame
before the kernel's share (TCP, context switches), so it shows the effect of a code change.

    python bench/dc09_handler_cpu.py [--frames 20000] [--batch 8]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import deadline  # bench/deadline.py: this directory is on sys.path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from config.receiver import Account  # noqa: E402
from protocol.dc09 import Dc09Key, Message, encode  # noqa: E402
from receiver.handler import FrameHandler  # noqa: E402
from receiver.sqlite_store import SqliteEventStore  # noqa: E402
from receiver.supervision import LinkBook  # noqa: E402

KEY_TEXT = "AAAAAAAAAAAAAAAA"


async def _run(frames: int, batch: int) -> tuple[float, float, int]:
    key = Dc09Key.from_ascii(KEY_TEXT)
    accounts = [Account(account=f"{0xB000 + i:04X}", site=f"s{i}", key=f"ascii:{KEY_TEXT}")
                for i in range(batch)]
    now = datetime.now(UTC)
    rounds = [[encode(Message("SIA-DCS", n % 9999 + 1, a.account, receiver="1", prefix="0",
                              data=f"#{a.account}|Nri1/RP{n // 9999 + 1:03d}", timestamp=now,
                              encrypted=True), key) for a in accounts]
              for n in range(frames // batch)]
    with tempfile.TemporaryDirectory(prefix="wachter-bench-") as tmp:
        async with SqliteEventStore(Path(tmp) / "r.db") as store:
            handler = FrameHandler(accounts, store, LinkBook(), lambda: datetime.now(UTC))
            wall, cpu = time.perf_counter(), time.process_time()
            for frames_of_round in rounds:
                replies = [handler.receive(f, transport="tcp", peer="bench") for f in frames_of_round]
                answers = await asyncio.gather(*(r for r in replies if isinstance(r, asyncio.Future)))
                if len(answers) != len(frames_of_round) or not all(answers):
                    raise SystemExit("a frame was not ACKed")
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            return wall, cpu, handler.committer.commits


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=8, help="frames per commit (concurrent senders)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    deadline.start(120 + args.runs * args.frames / 1000)  # far more than 1 ms a frame
    results = [asyncio.run(_run(args.frames, args.batch)) for _ in range(args.runs)]
    count = args.frames // args.batch * args.batch
    cpu = statistics.median(r[1] for r in results) / count * 1e6
    wall = statistics.median(r[0] for r in results) / count * 1e6
    print(f"receiver work per frame, batches of {args.batch}, {count:,} frames, median of {args.runs}:"
          f" {cpu:.1f} µs CPU, {wall:.1f} µs wall ({1e6 / wall:,.0f} frames/s on one core);"
          f" {results[0][2]:,} commits")
    return 0


if __name__ == "__main__":
    sys.exit(main())
