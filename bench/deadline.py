"""Every bench ends by itself: a wall-clock deadline for the whole run, whatever hangs.

A bench's own teardown is bounded (each stop has a timeout), but a teardown can still wait for
ever on something nobody bounded: a task that swallowed its cancellation (Python 3.11's
``wait_for``), a child that ignores SIGTERM. ``start(seconds)`` arms a watchdog thread: when the
deadline passes it prints every thread's stack (where it hung), kills this process's children
and grandchildren (receiver, agent, mosquitto, PostgreSQL) and exits with status 3.

``BENCH_DEADLINE_S`` overrides the bench's own estimate.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import threading
from pathlib import Path

__all__ = ["start"]


def start(seconds: float) -> threading.Timer:
    seconds = float(os.environ.get("BENCH_DEADLINE_S", seconds))
    timer = threading.Timer(seconds, _expire, args=(seconds,))
    timer.daemon = True
    timer.start()
    return timer


def _expire(seconds: float) -> None:
    print(f"\nbench deadline of {seconds:g} s passed: stopping (stacks below)", file=sys.stderr, flush=True)
    faulthandler.dump_traceback(all_threads=True)
    for pid in _descendants(os.getpid()):
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.kill(pid, signal.SIGKILL)
    os._exit(3)


def _descendants(root: int) -> list[int]:
    """Every process below ``root`` (Linux /proc), children first found, deepest last."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()  # the name may hold spaces and parentheses
        parents[int(entry.name)] = int(fields[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found
