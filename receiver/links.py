"""When each account was last heard from, and how many of its frames were refused since.

The DC-09 handler records into memory (no database round trip per frame); ``sync``, run by
the supervision tick, writes what this process heard into the shared ``links`` table and reads
back what every receiver process heard. A site that polls receiver A is not "silent" on B.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime

from receiver.db import Database

__all__ = ["LINKS_SCHEMA", "LinkBook", "LinkStatus"]

LINKS_SCHEMA = """
CREATE TABLE IF NOT EXISTS links (
    account TEXT PRIMARY KEY,
    last_heard TEXT,
    last_poll TEXT,
    rejections INTEGER NOT NULL DEFAULT 0,
    last_rejection TEXT NOT NULL DEFAULT ''
);
"""

# later times win; rejections restart from this process's count when it heard a good frame
_MERGE = """
INSERT INTO links (account, last_heard, last_poll, rejections, last_rejection) VALUES (?,?,?,?,?)
ON CONFLICT(account) DO UPDATE SET
  last_heard = CASE WHEN links.last_heard IS NULL OR excluded.last_heard > links.last_heard
    THEN excluded.last_heard ELSE links.last_heard END,
  last_poll = CASE WHEN links.last_poll IS NULL OR excluded.last_poll > links.last_poll
    THEN excluded.last_poll ELSE links.last_poll END,
  rejections = CASE WHEN ? = 1 THEN excluded.rejections ELSE links.rejections + excluded.rejections END,
  last_rejection = CASE WHEN excluded.last_rejection = '' THEN links.last_rejection
    ELSE excluded.last_rejection END
"""


@dataclass
class LinkStatus:
    account: str
    last_heard: datetime | None = None
    last_poll: datetime | None = None
    rejections: int = 0  # NAK/DUH since the last accepted frame: wrong key or clock
    last_rejection: str = ""


@dataclass
class _Unsynced:
    """What this process learnt about one account since the last ``sync``."""

    heard: datetime | None = None
    poll: datetime | None = None
    reset: bool = False  # a frame was accepted: rejections counts from there
    rejections: int = 0
    last_rejection: str = ""

    def then(self, newer: _Unsynced) -> _Unsynced:
        return _Unsynced(
            heard=_later(self.heard, newer.heard),
            poll=_later(self.poll, newer.poll),
            reset=self.reset or newer.reset,
            rejections=newer.rejections if newer.reset else self.rejections + newer.rejections,
            last_rejection=newer.last_rejection or self.last_rejection,
        )

    def apply(self, link: LinkStatus) -> LinkStatus:
        return replace(
            link,
            last_heard=_later(link.last_heard, self.heard),
            last_poll=_later(link.last_poll, self.poll),
            rejections=self.rejections if self.reset else link.rejections + self.rejections,
            last_rejection=self.last_rejection or link.last_rejection,
        )


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None or (b is not None and b > a) else a


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


@dataclass
class LinkBook:
    """In memory only without ``db`` (tests, tools); shared through ``db`` in the receiver."""

    db: Database | None = None
    links: dict[str, LinkStatus] = field(default_factory=dict)
    _unsynced: dict[str, _Unsynced] = field(default_factory=dict)

    def _get(self, account: str) -> tuple[LinkStatus, _Unsynced]:
        key = account.upper()
        return self.links.setdefault(key, LinkStatus(key)), self._unsynced.setdefault(key, _Unsynced())

    def heard(self, account: str, now: datetime, *, poll: bool) -> None:
        link, news = self._get(account)
        link.last_heard = news.heard = now
        link.rejections = news.rejections = 0
        news.reset = True
        if poll:
            link.last_poll = news.poll = now

    def rejected(self, account: str, now: datetime, why: str) -> None:
        link, news = self._get(account)
        link.rejections += 1
        news.rejections += 1
        link.last_rejection = news.last_rejection = f"{now.isoformat()} {why}"

    async def forget_others(self, accounts: Iterable[str]) -> int:
        """Delete the rows of accounts not served (an earlier version stored a row for every
        made-up account it was sent, and read them all back every second); returns how many."""
        if self.db is None:
            return 0
        keep = {a.upper() for a in accounts}
        stale = [str(r[0]) for r in await self.db.all("SELECT account FROM links") if str(r[0]) not in keep]
        for start in range(0, len(stale), 500):
            chunk = stale[start : start + 500]
            async with self.db.transaction() as tx:
                marks = ",".join("?" * len(chunk))
                await tx.execute(f"DELETE FROM links WHERE account IN ({marks})", chunk)  # noqa: S608
        for account in stale:
            self.links.pop(account, None)
        return len(stale)

    def status(self, account: str) -> LinkStatus:
        return self.links.get(account.upper()) or LinkStatus(account.upper())

    async def sync(self) -> None:
        """Merge this process's news into the shared table, then take the merged view."""
        if self.db is None:
            return
        news, self._unsynced = self._unsynced, {}
        try:
            if news:
                async with self.db.transaction() as tx:
                    for account, n in news.items():
                        await tx.execute(_MERGE, (
                            account, _iso(n.heard), _iso(n.poll), n.rejections, n.last_rejection, int(n.reset)
                        ))
        except BaseException:  # keep the news for the next tick
            for account, n in news.items():
                later = self._unsynced.get(account)
                self._unsynced[account] = n.then(later) if later else n
            raise
        rows = await self.db.all(
            "SELECT account, last_heard, last_poll, rejections, last_rejection FROM links"
        )
        for account, heard, poll, rejections, last_rejection in rows:
            link = LinkStatus(str(account), _time(heard), _time(poll), int(rejections), str(last_rejection))
            later = self._unsynced.get(link.account)  # frames handled while we were reading
            self.links[link.account] = later.apply(link) if later else link


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
