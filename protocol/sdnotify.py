"""systemd notification: READY=1 once running, WATCHDOG=1 from the event loop itself.

If the loop stalls, the pings stop and systemd restarts the service (``WatchdogSec=``).
Without ``NOTIFY_SOCKET`` (tests, a terminal) every call does nothing.
"""

from __future__ import annotations

import asyncio
import os
import socket

__all__ = ["notify", "watchdog_interval", "watchdog_loop"]


def notify(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            return False
    return True


def watchdog_interval() -> float | None:
    """Half the watchdog period systemd asked for, or None when there is no watchdog."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2_000_000


async def watchdog_loop() -> None:
    notify("READY=1")
    interval = watchdog_interval()
    if interval is None:
        return
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
