"""SIA DC-03 event data inside SIA-DCS blocks, read tolerantly (Satel `pi`, Lupus `da`)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .errors import FrameFormatError

__all__ = ["SiaEvent", "format_sia", "parse_sia", "parse_sia_events"]

_ACCOUNT = re.compile(r"#(?P<acct>[0-9A-Fa-f]{1,16})\|?")
_MODIFIER = re.compile(r"(?P<mod>[a-z]{2})(?P<val>[0-9:.\-]*)(?:\^(?P<text>[^\^]*)\^)?/?")
_EVENT = re.compile(r"(?P<code>[A-Z]{2})(?P<addr>[0-9A-Za-z]*)(?:\^(?P<text>[^\^]*)\^)?")
_ASCII_BLOCK = re.compile(r"\|A(?P<text>.*)", re.S)


@dataclass(frozen=True)
class SiaEvent:
    """One DC-03 event: 2-letter code, its address (zone/user/area per code) and modifiers.

    `area` and `user` mirror the `ri` and `id` modifiers; all modifiers stay in `modifiers`
    (a `^text^` after a modifier is kept as `<mod>_text`). `text` is the code's `^...^`
    text or the `|A` ASCII block.
    """

    account: str | None
    code: str
    address: str = ""
    area: str | None = None
    user: str | None = None
    modifiers: dict[str, str] = field(default_factory=dict)
    text: str | None = None


def _modifiers(data: str, pos: int, mods: dict[str, str]) -> int:
    while match := _MODIFIER.match(data, pos):
        mods[match["mod"]] = match["val"]
        if match["text"] is not None:
            mods[f"{match['mod']}_text"] = match["text"]
        pos = match.end()
    return pos


def parse_sia_events(data: str) -> list[SiaEvent]:
    """All events of a block; modifiers carry over to later `/`-separated events."""
    pos, account = 0, None
    if match := _ACCOUNT.match(data):
        account, pos = match["acct"], match.end()
    elif data.startswith("|"):
        pos = 1  # "[|Nri1/CL501]": pysiaalarm vectors with an empty account
    if data[pos : pos + 1] in ("N", "O"):
        pos += 1
    mods: dict[str, str] = {}
    events: list[SiaEvent] = []
    while True:
        pos = _modifiers(data, pos, mods)
        event = _EVENT.match(data, pos)
        if not event:
            break
        pos = event.end()
        text = event["text"]
        if block := _ASCII_BLOCK.match(data, pos):
            text, pos = block["text"], len(data)
        events.append(
            SiaEvent(
                account,
                event["code"],
                event["addr"],
                mods.get("ri"),
                mods.get("id"),
                dict(mods),
                text,
            )
        )
        if data[pos : pos + 1] != "/":
            break
        pos += 1
    if not events or pos != len(data):
        raise FrameFormatError(f"not SIA DC-03 event data: {data!r}")
    return events


def parse_sia(data: str) -> SiaEvent:
    """The first (usually only) event of an SIA-DCS data block such as "#1234|Nri1/BA01"."""
    return parse_sia_events(data)[0]


def format_sia(event: SiaEvent) -> str:
    """Write `#acct|N` + modifiers (ti first, then others, id, ri) + code + address (+`|A`)."""
    if not re.fullmatch(r"[A-Z]{2}", event.code):
        raise FrameFormatError(f"SIA code must be two upper-case letters, got {event.code!r}")
    mods = {k: v for k, v in event.modifiers.items() if not k.endswith("_text")}
    mods.pop("ri", None)
    mods.pop("id", None)
    order = sorted(mods, key=lambda k: (k != "ti", k))
    pairs = [(k, mods[k]) for k in order]
    pairs += [(k, v) for k, v in (("id", event.user), ("ri", event.area)) if v is not None]
    parts = []
    for mod, value in pairs:
        text = event.modifiers.get(f"{mod}_text")
        parts.append(f"{mod}{value}" + (f"^{text}^" if text is not None else ""))
    parts.append(f"{event.code}{event.address}")
    head = f"#{event.account}|" if event.account is not None else ""
    tail = f"|A{event.text}" if event.text is not None else ""
    return f"{head}N{'/'.join(parts)}{tail}"
