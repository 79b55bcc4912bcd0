"""Who may talk to the DC-09 listeners: connection counts per address and in total, error
budgets, and short bans for addresses that abused them. Plain bookkeeping; the caller passes
the time (the event loop's clock), so tests move it by hand.
"""

from __future__ import annotations

import logging
import resource

__all__ = ["RESERVED_FDS", "Admission", "ErrorBudget", "connection_room"]

log = logging.getLogger(__name__)

#: file descriptors kept free of DC-09 connections: console and API, database, logs
RESERVED_FDS = 256
MAX_BANS = 65_536  # addresses remembered at once; expired bans go first


class ErrorBudget:
    """A token bucket of refused frames: ``burst`` at once, ``rate`` per second sustained."""

    __slots__ = ("stamp", "tokens")

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.stamp = now

    def spend(self, count: int, now: float, rate: float, burst: float) -> bool:
        """Take ``count`` tokens; False once the budget is overdrawn."""
        self.tokens = min(burst, self.tokens + (now - self.stamp) * rate) - count
        self.stamp = now
        return self.tokens >= 0


class Admission:
    """Open connections per address and in total, and the addresses banned until a time."""

    def __init__(self, total: int, per_address: int, ban: float) -> None:
        self.total, self.per_address, self.ban_seconds = total, per_address, ban
        self.open: dict[str, int] = {}
        self.count = 0
        self.bans: dict[str, float] = {}  # address -> banned until

    def banned(self, host: str, now: float) -> bool:
        until = self.bans.get(host)
        if until is None:
            return False
        if now < until:
            return True
        del self.bans[host]
        return False

    def admit(self, host: str, now: float) -> str | None:
        """Count a new connection from ``host``; or the reason it is refused."""
        if self.bans and self.banned(host, now):
            return "banned"
        if self.count >= self.total:
            return "total"
        held = self.open.get(host, 0)
        if held >= self.per_address:
            return "per_address"
        self.open[host] = held + 1
        self.count += 1
        return None

    def release(self, host: str) -> None:
        held = self.open.get(host, 0)
        if held <= 1:
            self.open.pop(host, None)
        else:
            self.open[host] = held - 1
        self.count = max(self.count - 1, 0)

    def ban(self, host: str, now: float) -> None:
        """Refuse ``host`` for ``ban`` seconds (nothing when bans are off)."""
        if self.ban_seconds <= 0:
            return
        if len(self.bans) >= MAX_BANS:
            self.bans = {h: t for h, t in self.bans.items() if t > now}
            while len(self.bans) >= MAX_BANS:
                del self.bans[next(iter(self.bans))]
        self.bans.pop(host, None)  # re-inserted last: the oldest bans are dropped first
        self.bans[host] = now + self.ban_seconds


def connection_room(wanted: int) -> int:
    """How many DC-09 connections the file-descriptor limit allows, up to ``wanted``.

    Raises the process's soft limit towards the hard one (``LimitNOFILE`` in the unit) when
    that makes room; what cannot fit is logged, once, at start.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + RESERVED_FDS
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
    if soft == resource.RLIM_INFINITY or soft >= need:
        return wanted
    room = max(soft - RESERVED_FDS, 1)
    log.warning("open-file limit %d leaves room for %d DC-09 connections, not the %d configured;"
                " raise LimitNOFILE (the unit sets 65536)", soft, room, wanted)
    return room
