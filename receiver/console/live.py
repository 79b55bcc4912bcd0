"""Live updates: every alarm change is announced to each open console over Server-Sent Events.

With several receiver processes on one PostgreSQL database, a relay (``receiver/pg_notify.py``)
carries each process's notices to the others, which ``deliver`` them to their own consoles.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["RESYNC", "SIGNED_IN", "Bulletin", "Mailbox", "stream"]

KEEPALIVE = 15.0
#: set by the gate for a signed-in request: is its session still valid? A stream asks before
#: every notice and keepalive, so it ends once its user signs out or is removed
SignedIn = Callable[[], Awaitable[bool]]
SIGNED_IN: web.RequestKey[SignedIn] = web.RequestKey("signed_in")


#: sent instead of the notices a console could not take in time: it reloads everything it shows
RESYNC = json.dumps({"resync": True})
#: different notices waiting for one console before they collapse into ``RESYNC``
PENDING = 100


class Mailbox:
    """One console's waiting notices. A notice already waiting is not queued twice (the console
    reloads what changed, once is enough), and when too many different ones wait they become one
    ``RESYNC``: a slow console catches up in one reload and never misses a change."""

    def __init__(self, limit: int = PENDING) -> None:
        self._limit = limit
        self._pending: dict[str | None, None] = {}  # insertion-ordered; None ends the stream
        self._ready = asyncio.Event()

    def put(self, text: str | None) -> None:
        if text in self._pending:
            return
        if text is not None and len(self._pending) >= self._limit:
            self._pending = {RESYNC: None}
        self._pending[text] = None
        self._ready.set()

    async def get(self) -> str | None:
        while not self._pending:
            self._ready.clear()
            await self._ready.wait()
        return self.get_nowait()

    def get_nowait(self) -> str | None:
        if not self._pending:
            raise asyncio.QueueEmpty
        text = next(iter(self._pending))
        del self._pending[text]
        return text

    def empty(self) -> bool:
        return not self._pending

    def __len__(self) -> int:
        return len(self._pending)


class Bulletin:
    """Fan-out of small JSON notices; a slow console gets them merged, never blocks the desk."""

    def __init__(self) -> None:
        self._subscribers: set[Mailbox] = set()
        self._relays: list[Callable[[str], None]] = []

    def relay_to(self, send: Callable[[str], None]) -> None:
        """Also hand every notice published here to ``send`` (other receiver processes)."""
        self._relays.append(send)

    def publish(self, notice: dict[str, object]) -> None:
        """A notice from this process: to its consoles, and through the relays to the others."""
        text = json.dumps(notice)
        self.deliver(text)
        for send in self._relays:
            send(text)

    def deliver(self, text: str) -> None:
        """To this process's consoles only (a notice that another receiver published)."""
        for mailbox in list(self._subscribers):
            mailbox.put(text)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        for mailbox in list(self._subscribers):
            mailbox.put(None)

    def subscribe(self) -> Mailbox:
        mailbox = Mailbox()
        self._subscribers.add(mailbox)
        return mailbox

    def unsubscribe(self, mailbox: Mailbox) -> None:
        self._subscribers.discard(mailbox)


async def stream(
    request: web.Request, bulletin: Bulletin, alive: Callable[[], Awaitable[None]] | None = None
) -> web.StreamResponse:
    """Notices as they come; ``alive`` is awaited at the start and at every keepalive (the
    console's user is still there)."""
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    still_signed_in = request.get(SIGNED_IN) or _always
    await response.prepare(request)
    queue = bulletin.subscribe()
    try:
        await response.write(b"retry: 1000\n\n")
        if alive is not None:
            await alive()
        while True:
            try:
                notice = await asyncio.wait_for(queue.get(), KEEPALIVE)
            except TimeoutError:
                if not await still_signed_in():
                    break
                await response.write(b": keepalive\n\n")
                if alive is not None:
                    await alive()
                continue
            if notice is None or not await still_signed_in():  # signed out or removed: no more
                break
            await response.write(f"event: alarm\ndata: {notice}\n\n".encode())
    except ConnectionResetError:
        pass
    finally:
        bulletin.unsubscribe(queue)
    return response


async def _always() -> bool:
    return True
