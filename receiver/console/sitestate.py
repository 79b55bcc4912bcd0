"""A site's live state for screens: link (online, last poll) and armed state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from receiver.console.context import Centre
from receiver.desk import SiteState

__all__ = ["SiteView", "site_views"]


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
    open_alarm: int | None


async def site_views(centre: Centre, only: str | None = None) -> list[SiteView]:
    """Every configured site (or one), from the link book, site states and the open alarms."""
    now = centre.clock()
    states = await centre.desk.site_states()
    open_alarms = {a.site: a.id for a in await centre.desk.queue()}
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
                open_alarm=open_alarms.get(site),
            )
        )
    return views
