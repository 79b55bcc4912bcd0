"""Everything a request handler of the console or the API reaches, in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from config.receiver import Account
from receiver.audit import AuditLog
from receiver.auth import Accounts, LoginLimiter
from receiver.console.live import Bulletin
from receiver.desk import AlarmDesk
from receiver.evidence import EvidenceStore
from receiver.handler import FrameHandler
from receiver.store import Clock, EventStore

__all__ = ["CENTRE", "Centre"]


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
    secure_cookies: bool = False
    evidence_bytes: int = 2 * 1024 * 1024  # the largest evidence upload accepted


CENTRE = web.AppKey("centre", Centre)
