"""Where a snapshot's metadata travels: MQTT v5 user properties, or a JPEG comment on MQTT 3.1.1.

The contract (docs/mqtt.md) carries ``alarm_id``, ``trigger``, ``index``, ``count``, ``ts`` and
``device`` as MQTT v5 user properties. MQTT 3.1.1 has no message properties, and some brokers
speak only 3.1.1 (the demo's embedded amqtt 0.12 refuses a v5 CONNECT). On such a link the same
pairs travel inside the JPEG, as a comment segment (COM, 0xFFFE) right after the start-of-image
marker: the payload is still a JPEG that any viewer opens, and nothing else changes.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable

__all__ = ["MAX_META", "comment_meta", "with_comment"]

_SOI, _COM = b"\xff\xd8", b"\xff\xfe"
_TAG = b"wachter-snapshot:"
MAX_META = 2048  # bytes of JSON; the six fields take about 150


def with_comment(jpeg: bytes, meta: Iterable[tuple[str, str]]) -> bytes:
    """``jpeg`` with ``meta`` in a COM segment after SOI; a payload that is no JPEG is returned as is."""
    if not jpeg.startswith(_SOI):
        return jpeg
    body = _TAG + json.dumps(dict(meta), separators=(",", ":")).encode()
    if len(body) > MAX_META:
        raise ValueError(f"snapshot metadata of {len(body)} bytes; at most {MAX_META}")
    return _SOI + _COM + struct.pack(">H", len(body) + 2) + body + jpeg[2:]


def comment_meta(payload: bytes) -> dict[str, str]:
    """The pairs ``with_comment`` stored, or {} when the JPEG carries none (or a foreign comment)."""
    if payload[:2] != _SOI or payload[2:4] != _COM or len(payload) < 6:
        return {}
    (length,) = struct.unpack(">H", payload[4:6])
    body = payload[6 : 4 + length]
    if not body.startswith(_TAG) or len(body) > MAX_META or len(body) != length - 2:
        return {}
    try:
        meta = json.loads(body[len(_TAG) :])
    except ValueError:
        return {}
    if not isinstance(meta, dict):
        return {}
    return {str(k): str(v) for k, v in meta.items() if isinstance(v, str | int | float)}
