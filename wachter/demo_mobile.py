"""The demo's mobile panic buttons: a one-time link for a real phone, and a simulated phone
whose token `wachter sim phone-press` reads from the demo's credentials file."""

from __future__ import annotations

from receiver.mobile.admin import enrolment_link
from receiver.service import Receiver

__all__ = ["DEMO_PERSON", "demo_phones"]

DEMO_PERSON = "burgemeester"  # config/examples/receiver.yaml, mobile.people


async def demo_phones(receiver: Receiver) -> tuple[str, str] | None:
    """(the one-time enrolment link for a phone, the simulated phone's device token); None
    when the receiver config has no mobile person."""
    person = receiver.mobile.person(DEMO_PERSON)
    if person is None:
        return None
    registry = receiver.mobile.registry
    link = await registry.enrol(person.id, person.site, by="demo", label="your phone")
    simulated = await registry.enrol(person.id, person.site, by="demo", label="simulated phone")
    _, token = await registry.redeem(simulated.secret, peer="demo")
    base = receiver.config.mobile.public_url or f"http://127.0.0.1:{receiver.http_port}"
    return enrolment_link(base, link.secret), token
