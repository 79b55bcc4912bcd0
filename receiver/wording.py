"""Events in words for operators: what a SIA code means, which zone (by name) it concerns, and
its Contact ID code (as received, or derived from our code table where a SIA frame has none).
"""

from __future__ import annotations

from config.receiver import Zone
from protocol.codes import CODES, kind_for_sia

__all__ = ["code_words", "contact_id", "zone_words"]

# SIA codes the receiver may see that our own code table does not send
_MORE = {
    "QA": "emergency (medical)",
    "MA": "medical alarm",
    "JA": "user code tamper (too many wrong codes)",
    "ES": "expansion module tamper",
    "EJ": "expansion module tamper restored",
    "LT": "phone line trouble",
    "LR": "phone line restored",
    "YS": "communication trouble",
    "YK": "communication restored",
    "BR": "burglary restored",
    "OC": "cancelled by the user",
    "OA": "disarmed automatically",
    "CA": "armed automatically",
    "YP": "power supply trouble",
    "YQ": "power supply restored",
    "YX": "service required",
    "YZ": "service completed",
    "FT": "fire detector trouble",
    "FJ": "fire detector trouble restored",
    "MH": "medical alarm restored",
    "QH": "emergency restored",
}


def code_words(code: str | None) -> str:
    """ "burglary, perimeter" for BA, "fire alarm – restored" for FH; the code itself if unknown."""
    upper = (code or "").upper()
    if not upper:
        return "unreadable event"
    if upper in _MORE:
        return _MORE[upper]
    kind = kind_for_sia(upper)
    if kind is None:
        return f"SIA code {upper}"
    entry = CODES[kind]
    return f"{entry.description} – restored" if upper == entry.sia_restore else entry.description


def contact_id(code: str | None, received: str | None) -> tuple[str, bool]:
    """The Contact ID code as operators write it (E130 new event, R130 restore); ``received``
    is the triple of an ADM-CID frame ("1130 00 013"). Returns (text, derived-from-SIA)."""
    if received:
        head = received.split(" ", 1)[0]
        if len(head) == 4 and head.isdigit():
            return f"{'R' if head[0] == '3' else 'E'}{head[1:]}", False
        return received, False
    upper = (code or "").upper()
    kind = kind_for_sia(upper) if upper else None
    if kind is None:
        return "", False
    entry = CODES[kind]
    restore = upper == entry.sia_restore or entry.cid_qualifier == 3
    return f"{'R' if restore else 'E'}{entry.cid:03d}", True


def zone_words(number: str | None, zone: Zone | None) -> str:
    """ "zone 13 Bedroom window (bedroom, first floor)"; "zone 13" for a zone not in the book."""
    if not number:
        return ""
    shown = str(int(number)) if number.isdigit() else number
    if zone is None:
        return f"zone {shown}"
    where = f" ({zone.location})" if zone.location else ""
    return f"zone {shown} {zone.name}{where}"
