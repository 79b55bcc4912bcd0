"""Alarms from stored events: priority, joining, restores, operator actions and their audit."""

from __future__ import annotations

import pytest

from receiver.alarms import AlarmClass, alarm_class
from receiver.audit import AuditLog
from receiver.desk import DeskError
from tests.receiver.conftest import Desk


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        ("PA", AlarmClass.HOLDUP),
        ("HA", AlarmClass.HOLDUP),
        ("BV", AlarmClass.VERIFIED_BURGLARY),
        ("BA", AlarmClass.BURGLARY),
        ("FA", AlarmClass.FIRE),
        ("TA", AlarmClass.TAMPER),
        ("YS", AlarmClass.ATS_FAILURE),
        ("AT", AlarmClass.TECHNICAL),
        ("CL", None),
        ("RP", None),
        ("BH", None),
        (None, None),
    ],
)
def test_codes_map_to_alarm_classes(code: str | None, cls: AlarmClass | None) -> None:
    assert alarm_class(code) == cls


async def test_queue_is_ordered_by_priority_then_age(desk: Desk) -> None:
    await desk.signal("TA", site="plain-home")
    desk.clock.advance(10)
    await desk.signal("PA")
    queue = await desk.desk.queue()
    assert [(a.site, a.priority) for a in queue] == [
        ("demo-home", AlarmClass.HOLDUP),
        ("plain-home", AlarmClass.TAMPER),
    ]


async def test_older_alarm_of_equal_priority_comes_first(desk: Desk) -> None:
    await desk.signal("BA", site="plain-home")
    desk.clock.advance(5)
    await desk.signal("BA")
    assert [a.site for a in await desk.desk.queue()] == ["plain-home", "demo-home"]


async def test_each_response_at_one_site_is_its_own_alarm_most_urgent_first(desk: Desk) -> None:
    """Issue 20: a fire never hides behind a panic; five responses, five rows, five plans."""
    for code in ("TA", "PA", "FA", "BA", "AT"):
        await desk.signal(code)
        desk.clock.advance(1)
    queue = await desk.desk.queue()
    assert [(a.site, a.response.value) for a in queue] == [
        ("demo-home", "holdup"), ("demo-home", "burglary"), ("demo-home", "fire"),
        ("demo-home", "tamper"), ("demo-home", "technical"),
    ]
    plans = {a.response.value: [s.text for s in a.plan or ()] for a in queue}
    assert any("fire brigade" in text for text in plans["fire"])
    assert not any("fire brigade" in text for text in plans["holdup"])
    for alarm in queue:  # each timeline holds only its own events
        assert [e.kind for e in await desk.desk.log(alarm.id)] == ["opened"]


async def test_a_more_urgent_event_of_the_same_response_upgrades_the_alarm_visibly(desk: Desk) -> None:
    await desk.signal("BA", zone="13")
    await desk.signal("BV", zone="13")
    await desk.signal("BA", zone="12")
    [alarm] = await desk.desk.queue()
    assert (alarm.priority, alarm.opened_as, alarm.upgraded) == (
        AlarmClass.VERIFIED_BURGLARY, AlarmClass.BURGLARY, True)
    assert alarm.title.startswith("verified burglary: BV zone 13")
    log = await desk.desk.log(alarm.id)
    assert [e.kind for e in log] == ["opened", "upgrade", "alarm"]
    assert "upgraded from burglary to verified burglary" in log[1].text


async def test_restore_and_cancel_join_the_timeline_and_keep_the_alarm_open(desk: Desk) -> None:
    await desk.signal("BA")
    await desk.signal("BH")
    await desk.signal("BC")
    [alarm] = await desk.desk.queue()
    assert alarm.restored_at is not None and alarm.cancelled
    assert [e.kind for e in await desk.desk.log(alarm.id)] == ["opened", "restore", "restore"]


async def test_a_restore_joins_only_the_alarm_of_its_own_response(desk: Desk) -> None:
    await desk.signal("PA")
    await desk.signal("FA")
    await desk.signal("FH")  # the smoke cleared: says nothing about the panic
    panic, fire = await desk.desk.queue()
    assert (panic.restored_at, fire.restored_at) == (None, desk.clock())
    assert [e.kind for e in await desk.desk.log(panic.id)] == ["opened"]


async def test_signals_without_an_open_alarm_raise_nothing(desk: Desk) -> None:
    await desk.signal("CL")
    await desk.signal("RP")
    await desk.signal("BH")
    assert await desk.desk.queue() == []


async def test_processing_resumes_after_the_stored_cursor(desk: Desk) -> None:
    await desk.signal("PA")
    assert await desk.desk.process() == []  # nothing new
    assert len(await desk.desk.queue()) == 1


async def test_take_steps_note_close_and_every_action_is_audited(desk: Desk) -> None:
    await desk.signal("PA")
    [alarm] = await desk.desk.queue()
    await desk.desk.take(alarm.id, "olga")
    with pytest.raises(DeskError, match="already taken by olga"):
        await desk.desk.take(alarm.id, "piet")
    with pytest.raises(DeskError, match="required steps not done yet: 1, 2"):
        await desk.desk.close(alarm.id, "olga", "false", "user_error")
    await desk.desk.check_step(alarm.id, "olga", 0)
    await desk.desk.check_step(alarm.id, "olga", 1)
    await desk.desk.note(alarm.id, "olga", "official pressed by accident")
    closed = await desk.desk.close(alarm.id, "olga", "false", "user_error")
    assert (closed.outcome, closed.reason, closed.closed_by, closed.is_open) == (
        "false", "user_error", "olga", False)
    assert await desk.desk.queue() == []
    actions = [
        (e.who, e.action) for e in reversed(await AuditLog(desk.db).entries(target=f"alarm:{alarm.id}"))
    ]
    assert actions == [
        ("system", "alarm_opened"),
        ("olga", "take"),
        ("olga", "step"),
        ("olga", "step"),
        ("olga", "note"),
        ("olga", "close"),
    ]


async def test_only_the_owner_closes_and_a_supervisor_may_take_over(desk: Desk) -> None:
    await desk.signal("FA")
    [alarm] = await desk.desk.queue()
    await desk.desk.take(alarm.id, "olga")
    with pytest.raises(DeskError, match="taken by olga"):
        await desk.desk.close(alarm.id, "piet", "real", "police_sent")
    taken = await desk.desk.take(alarm.id, "sam", override=True)
    assert taken.owner == "sam"


async def test_bad_outcome_and_closed_alarm_are_refused(desk: Desk) -> None:
    await desk.signal("AT", site="plain-home")  # the built-in technical plan: one required step
    [alarm] = await desk.desk.queue()
    await desk.desk.take(alarm.id, "olga")
    with pytest.raises(DeskError, match="choose an outcome"):
        await desk.desk.close(alarm.id, "olga", "whatever", "")
    with pytest.raises(DeskError, match="choose a reason for 'technical'"):
        await desk.desk.close(alarm.id, "olga", "technical", "")
    with pytest.raises(DeskError, match="say why"):
        await desk.desk.skip_step(alarm.id, "olga", 0, "  ")
    await desk.desk.skip_step(alarm.id, "olga", 0, "mains restored, installer informed")
    await desk.desk.close(alarm.id, "olga", "technical", "power")
    with pytest.raises(DeskError, match="already closed"):
        await desk.desk.take(alarm.id, "olga")


async def test_a_new_alarm_after_closing_opens_a_new_one(desk: Desk) -> None:
    await desk.signal("TA", site="plain-home")
    [first] = await desk.desk.queue()
    await desk.desk.take(first.id, "olga")
    await desk.desk.skip_step(first.id, "olga", 0, "zone checked")
    await desk.desk.skip_step(first.id, "olga", 1, "site unoccupied")
    await desk.desk.skip_step(first.id, "olga", 2, "no guard needed")
    await desk.desk.close(first.id, "olga", "false", "device_fault")
    await desk.signal("TA", site="plain-home")
    [second] = await desk.desk.queue()
    assert second.id != first.id
    assert [e.kind for e in await desk.desk.log(second.id)] == ["opened"]  # not the first one's


async def test_arming_events_set_the_site_state(desk: Desk) -> None:
    await desk.signal("CL", zone="03")
    await desk.signal("RP")
    states = await desk.desk.site_states()
    assert states["demo-home"].armed == "armed" and states["demo-home"].armed_at == desk.clock()
    desk.clock.advance(60)
    await desk.signal("OP", zone="03")
    assert (await desk.desk.site_states())["demo-home"].armed == "disarmed"
