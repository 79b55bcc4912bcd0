"""Ctrl-C and SIGTERM end a service cleanly: they set an event its loops watch."""

from __future__ import annotations

import asyncio
import contextlib
import signal

__all__ = ["cancel_firmly", "stop_on_signals"]


def stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    return stop


async def cancel_firmly(task: asyncio.Task[object], *, every: float = 1.0, attempts: int = 10) -> None:
    """Cancel until the task has ended: Python 3.11's ``asyncio.wait_for`` (used inside aiomqtt)
    can swallow a cancellation that arrives as its inner await completes."""
    for _ in range(attempts):
        task.cancel()
        done, _ = await asyncio.wait({task}, timeout=every)
        if done:
            return
    raise TimeoutError(f"task {task.get_name()} ignored {attempts} cancellations")
