"""The demo's MQTT broker when mosquitto is not installed: amqtt, in a process of its own.

    python -m wachter.embedded_broker --port 1883

amqtt 0.12 speaks MQTT 3.1.1 only (a v5 CONNECT is misread and dropped without an answer), so
the demo's clients speak 3.1.1 to it (site ``mqtt.protocol``). It runs in its own process, not
on the demo's event loop: that loop also runs the receiver, the agent, the simulated devices and
the intercom's image analysis, and amqtt gives up on a QoS 1 delivery whose PUBACK takes more
than 5 s. Its own log (noisy at INFO) goes to the demo's ``broker.log``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import warnings
from collections.abc import Sequence
from typing import Any

__all__ = ["READY", "broker_config", "main"]

log = logging.getLogger("wachter.embedded_broker")
READY = "embedded broker ready"


def broker_config(port: int, host: str = "127.0.0.1") -> dict[str, Any]:
    """Anonymous on loopback, like the demo's mosquitto; no $SYS topics, no packet logging."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


def _broker_class() -> type[Any]:
    from amqtt.broker import Broker
    from amqtt.session import Session

    class DemoAmqtt(Broker):  # type: ignore[misc]
        """amqtt 0.12.1, with one fault mended: on every CONNECT it sends the new client the
        retained messages of every filter that *any* client subscribed to (broker.py, "publish
        retained messages to a pre-existing session's subscriptions"), so each client got the
        others' retained topics. A client now gets only those of its own subscriptions."""

        async def _publish_retained_messages_for_subscription(
            self, subscription: tuple[str, int], session: Session
        ) -> None:
            holders = self._subscriptions.get(subscription[0], [])
            if any(held is session for held, _ in holders):
                await super()._publish_retained_messages_for_subscription(subscription, session)

    return DemoAmqtt


async def serve(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    broker = _broker_class()(broker_config(port))
    await broker.start()
    log.info("amqtt broker listening on 127.0.0.1:%d (MQTT 3.1.1)", port)
    print(READY, flush=True)  # the parent waits for this line instead of probing the port
    try:
        await stop.wait()
    finally:
        async with asyncio.timeout(5):
            await broker.shutdown()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wachter.embedded_broker", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log.setLevel(logging.INFO)
    warnings.simplefilter("ignore", DeprecationWarning)  # amqtt's own, about its plugin loading
    asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
