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


async def test_later_events_join_the_open_alarm_and_raise_its_priority(desk: Desk) -> None:
    await desk.signal("BA")
    await desk.signal("PA", zone="02")
    [alarm] = await desk.desk.queue()
    assert alarm.priority == AlarmClass.HOLDUP
    assert alarm.title.startswith("hold-up")
    assert [e.kind for e in await desk.desk.log(alarm.id)] == ["opened", "alarm"]


async def test_restore_and_cancel_join_the_timeline_and_keep_the_alarm_open(desk: Desk) -> None:
    await desk.signal("BA")
    await desk.signal("BH")
    await desk.signal("BC")
    [alarm] = await desk.desk.queue()
    assert alarm.restored_at is not None and alarm.cancelled
    assert [e.kind for e in await desk.desk.log(alarm.id)] == ["opened", "restore", "restore"]


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
        await desk.desk.close(alarm.id, "olga", "false")
    await desk.desk.check_step(alarm.id, "olga", 0)
    await desk.desk.check_step(alarm.id, "olga", 1)
    await desk.desk.note(alarm.id, "olga", "official pressed by accident")
    closed = await desk.desk.close(alarm.id, "olga", "false")
    assert (closed.outcome, closed.closed_by, closed.is_open) == ("false", "olga", False)
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
        await desk.desk.close(alarm.id, "piet", "real")
    taken = await desk.desk.take(alarm.id, "sam", override=True)
    assert taken.owner == "sam"


async def test_bad_outcome_and_closed_alarm_are_refused(desk: Desk) -> None:
    await desk.signal("TA", site="plain-home")  # no action plan: nothing required
    [alarm] = await desk.desk.queue()
    await desk.desk.take(alarm.id, "olga")
    with pytest.raises(DeskError, match="outcome must be one of"):
        await desk.desk.close(alarm.id, "olga", "whatever")
    await desk.desk.close(alarm.id, "olga", "technical")
    with pytest.raises(DeskError, match="already closed"):
        await desk.desk.take(alarm.id, "olga")


async def test_a_new_alarm_after_closing_opens_a_new_one(desk: Desk) -> None:
    await desk.signal("TA", site="plain-home")
    [first] = await desk.desk.queue()
    await desk.desk.take(first.id, "olga")
    await desk.desk.close(first.id, "olga", "false")
    await desk.signal("TA", site="plain-home")
    [second] = await desk.desk.queue()
    assert second.id != first.id


async def test_arming_events_set_the_site_state(desk: Desk) -> None:
    await desk.signal("CL", zone="03")
    await desk.signal("RP")
    states = await desk.desk.site_states()
    assert states["demo-home"].armed == "armed" and states["demo-home"].armed_at == desk.clock()
    desk.clock.advance(60)
    await desk.signal("OP", zone="03")
    assert (await desk.desk.site_states())["demo-home"].armed == "disarmed"
