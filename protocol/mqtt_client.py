"""MQTT clients that cannot hang on the way out, and never wait for Nagle's algorithm.

paho leaves Nagle's algorithm on: a small packet (a panic press) written while the previous
one (the PUBACK of a confirmation) is still unacknowledged waits for the broker's delayed ACK,
up to 40 ms on Linux. ``bounded`` turns it off on the client's socket (``TCP_NODELAY``), as
``set_tcp_nodelay`` does on mosquitto's side; measured in ``bench/e2e_latency.py``, press ->
agent went from 26 ms to under 2 ms (p50, idle).

aiomqtt's ``__aexit__`` waits without a bound for paho's disconnect callback; with paho 2.2 that
callback is occasionally never delivered (a socket-callback race), and a command-line tool would
then hang after its work is done. ``bounded`` gives the goodbye a few seconds, then moves on.

aiomqtt awaits every publish, subscribe, connect and disconnect through ``asyncio.wait_for``,
which in Python 3.11 loses a cancellation that arrives as the awaited operation completes (it
returns the result instead; fixed in 3.12). A long-lived loop calls ``still_wanted`` once a
round so that such a lost cancellation still ends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator

import aiomqtt

__all__ = ["bounded", "still_wanted"]

log = logging.getLogger(__name__)


def still_wanted() -> None:
    """Raise CancelledError if this task was asked to stop but is still running.

    Python 3.11's ``asyncio.wait_for`` (inside every aiomqtt call) can swallow a cancellation;
    the task still counts the request (``Task.cancelling()``), so this re-raises it. Without it
    a loop goes on for ever, and its TaskGroup, which cancels each child only once, waits for it
    for ever too (the owner's second cancel does not reach the children of an aborting group).

    Only for a task that runs no TaskGroup of its own that can fail and be carried on from: in
    3.11 a TaskGroup whose child fails while the parent waits in ``__aexit__`` cancels the parent
    and never takes it back, so ``cancelling()`` stays raised after ``except*`` (fixed in 3.12).
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


@contextlib.asynccontextmanager
async def bounded(client: aiomqtt.Client, exit_timeout: float = 3.0) -> AsyncIterator[aiomqtt.Client]:
    await client.__aenter__()
    _no_delay(client)
    try:
        yield client
    finally:
        try:
            await asyncio.wait_for(client.__aexit__(None, None, None), exit_timeout)
        except TimeoutError:
            log.debug("MQTT disconnect not confirmed within %.0f s; closing anyway", exit_timeout)
            client._client.loop_stop()
            sock = client._client.socket()
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.close()


def _no_delay(client: aiomqtt.Client) -> None:
    sock = client._client.socket()
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
