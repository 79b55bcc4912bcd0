"""Value types shared by the site and receiver schemas: durations, endpoints, DC-09 keys."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator, PlainSerializer, SecretStr

__all__ = ["Duration", "Endpoint", "KeySpec", "parse_duration", "parse_endpoint"]

_DURATION = re.compile(r"^\s*(?:(\d+)h)?\s*(?:(\d+)m(?!s))?\s*(?:(\d+(?:\.\d+)?)s)?\s*(?:(\d+)ms)?\s*$")


def parse_duration(value: object) -> timedelta:
    """Accept ``90``, ``90s``, ``2m``, ``1h30m``, ``500ms`` or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration such as 30s, 2m or 1h30m")
    if isinstance(value, int | float):
        return timedelta(seconds=value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match and any(match.groups()):
            h, m, s, ms = match.groups()
            return timedelta(
                hours=int(h or 0),
                minutes=int(m or 0),
                seconds=float(s or 0),
                milliseconds=int(ms or 0),
            )
    raise ValueError(f"{value!r} is not a duration; write e.g. 30s, 2m, 1h30m or 500ms")


def _fmt_duration(value: timedelta) -> str:
    """Seconds that parse back: 30 days is ``2592000s``, not ``2.592e+06s``."""
    seconds = value.total_seconds()
    return f"{int(seconds)}s" if seconds.is_integer() else f"{seconds!r}s"


Duration = Annotated[
    timedelta, BeforeValidator(parse_duration), PlainSerializer(_fmt_duration, return_type=str)
]


def parse_endpoint(value: object) -> str:
    """``tcp://host:port`` or ``udp://host:port`` (the DC-09 transports)."""
    if not isinstance(value, str):
        raise ValueError("an address such as tcp://arc.example.nl:9000")
    parts = urlsplit(value)
    if parts.scheme not in ("tcp", "udp"):
        raise ValueError(f"{value!r}: the scheme must be tcp:// or udp://")
    try:
        port = parts.port
    except ValueError:
        port = None
    if not parts.hostname or port is None or not 0 < port < 65536:
        raise ValueError(f"{value!r}: write host and port, e.g. tcp://arc.example.nl:9000")
    return value


Endpoint = Annotated[str, BeforeValidator(parse_endpoint)]

_KEY = re.compile(r"^(hex|ascii):(.*)$", re.S)


def parse_key_spec(value: object) -> str:
    """A DC-09 key as ``hex:<32|48|64 hex digits>`` or ``ascii:<16|24|32 characters>``.

    The message never repeats the key: configuration errors end up in logs.
    """
    if not isinstance(value, str) or not (m := _KEY.match(value)):
        raise ValueError("write the key as hex:<32, 48 or 64 hex digits> or ascii:<16, 24 or 32 chars>")
    kind, text = m.groups()
    if kind == "hex":
        if not re.fullmatch(r"[0-9A-Fa-f]*", text):
            raise ValueError("a hex key may hold only the digits 0-9 and A-F")
        if len(text) not in (32, 48, 64):
            raise ValueError(
                f"a hex key has 32, 48 or 64 digits (AES-128/192/256), this one has {len(text)}"
            )
    elif len(text.encode()) not in (16, 24, 32):
        raise ValueError(
            f"an ascii key has 16, 24 or 32 characters (AES-128/192/256), this one has {len(text)}"
        )
    return value


# SecretStr: the key never shows in a repr, a log line or an error message
KeySpec = Annotated[SecretStr, BeforeValidator(parse_key_spec)]
