"""A TCP proxy that plays the network between the agent and the alarm centre, faults included.

``pass`` forwards bytes; ``blackhole`` accepts connections and swallows every byte (a cut cable
behind a router that still answers SYN); ``refuse`` closes new and open connections at once; and
``slow`` forwards each chunk after ``latency`` seconds. Tests switch modes with ``proxy.mode = …``;
a change applies to connections already open as well as to new ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from typing import Literal, Self

__all__ = ["Mode", "NetProxy"]

log = logging.getLogger(__name__)

Mode = Literal["pass", "blackhole", "refuse", "slow"]
CHUNK = 65536


class NetProxy:
    """``async with NetProxy(target_host, target_port) as proxy`` listens on ``proxy.port``."""

    def __init__(self, target_host: str, target_port: int, *, host: str = "127.0.0.1",
                 port: int = 0, mode: Mode = "pass", latency: float = 0.2) -> None:
        self.target = (target_host, target_port)
        self.host, self.port = host, port
        self.latency = latency
        self.counters: Counter[str] = Counter()
        self._mode: Mode = mode
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = False

    @property
    def mode(self) -> Mode:
        return self._mode

    @mode.setter
    def mode(self, mode: Mode) -> None:
        log.info("netproxy %d: %s -> %s", self.port, self._mode, mode)
        self._mode = mode
        if mode == "refuse":
            for writer in list(self._writers):
                writer.transport.abort()

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing = True
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._conns):
            task.cancel()
        await asyncio.gather(*self._conns, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    @property
    def url(self) -> str:
        return f"tcp://{self.host}:{self.port}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self._writers.add(writer)
        self.counters["accepted"] += 1
        try:
            if self._mode == "refuse":
                self.counters["refused"] += 1
                writer.transport.abort()
                return
            await self._serve(reader, writer)
        except (OSError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            # our own close: end quietly (asyncio's stream callback would log a cancelled
            # connection task as an error with a traceback); anyone else's cancel goes on
            if not self._closing:
                raise
        finally:
            self._writers.discard(writer)
            self._conns.discard(task)
            writer.transport.abort()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        if self._mode != "blackhole":
            upstream = await asyncio.wait_for(asyncio.open_connection(*self.target), 5)
            self._writers.add(upstream[1])
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._pump(reader, writer, upstream, "up"), name="netproxy-up")
                if upstream is not None:
                    tg.create_task(self._pump(upstream[0], writer, None, "down"), name="netproxy-down")
        finally:
            if upstream is not None:
                self._writers.discard(upstream[1])
                upstream[1].transport.abort()

    async def _pump(self, source: asyncio.StreamReader, client: asyncio.StreamWriter,
                    upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None,
                    direction: str) -> None:
        """Copy one direction; ``upstream`` is None for the down direction (writes go to client)."""
        while data := await source.read(CHUNK):
            if self._mode == "blackhole" or (direction == "up" and upstream is None):
                self.counters["swallowed"] += len(data)
                continue
            if self._mode == "refuse":
                return
            if self._mode == "slow":
                await asyncio.sleep(self.latency)
            sink = upstream[1] if upstream is not None else client
            sink.write(data)
            await asyncio.wait_for(sink.drain(), 10)
            self.counters[f"bytes_{direction}"] += len(data)
        # EOF from one side: pass it on so the other side sees the connection end
        if self._mode == "pass" or self._mode == "slow":
            sink = upstream[1] if upstream is not None else client
            with contextlib.suppress(OSError):
                sink.write_eof()
