"""Everything a request handler of the console or the API reaches, in one place."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web

from config.receiver import Account
from receiver.audit import AuditLog
from receiver.auth import Accounts, LoginLimiter
from receiver.console.live import Bulletin
from receiver.desk import Alarm, AlarmDesk
from receiver.evidence import EvidenceStore
from receiver.handler import FrameHandler
from receiver.shift import Presence, ShiftLog
from receiver.sitebook import SiteBook
from receiver.store import Clock, EventStore

__all__ = ["CENTRE", "AlarmSection", "Centre"]

#: renders one extra section of the alarm page for the request's user (``""`` for none; the
#: centre is ``request.app[CENTRE]``); other features (the mobile panic button's positions and
#: audio) add theirs to ``Centre.alarm_sections``
AlarmSection = Callable[[web.Request, Alarm], Awaitable[str]]


@dataclass
class Centre:
    store: EventStore
    desk: AlarmDesk
    accounts: Accounts
    audit: AuditLog
    evidence: EvidenceStore
    handler: FrameHandler
    sites: Mapping[str, Account]  # by site id
    bulletin: Bulletin
    limiter: LoginLimiter
    clock: Clock
    book: SiteBook
    presence: Presence
    shift_log: ShiftLog
    secure_cookies: bool = False
    alarm_sections: list[AlarmSection] = field(default_factory=list)
    evidence_bytes: int = 2 * 1024 * 1024  # the largest evidence upload accepted
    #: the scripts and styles (``/...js``, ``/...css``) those sections need, on every alarm page:
    #: a section may first appear with a live update, when no script of its own would run
    alarm_assets: list[str] = field(default_factory=list)


CENTRE = web.AppKey("centre", Centre)
