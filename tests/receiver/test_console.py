"""The console over real HTTP and DC-09 sockets: queue, live notices, handling, sites, report."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from receiver.alarms import AlarmClass
from receiver.console.report import bar_chart, month_report
from receiver.desk import Alarm
from receiver.service import Receiver
from tests.receiver.console_fixtures import running_receiver, send_frame, sign_in


@pytest.fixture
async def receiver(tmp_path: Path, store_url: str) -> AsyncIterator[Receiver]:
    async for r in running_receiver(tmp_path, store_url):
        yield r


def _base(receiver: Receiver) -> str:
    return f"http://127.0.0.1:{receiver.http_port}"


async def _wait_alarm(receiver: Receiver, timeout: float = 1.0) -> Alarm:
    async with asyncio.timeout(timeout):
        while not (queue := await receiver.desk.queue()):
            await asyncio.sleep(0.01)
    return queue[0]


async def test_a_panic_frame_reaches_the_queue_page_and_a_live_notice_is_sent(receiver: Receiver) -> None:
    client = await sign_in(_base(receiver), "olga")
    async with client.http:
        live = await client.http.get(client.base + "/live")
        assert live.headers["Content-Type"].startswith("text/event-stream")
        assert await send_frame(receiver, "PA") == "ACK"
        async with asyncio.timeout(1):
            lines = []
            while not any(line.startswith(b'data: {"alarm"') for line in lines):
                lines.append(await live.content.readline())
        live.close()
        rows = await (await client.http.get(client.base + "/queue/rows")).text()
        assert "hold-up / panic: PA zone 2" in rows and 'class="alarm p1' in rows


async def test_an_operator_takes_works_the_plan_and_closes_an_alarm_through_forms(receiver: Receiver) -> None:
    await send_frame(receiver, "PA")
    alarm = await _wait_alarm(receiver)
    olga, sam = await sign_in(_base(receiver), "olga"), await sign_in(_base(receiver), "sam")
    async with olga.http, sam.http:
        assert (await olga.form(f"/alarms/{alarm.id}/take")).status == 303
        page = await (await sam.http.get(sam.base + f"/alarms/{alarm.id}")).text()
        assert "Taken by olga" in page and "Take over" in page  # ownership visible to others
        rows = await (await sam.http.get(sam.base + "/queue/rows")).text()
        assert "taken by <strong>olga</strong> after" in rows and "data-opened" not in rows  # stops counting
        refused = await olga.form(f"/alarms/{alarm.id}/close", outcome="false", reason="user_error")
        assert refused.status == 409 and "required steps not done yet: 1, 2" in await refused.text()
        for step in ("0", "1"):
            assert (await olga.form(f"/alarms/{alarm.id}/step", step=step)).status == 303
        assert (await olga.form(f"/alarms/{alarm.id}/note", text="pressed by the child")).status == 303
        no_reason = await olga.form(f"/alarms/{alarm.id}/close", outcome="false")
        assert no_reason.status == 409 and "choose a reason for &#x27;false&#x27;" in await no_reason.text()
        closed = await olga.form(f"/alarms/{alarm.id}/close", outcome="false", reason="user_error")
        assert closed.status == 303
        page = await (await olga.http.get(olga.base + f"/alarms/{alarm.id}")).text()
        assert "as <strong>false</strong>: set off by mistake" in page
        notes = page[page.index('<ul id="notes">') :]
        assert "pressed by the child" in notes[: notes.index("</ul>")]  # listed, not only in the timeline
        assert "CLOSED" in page and "OPEN for" not in page
        audit = await (await sam.http.get(sam.base + f"/api/audit?target=alarm:{alarm.id}")).json()
        assert [a["action"] for a in reversed(audit)] == [
            "alarm_opened",
            "take",
            "step",
            "step",
            "note",
            "close",
        ]


async def test_the_alarm_page_shows_plan_code_word_contacts_timeline_and_site_state(
    receiver: Receiver,
) -> None:
    await send_frame(receiver, "BA", zone="05", seq=1)
    await send_frame(receiver, "BV", zone="", seq=2)
    alarm = await _wait_alarm(receiver)
    async with asyncio.timeout(1):
        while (await receiver.desk.queue())[0].priority != AlarmClass.VERIFIED_BURGLARY:
            await asyncio.sleep(0.01)
    client = await sign_in(_base(receiver), "olga")
    async with client.http:
        page = await (await client.http.get(client.base + f"/alarms/{alarm.id}")).text()
    assert "Action plan: burglary" in page and "Call the residents" in page  # the burglary plan
    assert "tel:+31 6 1234 5678" in page and "tulp" in page and "regenboog" in page
    timeline = page[page.index('id="timeline"') :]
    ba, bv = timeline.index("<strong>BA</strong>"), timeline.index("<strong>BV</strong>")
    assert ba < bv  # in order of arrival
    assert "burglary, generic · zone 5 Kitchen window" in timeline
    assert "E130 <small>(from SIA)</small>" in timeline
    assert "Opened as burglary, upgraded to verified burglary" in page
    assert 'class="online"' in page


async def test_sites_board_detail_search_and_report(receiver: Receiver) -> None:
    await send_frame(receiver, "CL", zone="03", seq=1)
    await send_frame(receiver, "FA", zone="07", seq=2)
    await _wait_alarm(receiver)
    client = await sign_in(_base(receiver), "olga")
    async with client.http:
        board = await (await client.http.get(client.base + "/sites")).text()
        assert "demo-home" in board and "plain-home" in board and "armed" in board and "OFFLINE" in board
        found = await (await client.http.get(client.base + "/sites/demo-home?q=FA")).text()
        assert "FA07" in found and "CL03" not in found
        report = await (await client.http.get(client.base + "/sites/demo-home/report")).text()
        assert '<dd id="alarm-count">1</dd>' in report and "<svg" in report
        assert '<dd id="false-share">none closed yet</dd>' in report
        sites = await (await client.http.get(client.base + "/api/sites")).json()
        assert {s["site"]: s["armed"] for s in sites}["demo-home"] == "armed"
        alarms = await (await client.http.get(client.base + "/api/alarms")).json()
        assert alarms[0]["class"] == "fire"


async def test_api_events_filter_by_time(receiver: Receiver) -> None:
    await send_frame(receiver, "PA")
    client = await sign_in(_base(receiver), "olga")
    async with client.http:
        future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        assert (
            await (await client.http.get(client.base + "/api/events", params={"since": future})).json() == []
        )
        assert (
            len(await (await client.http.get(client.base + "/api/events", params={"until": future})).json())
            == 1
        )
        bad = await client.http.get(client.base + "/api/events", params={"since": "yesterday"})
        assert bad.status == 400


def test_month_report_figures() -> None:
    start = datetime(2026, 11, 1, tzinfo=UTC)

    def alarm(day: int, cls: AlarmClass, outcome: str | None, taken_s: int | None) -> Alarm:
        opened = start + timedelta(days=day)
        return Alarm(
            id=day, site="s", priority=cls, title="", opened_at=opened, updated_at=opened, first_event=None,
            owner=None, taken_at=opened + timedelta(seconds=taken_s) if taken_s is not None else None,
            closed_at=opened if outcome else None, closed_by=None, outcome=outcome, restored_at=None,
            cancelled=False, response=cls.response, opened_as=cls,
        )

    report = month_report(
        [
            alarm(0, AlarmClass.HOLDUP, "false", 20),
            alarm(0, AlarmClass.ATS_FAILURE, "technical", 40),
            alarm(29, AlarmClass.BURGLARY, None, None),
        ],
        start,
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    assert (report.alarms, report.supervision_faults, report.median_response_s) == (3, 1, 30)
    assert report.false_share == 0.5 and report.per_day[0] == 2 and report.per_day[29] == 1
    assert (report.false_alarms, report.closed) == (1, 2)  # "1 of 2 closed", not "100 %" of 1
    assert bar_chart(report.per_day, "x").count("<rect") == 30


async def test_another_feature_adds_a_part_to_the_alarm_page_that_updates_with_it(receiver: Receiver) -> None:
    """The extension point the mobile panic button fills (positions, listen-in)."""
    async def positions(_request: web.Request, alarm: Alarm) -> str:
        return f'<h2>Positions</h2><p id="track">{alarm.site}: 52.0907 N, 5.1214 E</p>'

    receiver.alarm_sections.append(positions)
    await send_frame(receiver, "HA")
    alarm = await _wait_alarm(receiver)
    client = await sign_in(_base(receiver), "olga")
    async with client.http:
        page = await (await client.http.get(client.base + f"/alarms/{alarm.id}")).text()
        parts = await (await client.http.get(client.base + f"/alarms/{alarm.id}/parts")).json()
    section = page[page.index('id="alarm-extensions"') :]
    assert section.index('<p id="track">demo-home: 52.0907 N') < section.index("</section>")
    assert "52.0907 N" in parts["more"]


async def test_a_timeline_shows_neither_a_closed_earlier_alarm_nor_another_open_one(
    receiver: Receiver,
) -> None:
    await send_frame(receiver, "TA", zone="40", seq=1)
    first = await _wait_alarm(receiver)
    await receiver.desk.take(first.id, "olga")
    for step in range(3):
        await receiver.desk.skip_step(first.id, "olga", step, "intercom cover knocked by the postman")
    await receiver.desk.close(first.id, "olga", "false", "environment")
    await send_frame(receiver, "TA", zone="10", seq=2)
    await send_frame(receiver, "FA", zone="20", seq=3)
    async with asyncio.timeout(2):
        while len(queue := await receiver.desk.queue()) < 2:
            await asyncio.sleep(0.01)
    second = next(a for a in queue if a.response.value == "tamper")
    client = await sign_in(_base(receiver), "olga")
    async with client.http:
        page = await (await client.http.get(client.base + f"/alarms/{second.id}")).text()
    timeline = page[page.index('id="timeline"') : page.index("</table>", page.index('id="timeline"'))]
    assert timeline.count("<strong>TA</strong>") == 1 and "zone 10" in timeline  # its own tamper only
    assert "zone 40" not in timeline and "<strong>FA</strong>" not in timeline
    assert "Also open at this site (1)" in page and "fire: FA zone 20" in page
