"""Site supervision: when each account was last heard from and which keep failing, and the
rule that turns a missed poll or repeated NAK/DUH into an alarm (and its restore).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from config.receiver import Account
from receiver.alarms import AlarmClass
from receiver.desk import AlarmDesk

__all__ = ["REJECTIONS_FOR_ALARM", "LinkBook", "LinkStatus", "SiteWatch", "account_in_frame", "faults"]

REJECTIONS_FOR_ALARM = 3  # one NAK is a hiccup; three in a row is a wrong key or clock
_ACCOUNT = re.compile(rb"#([0-9A-Fa-f]{1,16})\[")


def account_in_frame(raw: bytes) -> str | None:
    """The account in a frame's clear header, for frames that could not be decrypted."""
    match = _ACCOUNT.search(raw[:80])
    return match.group(1).decode().upper() if match else None


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

    def status(self, account: str) -> LinkStatus:
        return self.links.get(account.upper()) or LinkStatus(account.upper())


def faults(account: Account, link: LinkStatus, now: datetime, started: datetime) -> set[AlarmClass]:
    """Pure rule: silent longer than poll interval + grace -> ATS failure; repeated rejections
    -> technical. A site never heard from is timed from the receiver's start."""
    found: set[AlarmClass] = set()
    since = link.last_heard or started
    if now - since > account.poll_interval + account.poll_grace:
        found.add(AlarmClass.ATS_FAILURE)
    if link.rejections >= REJECTIONS_FOR_ALARM:
        found.add(AlarmClass.TECHNICAL)
    return found


_TEXT = {
    (AlarmClass.ATS_FAILURE, True): "no poll or event within the poll interval",
    (AlarmClass.ATS_FAILURE, False): "link restored: site heard again",
    (AlarmClass.TECHNICAL, True): "frames keep being refused (wrong key or clock?)",
    (AlarmClass.TECHNICAL, False): "frames accepted again",
}


@dataclass
class SiteWatch:
    """Applies ``faults`` to every account on each tick and tells the desk about transitions."""

    accounts: Sequence[Account]
    links: LinkBook
    desk: AlarmDesk
    started: datetime
    active: set[tuple[str, AlarmClass]] = field(default_factory=set)

    async def load(self) -> None:
        """Resume the faults the desk already knows, so a restart neither repeats nor loses them."""
        self.active = await self.desk.conditions()

    async def tick(self, now: datetime) -> None:
        for account in self.accounts:
            found = faults(account, self.links.status(account.account), now, self.started)
            for kind in (AlarmClass.ATS_FAILURE, AlarmClass.TECHNICAL):
                key = (account.site, kind)
                if kind in found and key not in self.active:
                    self.active.add(key)
                    await self.desk.raise_condition(account.site, kind, _TEXT[kind, True])
                elif kind not in found and key in self.active:
                    self.active.discard(key)
                    await self.desk.restore_condition(account.site, kind, _TEXT[kind, False])
