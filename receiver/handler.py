"""What the receiver answers to one DC-09 frame (reference dc09.md, section A3).

CRC/length/format error -> silence; undecryptable or outside the time window -> NAK with our
clock; unknown account or unprocessable content -> DUH; otherwise commit, then ACK.

``receive`` is the listeners' hot path and runs without a coroutine: everything but the commit
is decided at once, and an event's ACK is built by a callback when its batch is committed.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime

from config.receiver import Account
from protocol.dc09 import (
    Dc09Error,
    Dc09Key,
    DecryptError,
    Message,
    UnknownAccountError,
    ack,
    decode,
    duh,
    nak,
)
from receiver.committer import EventCommitter
from receiver.content import ContentError, describe
from receiver.ratelog import QuietLog
from receiver.store import EventStore, NewEvent, Result
from receiver.strangers import Strangers
from receiver.supervision import LinkBook, account_in_frame

__all__ = ["FrameHandler", "Reply"]

log = logging.getLogger(__name__)

EVENT_TOKENS = ("SIA-DCS", "ADM-CID")

#: the answer now (``None``: silence), or a future answer: the ACK once the event is committed
Reply = bytes | None | asyncio.Future[bytes | None]


class FrameHandler:
    """Turns one raw frame into at most one reply; counts every outcome by name."""

    def __init__(
        self,
        accounts: Sequence[Account],
        store: EventStore,
        links: LinkBook,
        clock: Callable[[], datetime],
        *,
        log_interval: float = 60.0,
    ) -> None:
        self._accounts = {a.account.upper(): a for a in accounts}
        self._keys = {
            a.account.upper(): [Dc09Key.parse(a.key.get_secret_value())] for a in accounts if a.key
        }
        self.store = store
        self.committer = EventCommitter(store)  # concurrent events share one COMMIT
        self.links = links
        self.clock = clock
        self.counters: Counter[str] = Counter()
        self.strangers = Strangers()  # unknown accounts: counted, never stored
        self.quiet = QuietLog(log, log_interval)  # refusals: one log line per kind per interval

    def _lookup(self, account: str) -> Sequence[Dc09Key]:
        return self._keys.get(account.upper(), [])

    def receive(self, raw: bytes, *, transport: str, peer: str) -> Reply:
        """The reply to ``raw``: at once, or a future that resolves to the ACK after the commit
        (and fails, so that nothing is ACKed, when the commit does)."""
        now = self.clock()
        try:
            msg = decode(raw, self._lookup)
        except UnknownAccountError as exc:
            return self._reject("unknown_account", f"encrypted frame: {exc}", now, exc.header, peer)
        except DecryptError:
            self.counters["nak_decrypt"] += 1
            if (account := account_in_frame(raw)) is not None and account in self._accounts:
                self.links.rejected(account, now, "frame could not be decrypted or is not intact")
            self.quiet(logging.WARNING, "nak_decrypt", "frame from %s could not be decrypted (wrong key,"
                       " or altered on the way): answered NAK", peer)
            return nak(now)
        except Dc09Error as exc:
            self.counters[f"bad_{type(exc).__name__}"] += 1
            self.quiet(logging.INFO, "bad_frame", "bad frame from %s ignored (%s)", peer, type(exc).__name__)
            return None
        return self._answer(msg, now, transport=transport, peer=peer)

    async def handle(self, raw: bytes, *, transport: str, peer: str) -> bytes | None:
        """``receive``, awaited: the reply once it can be sent."""
        reply = self.receive(raw, transport=transport, peer=peer)
        if isinstance(reply, asyncio.Future):
            return await reply
        return reply

    def _reject(self, counter: str, why: str, now: datetime, msg: Message | None, peer: str) -> bytes:
        self.counters[f"duh_{counter}"] += 1
        self.quiet(logging.WARNING, f"duh_{counter}", "DUH to %s: %s", peer, why)
        if msg is not None:
            account = (msg.account or "").upper()
            if account in self._accounts:
                self.links.rejected(account, now, why)
            else:  # made-up accounts cost a counter, never a row
                self.strangers.note(account, now, peer)
        return duh(msg, now) if msg is not None else nak(now)

    def _answer(self, msg: Message, now: datetime, *, transport: str, peer: str) -> Reply:
        account = self._accounts.get((msg.account or "").upper())
        if account is None:
            return self._reject("unknown_account", f"unknown account {msg.account!r}", now, msg, peer)
        if account.key is not None and not msg.encrypted:
            return self._reject("plain_frame", f"plain frame for encrypted account {msg.account}", now, msg,
                                peer)
        if msg.encrypted and not self._in_window(msg, account, now):
            self.counters["nak_timestamp"] += 1
            self.links.rejected(account.account, now, "timestamp outside the window")
            return nak(now)
        if msg.token in EVENT_TOKENS:
            try:
                event = self._event(msg, account, transport=transport, peer=peer)
            except ContentError as exc:
                return self._reject("content", f"{msg.account}: {exc}", now, msg, peer)
            reply: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
            committed = self.committer.submit(event)
            committed.add_done_callback(functools.partial(self._committed, msg, account, now, reply))
            return reply
        if msg.token != "NULL":
            return self._reject("token", f"token {msg.token} not processed", now, msg, peer)
        return self._acked(msg, account, now)

    def _committed(self, msg: Message, account: Account, now: datetime,
                   reply: asyncio.Future[bytes | None], committed: asyncio.Future[Result]) -> None:
        if committed.cancelled():
            reply.cancel()
            return
        if (exc := committed.exception()) is not None:
            # the same for TCP and UDP: counted, logged, and no ACK (the sender retransmits)
            self.counters["commit_failed"] += 1
            self.quiet(logging.ERROR, "commit_failed", "event of account %s not committed (%r): not"
                       " ACKed, the sender will retransmit", msg.account, exc)
            if not reply.done():
                reply.set_exception(exc)
            return
        _, duplicate = committed.result()
        self.counters["duplicate" if duplicate else "stored"] += 1
        if reply.done():  # the sender went away meanwhile; its event is stored all the same
            return
        try:
            reply.set_result(self._acked(msg, account, now))
        except Exception as error:  # a reply we cannot write must not leave the connection waiting
            log.exception("ACK for %s could not be built", msg.account)
            reply.set_exception(error)

    def _acked(self, msg: Message, account: Account, now: datetime) -> bytes:
        self.links.heard(account.account, now, poll=msg.token == "NULL")
        self.counters["ack"] += 1
        key = self._lookup(account.account)
        return ack(msg, key[0] if msg.encrypted and key else None, now)

    def _in_window(self, msg: Message, account: Account, now: datetime) -> bool:
        if msg.timestamp is None:
            return False
        return now - account.window_before <= msg.timestamp <= now + account.window_after

    def _event(self, msg: Message, account: Account, *, transport: str, peer: str) -> NewEvent:
        content = describe(msg)  # ContentError: the sender gets DUH
        return NewEvent(
            site=account.site,
            account=msg.account or account.account,
            sequence=msg.sequence,
            token=msg.token,
            data=msg.data,
            code=content.code,
            zone=content.zone,
            cid=content.cid,
            extended=msg.extended,
            sent_at=msg.timestamp,
            encrypted=msg.encrypted,
            transport=transport,
            peer=peer,
        )
