"""Map tiles for the alarm page, fetched by the receiver from the configured tile server.

The console's pages load images only from their own origin (a strict CSP), and operators'
addresses stay inside the alarm centre: the receiver asks the tile server (with a timeout and a
size limit) and keeps recent tiles in memory.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import aiohttp

__all__ = ["MAX_ZOOM", "TileProxy"]

MAX_TILE = 512 * 1024
KEEP = 512  # tiles in memory (about 10 MB)
MAX_ZOOM = 19


class TileProxy:
    def __init__(self, template: str) -> None:
        self.template = template
        self._cache: OrderedDict[tuple[int, int, int], tuple[bytes, str]] = OrderedDict()
        self._http: aiohttp.ClientSession | None = None

    async def get(self, z: int, x: int, y: int) -> tuple[bytes, str] | None:
        """The tile's bytes and content type; None when the server has none (or is down)."""
        key = (z, x, y)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5),
                                               headers={"User-Agent": "Wachter alarm centre console"})
        try:
            async with self._http.get(self.template.format(z=z, x=x, y=y)) as resp:
                kind = resp.content_type
                body = await resp.content.read(MAX_TILE + 1)
                if resp.status != 200 or not kind.startswith("image/") or len(body) > MAX_TILE:
                    return None
        except (aiohttp.ClientError, TimeoutError):
            return None
        self._cache[key] = (body, kind)
        while len(self._cache) > KEEP:
            self._cache.popitem(last=False)
        return body, kind

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.close()
            await asyncio.sleep(0)
            self._http = None
