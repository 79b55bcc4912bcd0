"""Live updates: every alarm change is announced to each open console over Server-Sent Events.

With several receiver processes on one PostgreSQL database, a relay (``receiver/pg_notify.py``)
carries each process's notices to the others, which ``deliver`` them to their own consoles.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["SIGNED_IN", "Bulletin", "stream"]

KEEPALIVE = 15.0
#: set by the gate for a signed-in request: is its session still valid? A stream asks before
#: every notice and keepalive, so it ends once its user signs out or is removed
SignedIn = Callable[[], Awaitable[bool]]
SIGNED_IN: web.RequestKey[SignedIn] = web.RequestKey("signed_in")


class Bulletin:
    """Fan-out of small JSON notices; a slow console loses notices, never blocks the desk."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[str | None]] = set()
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
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(text)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        for queue in list(self._subscribers):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(None)

    def subscribe(self) -> asyncio.Queue[str | None]:
        queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=100)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[str | None]) -> None:
        self._subscribers.discard(queue)


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
            if notice is None or not await still_signed_in():
                break
            await response.write(f"event: alarm\ndata: {notice}\n\n".encode())
    except ConnectionResetError:
        pass
    finally:
        bulletin.unsubscribe(queue)
    return response


async def _always() -> bool:
    return True
