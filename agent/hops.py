"""Timestamps of an urgent alarm at each hop inside the agent, for ``bench/e2e_latency.py``.

Off unless ``WACHTER_HOP_TRACE`` names a file; then each hop appends one line, ``<hop> <ns>``,
with ``time.perf_counter_ns()`` (CLOCK_MONOTONIC on Linux: the same clock in every process of
the machine, so the bench can put the agent's hops between its own). Off, a hop costs one test.
"""

from __future__ import annotations

import os
import time
from typing import TextIO

__all__ = ["mark"]

_path = os.environ.get("WACHTER_HOP_TRACE")
_out: TextIO | None = open(_path, "a", buffering=1) if _path else None  # noqa: SIM115 - for the process's life


def mark(hop: str) -> None:
    """``hop`` happened now to the urgent alarm in hand (received, committed, sent)."""
    if _out is not None:
        _out.write(f"{hop} {time.perf_counter_ns()}\n")
