"""A site's live state for screens: link (online, last poll) and armed state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from receiver.console.context import Centre
from receiver.desk import SiteState

__all__ = ["SiteView", "armed_words", "site_views"]


def armed_words(armed: str) -> str:
    """"armed", "disarmed", or "arming state unknown" (no arm/disarm event seen yet)."""
    return armed if armed in ("armed", "disarmed") else "arming state unknown"


@dataclass(frozen=True)
class SiteView:
    site: str
    name: str
    account: str
    online: bool
    last_heard: datetime | None
    last_poll: datetime | None
    rejections: int
    armed: str
    open_alarms: tuple[tuple[int, str], ...]  # (id, class label), most urgent first


async def site_views(centre: Centre, only: str | None = None) -> list[SiteView]:
    """Every configured site (or one), from the link book, site states and the open alarms."""
    now = centre.clock()
    states = await centre.desk.site_states()
    open_alarms: dict[str, list[tuple[int, str]]] = {}
    for alarm in await centre.desk.queue():
        open_alarms.setdefault(alarm.site, []).append((alarm.id, alarm.priority.label))
    views = []
    for site, account in sorted(centre.sites.items()):
        if only is not None and site != only:
            continue
        link = centre.handler.links.status(account.account)
        limit = account.poll_interval + account.poll_grace
        online = link.last_heard is not None and now - link.last_heard <= limit
        views.append(
            SiteView(
                site=site,
                name=account.name,
                account=account.account,
                online=online,
                last_heard=link.last_heard,
                last_poll=link.last_poll,
                rejections=link.rejections,
                armed=states.get(site, SiteState(site)).armed,
                open_alarms=tuple(open_alarms.get(site, ())),
            )
        )
    return views
