"""Ending a background task an owner started (a service's loop, at its ``__aexit__``)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["stop"]


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has ended; its cancellation is not re-raised."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
