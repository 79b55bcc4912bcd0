"""Frames from accounts this receiver does not serve: counted, and summarised in bounded memory.

Such frames are refused (DUH or NAK) and never stored: anybody can make up account numbers
(over UDP without even a connection), so nothing about them may grow a table or a dict without
bound. The summary keeps the most recently seen accounts, each with its count, for
``/api/stats``: enough to spot a site whose account is missing from the configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["KEEP", "Strangers"]

KEEP = 100  # accounts listed at most; older ones are dropped (and counted as forgotten)


@dataclass
class _Seen:
    frames: int
    last: datetime
    peer: str


@dataclass
class Strangers:
    """A count of every frame from an unknown account, and the ``keep`` most recent accounts."""

    keep: int = KEEP
    frames: int = 0
    forgotten: int = 0  # accounts dropped from the list to keep it bounded
    _recent: dict[str, _Seen] = field(default_factory=dict)  # oldest first

    def note(self, account: str, now: datetime, peer: str) -> None:
        self.frames += 1
        key = account.upper()[:16]
        seen = self._recent.pop(key, None)
        if seen is None:
            if len(self._recent) >= self.keep:
                del self._recent[next(iter(self._recent))]
                self.forgotten += 1
            seen = _Seen(0, now, peer)
        seen.frames, seen.last, seen.peer = seen.frames + 1, now, peer
        self._recent[key] = seen  # now the newest

    def summary(self) -> dict[str, Any]:
        recent = [
            {"account": account, "frames": s.frames, "last": s.last.isoformat(), "peer": s.peer}
            for account, s in reversed(self._recent.items())
        ]
        return {"frames": self.frames, "forgotten": self.forgotten, "recent": recent}
