"""Site supervision by moving the clock: missed polls, restores, repeated rejections."""

from __future__ import annotations

from receiver.alarms import AlarmClass
from receiver.supervision import LinkBook, SiteWatch, account_in_frame
from tests.receiver.conftest import ACCOUNTS, Desk


def _watch(desk: Desk) -> tuple[SiteWatch, LinkBook]:
    links = LinkBook()
    return SiteWatch(ACCOUNTS[:1], links, desk.desk, desk.clock()), links


async def test_a_missed_poll_raises_ats_failure_once_and_the_next_poll_restores_it(desk: Desk) -> None:
    watch, links = _watch(desk)
    links.heard("0471", desk.clock(), poll=True)
    await watch.tick(desk.clock.advance(120))  # exactly interval + grace: still fine
    assert await desk.desk.queue() == []
    await watch.tick(desk.clock.advance(1))
    await watch.tick(desk.clock.advance(60))  # still silent: no second alarm
    [alarm] = await desk.desk.queue()
    assert (alarm.site, alarm.priority, alarm.restored_at) == ("demo-home", AlarmClass.ATS_FAILURE, None)
    links.heard("0471", desk.clock.advance(5), poll=True)
    await watch.tick(desk.clock())
    [restored] = await desk.desk.queue()
    assert restored.id == alarm.id and restored.restored_at == desk.clock()
    assert [e.kind for e in await desk.desk.log(alarm.id)] == ["opened", "restore"]


async def test_a_site_never_heard_from_is_timed_from_the_start(desk: Desk) -> None:
    watch, _ = _watch(desk)
    await watch.tick(desk.clock.advance(119))
    assert await desk.desk.queue() == []
    await watch.tick(desk.clock.advance(2))
    assert [a.priority for a in await desk.desk.queue()] == [AlarmClass.ATS_FAILURE]


async def test_repeated_rejections_show_as_a_technical_alarm(desk: Desk) -> None:
    watch, links = _watch(desk)
    links.heard("0471", desk.clock(), poll=True)
    for _ in range(2):
        links.rejected("0471", desk.clock(), "frame could not be decrypted")
    await watch.tick(desk.clock())
    assert await desk.desk.queue() == []
    links.rejected("0471", desk.clock(), "timestamp outside the window")
    await watch.tick(desk.clock())
    [alarm] = await desk.desk.queue()
    assert alarm.priority == AlarmClass.TECHNICAL


async def test_a_restart_resumes_known_faults_without_a_second_alarm(desk: Desk) -> None:
    watch, _ = _watch(desk)
    await watch.tick(desk.clock.advance(200))
    again, _ = _watch(desk)
    await again.load()
    await again.tick(desk.clock.advance(10))
    assert len(await desk.desk.queue()) == 1


async def test_a_panic_during_a_link_fault_is_its_own_alarm_ahead_of_it(desk: Desk) -> None:
    watch, _ = _watch(desk)
    await watch.tick(desk.clock.advance(200))
    await desk.signal("PA")
    panic, link = await desk.desk.queue()
    assert (panic.priority, link.priority) == (AlarmClass.HOLDUP, AlarmClass.ATS_FAILURE)


def test_the_account_is_read_from_an_undecryptable_frame_header() -> None:
    assert account_in_frame(b'\n1234003C"*SIA-DCS"0007L0#0471[ABCDEF0123]\r') == "0471"
    assert account_in_frame(b"garbage") is None
