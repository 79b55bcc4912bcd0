"""Shared shell of the driver commands: load the site, run until SIGINT/SIGTERM, exit code."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from config.loader import ConfigError, load_site
from config.site import Site
from protocol.sdnotify import watchdog_loop

__all__ = ["run_driver"]


def run_driver(config: Path, body: Callable[[Site, asyncio.Event], Awaitable[None]]) -> int:
    """Exit 2 on a bad config (each problem on its own line), 0 after a clean stop."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        site = load_site(config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with asyncio.TaskGroup() as tg:
            watchdog = tg.create_task(watchdog_loop(), name="watchdog")  # READY=1, then pings
            await body(site, stop)
            watchdog.cancel()

    problems: list[str] = []
    try:
        asyncio.run(main())
    except* (ValueError, OSError) as group:  # a pin used twice, missing credentials, no camera
        problems += [str(exc) for exc in group.exceptions]
    for problem in problems:
        print(f"{config}: {problem}", file=sys.stderr)
    return 2 if problems else 0
