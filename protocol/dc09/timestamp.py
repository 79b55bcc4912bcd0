"""The DC-09 `_HH:MM:SS,MM-DD-YYYY` timestamp, always UTC (reference A1.5)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache

from .errors import FrameFormatError

__all__ = ["format_timestamp", "parse_timestamp"]

_FORMAT = "%H:%M:%S,%m-%d-%Y"
#: The layout every sender uses; anything else goes through strptime (which also takes 1 digit).
_STRICT = re.compile(r"([0-9]{2}):([0-9]{2}):([0-9]{2}),([0-9]{2})-([0-9]{2})-([0-9]{4})")


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as UTC without the leading underscore; naive times are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FrameFormatError("timestamp must be timezone-aware")
    utc = moment if moment.tzinfo is UTC else moment.astimezone(UTC)
    if utc.year < 1000:  # strftime's %Y is not zero-padded there
        return utc.strftime(_FORMAT)
    return f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d},{utc.month:02d}-{utc.day:02d}-{utc.year}"


@lru_cache(maxsize=256)
def parse_timestamp(text: str) -> datetime:
    """Parse the text after `_` into an aware UTC datetime (cached: a receiver sees the same
    second from many panels)."""
    if strict := _STRICT.fullmatch(text):
        hour, minute, second, month, day, year = map(int, strict.groups())
        try:
            return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            pass  # out of range: strptime below words the error
    try:
        return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise FrameFormatError(f"invalid timestamp {text!r}") from exc
