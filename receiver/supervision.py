"""When each account was last heard from, and which keep failing: the input of site supervision."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["LinkBook", "LinkStatus"]


@dataclass
class LinkStatus:
    account: str
    last_heard: datetime | None = None
    last_poll: datetime | None = None
    rejections: int = 0  # NAK/DUH since the last accepted frame: wrong key or clock
    last_rejection: str = ""


@dataclass
class LinkBook:
    links: dict[str, LinkStatus] = field(default_factory=dict)

    def _get(self, account: str) -> LinkStatus:
        return self.links.setdefault(account.upper(), LinkStatus(account.upper()))

    def heard(self, account: str, now: datetime, *, poll: bool) -> None:
        link = self._get(account)
        link.last_heard = now
        link.rejections = 0
        if poll:
            link.last_poll = now

    def rejected(self, account: str, now: datetime, why: str) -> None:
        link = self._get(account)
        link.rejections += 1
        link.last_rejection = f"{now.isoformat()} {why}"
