"""Reads the event inside a DC-09 frame: SIA code and zone, or the Contact ID triple."""

from __future__ import annotations

from dataclasses import dataclass

from protocol.dc09 import Message
from protocol.dc09.cid import parse_cid
from protocol.dc09.sia import parse_sia

__all__ = ["Content", "ContentError", "describe"]


class ContentError(ValueError):
    """The frame was fine but its event cannot be processed (answered with DUH)."""


@dataclass(frozen=True)
class Content:
    code: str | None
    zone: str | None
    cid: str | None = None


def describe(msg: Message) -> Content:
    try:
        if msg.token == "ADM-CID":
            cid = parse_cid(msg.data)
            sia = cid.sia_code()
            return Content(code=sia, zone=f"{cid.zone:03d}", cid=cid.text())
        sia_event = parse_sia(msg.data)
        return Content(code=sia_event.code, zone=sia_event.address or None)
    except ValueError as exc:
        raise ContentError(str(exc)) from None
