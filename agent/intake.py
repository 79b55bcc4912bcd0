"""How MQTT messages reach the agent: each acknowledged only once its consequences are committed.

The broker's QoS 1 acknowledgement (PUBACK) is sent only after the step is committed, so a
``kill -9`` in between makes the broker deliver the message again instead of losing it.
(A priority intake that let panic presses overtake other messages was tried and removed: under
``kill -9`` it let a device's tamper_restore overtake its tamper, see tests/faults.)
"""

from __future__ import annotations

import aiomqtt

__all__ = ["acknowledge", "manual_acks"]


def manual_acks(client: aiomqtt.Client) -> aiomqtt.Client:
    client._client.manual_ack_set(True)
    return client


def acknowledge(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    """PUBACK now: the message has been handled (or rejected and counted) and committed."""
    if message.qos > 0:
        client._client.ack(message.mid, message.qos)
