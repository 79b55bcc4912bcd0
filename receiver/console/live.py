"""Live updates: every alarm change is announced to each open console over Server-Sent Events."""

from __future__ import annotations

import asyncio
import contextlib
import json

from aiohttp import web

__all__ = ["Bulletin", "stream"]

KEEPALIVE = 15.0


class Bulletin:
    """Fan-out of small JSON notices; a slow console loses notices, never blocks the desk."""

    def __init__(self) -> None:
        self._subscribers: set[asyncio.Queue[str | None]] = set()

    def publish(self, notice: dict[str, object]) -> None:
        text = json.dumps(notice)
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


async def stream(request: web.Request, bulletin: Bulletin) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    queue = bulletin.subscribe()
    try:
        await response.write(b"retry: 1000\n\n")
        while True:
            try:
                notice = await asyncio.wait_for(queue.get(), KEEPALIVE)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if notice is None:
                break
            await response.write(f"event: alarm\ndata: {notice}\n\n".encode())
    except ConnectionResetError:
        pass
    finally:
        bulletin.unsubscribe(queue)
    return response
