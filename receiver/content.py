"""Reads the event inside a DC-09 frame: SIA code and zone, or the Contact ID triple."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from protocol.codes import CODES
from protocol.dc09 import Message, parse_cid, parse_sia

__all__ = ["Content", "ContentError", "describe", "sia_for_cid"]


class ContentError(ValueError):
    """The frame was fine but its event cannot be processed (answered with DUH)."""


@dataclass(frozen=True)
class Content:
    code: str | None
    zone: str | None
    cid: str | None = None


def sia_for_cid(qualifier: int, code: int) -> str | None:
    """The SIA code our table pairs with a Contact ID event (qualifier 3 = restore/closing)."""
    for entry in CODES.values():
        if entry.cid != code:
            continue
        if qualifier == entry.cid_qualifier:
            return entry.sia
        if qualifier == entry.cid_restore_qualifier:
            return entry.sia_restore
    return None


def describe(msg: Message) -> Content:
    """SIA code and zone (and the Contact ID triple) of an event frame; ContentError if unreadable."""
    return _describe(msg.token, msg.data)


@lru_cache(maxsize=4096)  # a panel repeats the same few data blocks (a zone, a test) all day
def _describe(token: str, data: str) -> Content:
    try:
        if token == "ADM-CID":
            cid = parse_cid(data)
            text = f"{cid.qualifier}{cid.code:03d} {cid.group:02d} {cid.zone:03d}"
            return Content(code=sia_for_cid(cid.qualifier, cid.code), zone=f"{cid.zone:03d}", cid=text)
        event = parse_sia(data)
        return Content(code=event.code, zone=event.address or None)
    except ValueError as exc:
        raise ContentError(str(exc)) from None
