"""One-shot MQTT clients that cannot hang on the way out.

aiomqtt's ``__aexit__`` waits without a bound for paho's disconnect callback; with paho 2.2 that
callback is occasionally never delivered (a socket-callback race), and a command-line tool would
then hang after its work is done. ``bounded`` gives the goodbye a few seconds, then moves on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiomqtt

__all__ = ["bounded"]

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def bounded(client: aiomqtt.Client, exit_timeout: float = 3.0) -> AsyncIterator[aiomqtt.Client]:
    await client.__aenter__()
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
