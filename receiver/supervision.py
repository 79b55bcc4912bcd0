"""Site supervision: the rule that turns a missed poll or repeated NAK/DUH into an alarm (and
its restore), applied to what every receiver process heard (``receiver/links.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from config.receiver import Account
from receiver.alarms import AlarmClass
from receiver.desk import AlarmDesk
from receiver.links import LinkBook, LinkStatus

__all__ = ["REJECTIONS_FOR_ALARM", "LinkBook", "LinkStatus", "SiteWatch", "account_in_frame", "faults"]

REJECTIONS_FOR_ALARM = 3  # one NAK is a hiccup; three in a row is a wrong key or clock
_ACCOUNT = re.compile(rb"#([0-9A-Fa-f]{1,16})\[")


def account_in_frame(raw: bytes) -> str | None:
    """The account in a frame's clear header, for frames that could not be decrypted."""
    match = _ACCOUNT.search(raw[:80])
    return match.group(1).decode().upper() if match else None


def faults(account: Account, link: LinkStatus, now: datetime, started: datetime) -> dict[AlarmClass, bool]:
    """Pure rule, per kind: True a fault, False healthy, absent not known yet.

    Silent longer than poll interval + grace -> ATS failure, timed from the later of the last
    frame and this process's start (a restart after downtime does not alarm every site at
    once); healthy only when heard within that time (a restart does not restore a real
    failure). Repeated rejections -> technical."""
    limit = account.poll_interval + account.poll_grace
    found = {AlarmClass.TECHNICAL: link.rejections >= REJECTIONS_FOR_ALARM}
    heard = link.last_heard
    if now - max(heard or started, started) > limit:
        found[AlarmClass.ATS_FAILURE] = True
    elif heard is not None and now - heard <= limit:
        found[AlarmClass.ATS_FAILURE] = False
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
        """The faults known to the desk are shared by all receiver processes: read them afresh."""
        await self.links.sync()
        await self.load()
        for account in self.accounts:
            found = faults(account, self.links.status(account.account), now, self.started)
            for kind in (AlarmClass.ATS_FAILURE, AlarmClass.TECHNICAL):
                key = (account.site, kind)
                if found.get(kind) is True and key not in self.active:
                    self.active.add(key)
                    await self.desk.raise_condition(account.site, kind, _TEXT[kind, True])
                elif found.get(kind) is False and key in self.active:
                    self.active.discard(key)
                    await self.desk.restore_condition(account.site, kind, _TEXT[kind, False])
