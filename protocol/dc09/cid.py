"""Contact ID (DC-05) data inside ADM-CID blocks: `#acct|QEEE GG CCC` (reference A5)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import FrameFormatError

__all__ = ["CidEvent", "format_cid", "parse_cid"]

_CID = re.compile(
    r"(?:#(?P<acct>[0-9A-Fa-f]{1,16}))?\|?"
    r"(?P<q>[0-9])(?P<code>[0-9]{3}) (?P<group>[0-9]{2}) (?P<zone>[0-9]{3})"
)


@dataclass(frozen=True)
class CidEvent:
    """Qualifier 1 = new event/opening, 3 = restore/closing, 6 = still present."""

    account: str | None
    qualifier: int
    code: int
    group: int = 0
    zone: int = 0


def parse_cid(data: str) -> CidEvent:
    """Parse "#1234|1120 00 001"; account and `|` are optional on read."""
    match = _CID.fullmatch(data)
    if not match:
        raise FrameFormatError(f"not Contact ID data: {data!r}")
    return CidEvent(
        match["acct"], int(match["q"]), int(match["code"]), int(match["group"]), int(match["zone"])
    )


def format_cid(event: CidEvent) -> str:
    """Write the DC-09 form; fields out of range are refused rather than truncated."""
    if event.qualifier not in (1, 3, 6):
        raise FrameFormatError(f"Contact ID qualifier must be 1, 3 or 6, got {event.qualifier}")
    if not (0 <= event.code <= 999 and 0 <= event.group <= 99 and 0 <= event.zone <= 999):
        raise FrameFormatError("Contact ID code/zone must be 0..999 and group 0..99")
    head = f"#{event.account}|" if event.account is not None else ""
    return f"{head}{event.qualifier}{event.code:03d} {event.group:02d} {event.zone:03d}"
