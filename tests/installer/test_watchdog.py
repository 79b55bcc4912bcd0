"""The systemd watchdog pings come from the event loop: when the loop stalls, they stop.

A real AF_UNIX datagram socket stands in for systemd's NOTIFY_SOCKET; real time is the point
of this test (a stalled loop is a wall-clock gap), so it sleeps, briefly.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.watchdog import watchdog_loop

WATCHDOG_USEC = 200_000  # 0.2 s: the loop pings every 0.1 s
STALL = 0.8


class NotifySocket:
    """Receives sd_notify datagrams in a thread and stamps them with the monotonic clock."""

    def __init__(self, path: Path) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.05)
        self.got: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.got.append((time.monotonic(), data.decode()))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.sock.close()

    def pings(self) -> list[float]:
        return [t for t, m in self.got if m == "WATCHDOG=1"]


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[NotifySocket]:
    path = tmp_path / "notify.sock"
    server = NotifySocket(path)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield server
    server.close()


async def pings_after(sock: NotifySocket, since: float, count: int, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while len([t for t in sock.pings() if t > since]) < count:
            await asyncio.sleep(0.01)


async def test_pings_stop_while_the_event_loop_stalls(notify_socket: NotifySocket) -> None:
    task = asyncio.create_task(watchdog_loop())
    await pings_after(notify_socket, 0.0, 3)
    stalled_at = time.monotonic()
    asyncio.get_running_loop().call_soon(time.sleep, STALL)  # a blocking call stalls the loop
    await asyncio.sleep(0.01)  # yields once: the stall runs now, in the loop itself
    resumed_at = time.monotonic()
    await pings_after(notify_socket, resumed_at, 3)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    assert notify_socket.got[0][1] == "READY=1"
    pings = notify_socket.pings()
    assert resumed_at - stalled_at >= STALL
    during = [t for t in pings if stalled_at + 0.05 < t < resumed_at - 0.05]
    assert during == [], "a stalled loop must not ping the watchdog"
    before = [t for t in pings if t < stalled_at]
    after = [t for t in pings if t > resumed_at]
    assert len(before) >= 3 and len(after) >= 3, (before, after)
    gaps = [b - a for a, b in itertools.pairwise(pings)]
    # healthy gaps stay far below WatchdogSec; the stall shows as one gap longer than it
    assert max(gaps) >= STALL - 0.05
    assert sorted(gaps)[-2] < STALL / 2


async def test_no_pings_for_another_process(
    notify_socket: NotifySocket, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WATCHDOG_PID names the main process; a child that inherited the environment stays quiet."""
    monkeypatch.setenv("WATCHDOG_PID", "1")
    await asyncio.wait_for(watchdog_loop(), timeout=1)  # returns at once: no watchdog for us
    async with asyncio.timeout(5):  # processed up to here: READY, sent before any ping would be
        while not notify_socket.got:
            await asyncio.sleep(0.01)
    assert [m for _, m in notify_socket.got] == ["READY=1"]
