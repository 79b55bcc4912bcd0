"""The agent's systemd watchdog; the protocol itself lives in ``protocol/sdnotify.py``."""

from protocol.sdnotify import notify, watchdog_interval, watchdog_loop

__all__ = ["notify", "watchdog_interval", "watchdog_loop"]
