"""SIA DC-03 and Contact ID data blocks, and the project's code table."""

from __future__ import annotations

import pytest

from protocol.codes import CODES, EventKind, cid_data, kind_for_sia, sia_data
from protocol.dc09 import (
    CidEvent,
    FrameFormatError,
    SiaEvent,
    format_cid,
    format_sia,
    parse_cid,
    parse_sia,
    parse_sia_events,
)

SIA_CASES = [
    ("#1234|Nri1/BA01", SiaEvent("1234", "BA", "01", area="1", modifiers={"ri": "1"})),
    ("#AAA|Nri1/CL501", SiaEvent("AAA", "CL", "501", area="1", modifiers={"ri": "1"})),
    ("#AAA|Nri0/ZY0", SiaEvent("AAA", "ZY", "0", area="0", modifiers={"ri": "0"})),
    # Lupus ti + da (Q6)
    (
        "#100200|Nti10:01:00/da08-18-24/RP",
        SiaEvent("100200", "RP", "", modifiers={"ti": "10:01:00", "da": "08-18-24"}),
    ),
    # Satel pi (Q6)
    ("#0000|Npi0/AT", SiaEvent("0000", "AT", "", modifiers={"pi": "0"})),
    (
        "#3080|Nti19:44/id1/ri4/RP",
        SiaEvent("3080", "RP", "", area="4", user="1", modifiers={"ti": "19:44", "id": "1", "ri": "4"}),
    ),
    (
        "#7878|Nri01^TOTAL^/LX901^centrale d'alarme JA-106K(R)^",
        SiaEvent(
            "7878",
            "LX",
            "901",
            area="01",
            modifiers={"ri": "01", "ri_text": "TOTAL"},
            text="centrale d'alarme JA-106K(R)",
        ),
    ),
    ("#1234|NRR|AStart of dialler", SiaEvent("1234", "RR", "", text="Start of dialler")),
    (
        "#123456|Nri1CL0^VX FRONTE ^",
        SiaEvent("123456", "CL", "0", area="1", modifiers={"ri": "1"}, text="VX FRONTE "),
    ),
    ("|Nri1/CL501", SiaEvent(None, "CL", "501", area="1", modifiers={"ri": "1"})),
    ("Nri1/WA000", SiaEvent(None, "WA", "000", area="1", modifiers={"ri": "1"})),
]


@pytest.mark.parametrize(("data", "event"), SIA_CASES)
def test_parse_sia(data: str, event: SiaEvent) -> None:
    assert parse_sia(data) == event
    assert parse_sia(format_sia(event)) == event


def test_several_events_share_modifiers() -> None:
    events = parse_sia_events("#1234|Nri2/BA01/BA03")
    assert [(e.code, e.address, e.area) for e in events] == [("BA", "01", "2"), ("BA", "03", "2")]


@pytest.mark.parametrize("data", ["", "#1234|", "#1234|1120 00 001", "#1234|Nba01", "NBA01 x"])
def test_not_sia(data: str) -> None:
    with pytest.raises(FrameFormatError):
        parse_sia(data)


def test_format_sia_orders_modifiers() -> None:
    event = SiaEvent("1234", "BA", "01", area="1", user="7", modifiers={"da": "08-18-24", "ti": "10:01"})
    assert format_sia(event) == "#1234|Nti10:01/da08-18-24/id7/ri1/BA01"


def test_cid_roundtrip() -> None:
    event = parse_cid("#1234|1120 00 001")
    assert event == CidEvent("1234", 1, 120, 0, 1)
    assert format_cid(event) == "#1234|1120 00 001"
    assert parse_cid("3401 01 057") == CidEvent(None, 3, 401, 1, 57)


@pytest.mark.parametrize("data", ["#1234|1120 00 01", "#1234|1120 0 001", "1120-00-001", ""])
def test_not_cid(data: str) -> None:
    with pytest.raises(FrameFormatError):
        parse_cid(data)


def test_format_cid_refuses_out_of_range() -> None:
    with pytest.raises(FrameFormatError):
        format_cid(CidEvent("1234", 2, 120))
    with pytest.raises(FrameFormatError):
        format_cid(CidEvent("1234", 1, 1200))


# ---- codes ------------------------------------------------------------------------


def test_examples_from_the_brief() -> None:
    assert sia_data(EventKind.PANIC, "1234", 1, area=1) == "#1234|Nri1/PA01"
    assert cid_data(EventKind.PANIC, "1234", 1) == "#1234|1120 00 001"
    assert sia_data(EventKind.PANIC, "1234", 1, restore=True) == "#1234|NPH01"
    assert cid_data(EventKind.PANIC, "1234", 1, restore=True, group=2) == "#1234|3120 02 001"


def test_arm_disarm_qualifiers() -> None:
    assert cid_data(EventKind.ARM, "1234", 501) == "#1234|3401 00 501"
    assert cid_data(EventKind.DISARM, "1234", 501) == "#1234|1401 00 501"
    assert sia_data(EventKind.REMOTE_ARM, "1234", 3, area=1) == "#1234|Nri1/CQ03"


def test_none_address_drops_number() -> None:
    assert sia_data(EventKind.MAINS, "1234", 5) == "#1234|NAT"
    assert cid_data(EventKind.MAINS, "1234", 5, restore=True) == "#1234|3301 00 000"


def test_no_restore_raises() -> None:
    with pytest.raises(ValueError):
        sia_data(EventKind.PERIODIC_TEST, "1234", None, restore=True)
    with pytest.raises(ValueError):
        cid_data(EventKind.ARM, "1234", 1, restore=True)


def test_text_goes_into_ascii_block() -> None:
    assert sia_data(EventKind.FIRE, "1234", 2, text="Kitchen") == "#1234|NFA02|AKitchen"


@pytest.mark.parametrize("kind", list(EventKind))
def test_every_kind_formats_and_parses(kind: EventKind) -> None:
    entry = CODES[kind]
    sia = parse_sia(sia_data(kind, "1234", 12, area=1))
    assert sia.code == entry.sia
    assert kind_for_sia(sia.code) is not None
    cid = parse_cid(cid_data(kind, "1234", 12))
    assert (cid.code, cid.qualifier) == (entry.cid, entry.cid_qualifier)
    if entry.sia_restore:
        assert parse_sia(sia_data(kind, "1234", 12, restore=True)).code == entry.sia_restore


def test_kind_for_sia_prefers_generic() -> None:
    assert kind_for_sia("BA") is EventKind.BURGLARY
    assert kind_for_sia("bh") is EventKind.BURGLARY
    assert kind_for_sia("TA") is EventKind.TAMPER
    assert kind_for_sia("NL") is EventKind.STAY_ARM
    assert kind_for_sia("ZZ") is None
    assert set(CODES) == set(EventKind)


def test_cid_codes_are_the_documented_ones() -> None:
    expected = {
        EventKind.PANIC: 120,
        EventKind.HOLDUP: 122,
        EventKind.DURESS: 121,
        EventKind.BURGLARY_PERIMETER: 131,
        EventKind.BURGLARY_INTERIOR: 132,
        EventKind.BURGLARY_ENTRY_EXIT: 134,
        EventKind.BURGLARY_24H: 133,
        EventKind.BURGLARY_VERIFIED: 139,
        EventKind.BURGLARY_CANCEL: 406,
        EventKind.TAMPER: 144,
        EventKind.TAMPER_PANEL: 137,
        EventKind.FIRE: 110,
        EventKind.SUPERVISION_LOST: 381,
        EventKind.LOW_BATTERY: 384,
        EventKind.MAINS: 301,
        EventKind.SYSTEM_BATTERY: 302,
        EventKind.COMMS_TROUBLE: 350,
        EventKind.ARM: 401,
        EventKind.REMOTE_ARM: 407,
        EventKind.STAY_ARM: 441,
        EventKind.BYPASS: 570,
        EventKind.USER_CODE_TAMPER: 461,
        EventKind.WALK_TEST: 607,
        EventKind.POINT_TESTED: 611,
        EventKind.PERIODIC_TEST: 602,
    }
    assert {k: CODES[k].cid for k in expected} == expected
