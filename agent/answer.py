"""What counts as the alarm centre's answer to one frame (reference A3, A4.2).

Anyone on the path can write a plain ``"ACK"`` or ``"DUH"`` that copies our sequence number. So
an encrypted frame is answered only by an encrypted ``*ACK`` under the account's key that echoes
sequence and account, carries the spec's pad (1..16 bytes) and no data, and a timestamp within
``window`` of our clock (a recorded ``*ACK`` replayed later is stale). Anything else counts as no
answer: the report stays in the outbox, is retried and fails over as after silence. A NAK is
never encrypted (DC-09); it only makes us resend, so it is taken as it comes. A plain frame on a
path without a key is answered as the spec says (ACK, NAK or DUH).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from protocol.dc09 import Message

__all__ = ["Answer", "Verdict", "judge"]


class Answer(StrEnum):
    ACK = "ack"
    NAK = "nak"
    DUH = "duh"
    NONE = "none"  # silence, or a reply that is not an answer


@dataclass(frozen=True)
class Verdict:
    answer: Answer
    reply: Message | None = None
    refused: str = ""  # why a reply was not taken as the answer, for the log

    @property
    def answered(self) -> bool:
        return self.answer is not Answer.NONE


SILENCE = Verdict(Answer.NONE)


def judge(sent: Message, reply: Message, now: datetime, window: timedelta) -> Verdict:
    """The answer ``reply`` gives to ``sent`` (both decoded), judged at our clock ``now``."""
    if reply.token == "NAK":
        return Verdict(Answer.NAK, reply)
    token = {"ACK": Answer.ACK, "DUH": Answer.DUH}.get(reply.token)
    if token is None:
        return Verdict(Answer.NONE, reply, f"token {reply.token} is not an answer")
    if reply.sequence != sent.sequence:
        return Verdict(Answer.NONE, reply, f"answer for sequence {reply.sequence}, sent {sent.sequence}")
    if not sent.encrypted:
        return Verdict(token, reply)
    why = _unauthenticated(sent, reply, now, window)
    return Verdict(Answer.NONE, reply, why) if why else Verdict(token, reply)


def _unauthenticated(sent: Message, reply: Message, now: datetime, window: timedelta) -> str:
    """Why an answer to an encrypted frame does not prove it came from the key holder ("" if it does)."""
    if not reply.encrypted:
        return f"plain {reply.token} to an encrypted frame"
    if (reply.account or "").upper() != (sent.account or "").upper():
        return f"answer for account {reply.account!r}"
    if reply.data or "pad_length" in reply.quirks:
        return "answer block malformed"
    if reply.timestamp is None:
        return "answer without timestamp"
    off = (reply.timestamp - now).total_seconds()
    if abs(off) > window.total_seconds():
        return f"answer timestamp {off:+.0f} s off our clock (window {window.total_seconds():.0f} s)"
    return ""
