"""The DC-09 `_HH:MM:SS,MM-DD-YYYY` timestamp, always UTC (reference A1.5)."""

from __future__ import annotations

from datetime import UTC, datetime

from .errors import FrameFormatError

__all__ = ["format_timestamp", "parse_timestamp"]

_FORMAT = "%H:%M:%S,%m-%d-%Y"


def format_timestamp(moment: datetime) -> str:
    """Render an aware datetime as UTC without the leading underscore; naive times are refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FrameFormatError("timestamp must be timezone-aware")
    return moment.astimezone(UTC).strftime(_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """Parse the text after `_` into an aware UTC datetime."""
    try:
        return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)
    except ValueError as exc:
        raise FrameFormatError(f"invalid timestamp {text!r}") from exc
