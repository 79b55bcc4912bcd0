"""The mobile panic button against a real receiver (HTTP, WebSockets, SQLite and PostgreSQL):
enrolment, a press becoming a priority-1 alarm with its position and the person first on its
call-back list, retries stored once, the listen-in relayed and recorded, the call-back through
the console's own workflow (a press joining an open alarm included), and who may do what."""

from __future__ import annotations

import asyncio
import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import av
import numpy as np
import pytest

from protocol.dc09 import Dc09Key, Message, decode, encode, exchange
from receiver.auth import Role
from receiver.mobile.audio import RATE
from receiver.service import Receiver
from tests.receiver.console_fixtures import KEY_HEX, Client, send_frame, sign_in
from tests.receiver.mobile_fixtures import (
    HOME,
    TONE_HZ,
    MovableClock,
    Phone,
    base,
    enrol_link,
    eventually,
    running_mobile_receiver,
    tone,
)

PERSON = "Burgemeester Jansen"  # +31 6 1234 5678 (the site's official too), +31 6 2222 3333


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
async def receiver(tmp_path: Path, store_url: str, clock: MovableClock) -> AsyncIterator[Receiver]:
    async for r in running_mobile_receiver(tmp_path, store_url, clock):
        yield r


@pytest.fixture
async def admin(receiver: Receiver) -> AsyncIterator[Client]:
    client = await sign_in(base(receiver), "ada")
    async with client.http:
        yield client


@pytest.fixture
async def olga(receiver: Receiver) -> AsyncIterator[Client]:
    client = await sign_in(base(receiver), "olga")
    async with client.http:
        yield client


@pytest.fixture
async def phone(receiver: Receiver, admin: Client) -> AsyncIterator[Phone]:
    enrolled = await Phone.enrolled(base(receiver), await enrol_link(admin))
    yield enrolled
    await enrolled.close()


async def alarm_of(receiver: Receiver, press: dict[str, object]) -> int:
    async def linked() -> int | None:
        row = await receiver.mobile.alarms.get(int(str(press["press"])))
        return row.alarm if row else None

    return int(await eventually(linked, what="the press linked to its alarm"))


async def actions(receiver: Receiver, target: str) -> list[str]:
    return [e.action for e in reversed(await receiver.centre().audit.entries(target=target))]


async def test_mobile_press_raises_a_priority_1_alarm_with_its_position(
    receiver: Receiver, admin: Client, phone: Phone
) -> None:
    status, press = await phone.press()
    assert status == 201, press
    alarm_id = await alarm_of(receiver, press)
    alarm = await receiver.desk.alarm(alarm_id)
    assert alarm is not None and int(alarm.priority) == 1 and alarm.site == "demo-home"
    assert alarm.title == f"hold-up / panic: PA, mobile panic button of {PERSON}"
    assert alarm.person is not None and alarm.person.name == PERSON
    call_back = (await receiver.desk.plan(alarm))[1]  # the hold-up plan's call step for "person"
    assert call_back.verifies and call_back.answer_within == 60
    assert [(c.name, c.phone) for c in call_back.callees] == [
        (PERSON, "+31 6 1234 5678"), (PERSON, "+31 6 2222 3333")]  # the site's official: same number

    event = await receiver.store.event(int(str(press["event"])))
    assert event is not None and event.transport == "mobile" and event.code == "PA"
    xdata = {x["id"]: x["value"] for x in event.extended}
    assert xdata["X"] == "005E07.2840000" and xdata["Y"] == "52N05.4420000"  # DC-09 location x-data

    state = await (await admin.http.get(f"{admin.base}/api/mobile/alarms/{alarm_id}")).json()
    [point] = state["track"]
    assert (point["lat"], point["lon"], point["accuracy"]) == (HOME[0], HOME[1], 12.0)
    assert state["presses"][0]["battery"] == 0.81 and state["verdict"] == ""
    assert "openstreetmap.org/?mlat=52.090700&mlon=5.121400" in state["map"]

    page = await (await admin.http.get(f"{admin.base}/alarms/{alarm_id}")).text()
    assert 'id="mobile"' in page and "52.09070" in page and f"Pressed by <strong>{PERSON}" in page
    assert "/mobile/static/desk.js" in page  # on every alarm page: the section may come later
    assert "mobile_press" in await actions(receiver, f"event:{press['event']}")


async def test_mobile_a_retried_press_is_stored_once(receiver: Receiver, phone: Phone) -> None:
    key = "retried-press-0001"
    first_status, first = await phone.press(key)
    again_status, again = await phone.press(key)  # the answer to the first was lost: the phone resends
    assert (first_status, again_status) == (201, 200)
    assert again["duplicate"] is True and again["event"] == first["event"]
    await alarm_of(receiver, first)
    mobile_events = [e for e in await receiver.store.events() if e.transport == "mobile"]
    assert len(mobile_events) == 1
    assert len(await receiver.desk.queue()) == 1

    assert await phone.position(key, 52.1, 5.13, "fix-0001") == (200, {"stored": 1, "open": True})
    assert await phone.position(key, 52.1, 5.13, "fix-0001") == (200, {"stored": 0, "open": True})
    assert (await phone.position("never-pressed-1", 52.1, 5.13, "fix-0002"))[0] == 409


async def test_mobile_silent_press_is_a_silent_hold_up(receiver: Receiver, admin: Client) -> None:
    silent = await Phone.enrolled(base(receiver), await enrol_link(admin, silent=True))
    try:
        status, press = await silent.press(position=None)
        assert status == 201 and press["code"] == "HA"
        alarm = await receiver.desk.alarm(await alarm_of(receiver, press))
        assert alarm is not None and int(alarm.priority) == 1 and "HA" in alarm.title
    finally:
        await silent.close()


async def test_mobile_enrolment_link_works_once(receiver: Receiver, admin: Client) -> None:
    resp = await admin.form("/admin/mobile/enrol", person="burgemeester")
    page = await resp.text()
    assert re.search(r'<img id="enrol-qr" src="data:image/svg\+xml', page)  # the QR code, no CDN
    link = re.search(r'<code id="enrol-link">([^<]+)</code>', page)
    assert link and "/mobile/enrol#we_" in link.group(1)
    secret = link.group(1).split("#")[1]
    async with aiohttp.ClientSession() as http:
        first = await http.post(f"{admin.base}/mobile/api/enrol", json={"secret": secret})
        second = await http.post(f"{admin.base}/mobile/api/enrol", json={"secret": secret})
    assert first.status == 201 and second.status == 410
    stored = await receiver.db.all("SELECT token, enrol FROM mobile_devices")
    token = (await first.json())["token"]
    assert all(token not in str(row) and secret not in str(row) for row in stored)  # digests only
    assert await actions(receiver, "mobile:1") == ["mobile_enrolled", "mobile_link_used"]


async def test_mobile_device_api_needs_an_unrevoked_token(receiver: Receiver, admin: Client,
                                                         phone: Phone) -> None:
    async with aiohttp.ClientSession() as http:
        for method, path in (("POST", "/mobile/api/press"), ("GET", "/mobile/api/me"),
                             ("POST", "/mobile/api/press/abcdefgh/positions")):
            resp = await http.request(method, admin.base + path, json={})
            assert resp.status == 401, path
            resp = await http.request(method, admin.base + path, json={},
                                      headers={"Authorization": "Bearer wm_made-up"})
            assert resp.status == 401, path
    status, press = await phone.press()
    assert status == 201
    devices = await receiver.mobile.registry.all()
    resp = await admin.form("/admin/mobile/revoke", device=str(devices[0].id))
    assert resp.status == 200 and "revoked" in await resp.text()

    status, _ = await phone.press()
    assert status == 401  # a revoked phone raises nothing
    socket = await phone.audio(str(press["key"]) if "key" in press else "x" * 32)
    closing = await socket.receive(timeout=5)
    assert closing.type == aiohttp.WSMsgType.CLOSE and closing.data == 4401
    assert len([e for e in await receiver.store.events() if e.transport == "mobile"]) == 1
    assert "mobile_refused" in await actions(receiver, "mobile:1")


async def test_mobile_listen_in_only_for_the_signed_in_owner(receiver: Receiver, admin: Client, olga: Client,
                                                            phone: Phone) -> None:
    _, press = await phone.press()
    alarm_id = await alarm_of(receiver, press)
    url = f"{base(receiver).replace('http', 'ws')}/api/mobile/alarms/{alarm_id}/listen"
    site_token = await receiver.accounts.add_token("agent-plain", Role.SITE, site="plain-home")
    api_token = await receiver.accounts.add_token("reporting", Role.OPERATOR)
    async with aiohttp.ClientSession() as http:
        for headers, status in (({}, 401), ({"Authorization": f"Bearer {site_token}"}, 403),
                                ({"Authorization": f"Bearer {api_token}"}, 403)):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(url, headers=headers)
            assert refused.value.status == status, headers
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await olga.http.ws_connect(url)  # signed in, but the alarm is not hers
    assert refused.value.status == 403
    assert (await olga.form(f"/alarms/{alarm_id}/take")).status == 303
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await olga.http.ws_connect(url, headers={"Origin": "http://evil.example"})
    assert refused.value.status == 403
    async with olga.http.ws_connect(url) as ws:
        hello = json.loads((await ws.receive(timeout=5)).data)
        assert hello["type"] == "hello" and hello["rate"] == RATE


async def test_mobile_a_removed_operator_stops_hearing_the_listen_in(
    receiver: Receiver, admin: Client, olga: Client, phone: Phone, monkeypatch: pytest.MonkeyPatch
) -> None:
    from receiver.mobile import operator

    monkeypatch.setattr(operator, "SESSION_CHECK", 0.2)
    _, press = await phone.press()
    alarm_id = await alarm_of(receiver, press)
    await olga.form(f"/alarms/{alarm_id}/take")
    url = f"{base(receiver).replace('http', 'ws')}/api/mobile/alarms/{alarm_id}/listen"
    async with olga.http.ws_connect(url) as ws:
        assert json.loads((await ws.receive(timeout=5)).data)["type"] == "hello"
        assert (await admin.form("/admin/users/remove", name="olga")).status == 200
        closing = await ws.receive(timeout=10)
        assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert not receiver.mobile.hub.listeners  # nobody hears the alarm any more


async def test_mobile_audio_reaches_the_owner_and_is_recorded(receiver: Receiver, olga: Client,
                                                              phone: Phone) -> None:
    _, press = await phone.press()
    alarm_id = await alarm_of(receiver, press)
    await olga.form(f"/alarms/{alarm_id}/take")
    listen_url = f"{base(receiver).replace('http', 'ws')}/api/mobile/alarms/{alarm_id}/listen"
    async with olga.http.ws_connect(listen_url) as listener:
        assert json.loads((await listener.receive(timeout=5)).data)["type"] == "hello"
        mic = await phone.audio(str(press.get("key", "")) or await _key(receiver, press))
        assert json.loads((await mic.receive(timeout=5)).data)["type"] == "ready"
        sound = tone(2.0)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(0, len(sound), 320):  # 40 ms chunks, at the pace a phone speaks
            await mic.send_bytes(sound[i:i + 320])
            await asyncio.sleep(max(0.0, start + (i + 320) / RATE - loop.time()))
        heard = bytearray()
        while len(heard) < len(sound) * 0.9:
            msg = await listener.receive(timeout=5)
            if msg.type == aiohttp.WSMsgType.BINARY:
                heard += msg.data
        assert _peak_hz(np.frombuffer(bytes(heard), np.uint8)) == pytest.approx(TONE_HZ, abs=20)

        assert (await olga.form(f"/alarms/{alarm_id}/step", step="0")).status == 303  # listened in
        called = await olga.form(f"/alarms/{alarm_id}/call", step="1", callee="0", outcome="ok")
        assert called.status == 303
        closed = await olga.form(f"/alarms/{alarm_id}/close", outcome="false", reason="user_error")
        assert closed.status == 303, await closed.text()
        end = await mic.receive(timeout=10)  # closing the alarm switches the phone's microphone off
        assert json.loads(end.data) == {"type": "end", "reason": "alarm closed"}
        await mic.close()

    async def recorded() -> list[int]:
        rows = await receiver.db.all("SELECT id FROM mobile_recordings WHERE ended_at IS NOT NULL")
        return [int(r[0]) for r in rows]

    [recording] = await eventually(recorded, what="the recording closed")
    resp = await olga.http.get(f"{olga.base}/api/mobile/recordings/{recording}")
    assert resp.status == 200 and resp.content_type == "audio/wav"
    samples = _decode_with_ffmpeg(await resp.read())
    assert len(samples) == pytest.approx(2.0 * RATE, abs=320)
    assert np.sqrt(np.mean(samples.astype(float) ** 2)) > 3000  # not silence
    assert _spectrum_peak(samples) == pytest.approx(TONE_HZ, abs=10)
    assert "recording_download" in await actions(receiver, f"alarm:{alarm_id}")
    log = await actions(receiver, f"alarm:{alarm_id}")
    assert {"listen_in", "mobile_audio_started", "mobile_audio_stopped", "mobile_press_ended"} <= set(log)

    files = list(receiver.mobile.recordings.iterdir())
    assert [f.stat().st_mode & 0o777 for f in files] == [0o600]
    assert await receiver.mobile.sweep(datetime.now(UTC) + timedelta(days=29)) == 0  # kept 30 days
    assert await receiver.mobile.sweep(datetime.now(UTC) + timedelta(days=31)) == 1
    assert not list(receiver.mobile.recordings.iterdir())
    resp = await olga.http.get(f"{olga.base}/api/mobile/recordings/{recording}")
    assert resp.status == 410
    assert "recording_deleted" in await actions(receiver, f"alarm:{alarm_id}")


async def _key(receiver: Receiver, press: dict[str, object]) -> str:
    row = await receiver.mobile.alarms.get(int(str(press["press"])))
    assert row is not None
    return row.key


def _decode_with_ffmpeg(wav: bytes) -> np.ndarray:
    """The recording as FFmpeg (through PyAV) reads it: an independent decoder."""
    with av.open(io.BytesIO(wav)) as container:
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    return np.concatenate(frames).astype(np.int16)


def _spectrum_peak(samples: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(float) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])


def _peak_hz(ulaw: np.ndarray) -> float:
    from receiver.mobile.audio import ulaw_decode

    return _spectrum_peak(ulaw_decode(ulaw.tobytes()))


async def test_mobile_call_back_with_the_code_word_clears_it_on_the_consoles_route(
    receiver: Receiver, olga: Client, phone: Phone
) -> None:
    _, press = await phone.press()
    alarm_id = await alarm_of(receiver, press)
    call = {"step": "1", "callee": "1", "outcome": "ok", "phone": "+31 6 2222 3333"}
    assert (await olga.form(f"/alarms/{alarm_id}/call", **call)).status == 409  # not taken
    await olga.form(f"/alarms/{alarm_id}/take")
    assert (await olga.form(f"/alarms/{alarm_id}/call", **call)).status == 303
    alarm = await receiver.desk.alarm(alarm_id)
    assert alarm is not None and alarm.handling.verdict == "cleared"
    assert f"{PERSON} (+31 6 2222 3333): answered, code word correct" in alarm.handling.verdict_why
    assert (await olga.form(f"/alarms/{alarm_id}/step", step="0")).status == 303
    closed = await olga.form(f"/alarms/{alarm_id}/close", outcome="false", reason="user_error")
    assert closed.status == 303  # no police step needed: the code word was given
    log = await actions(receiver, f"alarm:{alarm_id}")
    assert log[:4] == ["alarm_opened", "take", "call", "cleared"]
    # the closed alarm ends the press (microphone off) from the press sweeper, which may already
    # have run: that entry, if there, comes only after the close
    assert log[-1] == "close" or log[-2:] == ["close", "mobile_press_ended"], log
    timeline = [e.text for e in await receiver.desk.log(alarm_id)]
    assert any(f"step 2 call: {PERSON} (+31 6 2222 3333): answered, code word correct" in t for t in timeline)


async def test_mobile_no_answer_in_time_goes_to_police_with_position_and_recording(
    receiver: Receiver, olga: Client, phone: Phone, clock: MovableClock
) -> None:
    _, press = await phone.press()
    alarm_id = await alarm_of(receiver, press)
    mic = await phone.audio(await _key(receiver, press))
    assert json.loads((await mic.receive(timeout=5)).data)["type"] == "ready"
    await mic.send_bytes(tone(0.5))
    await mic.close()  # a short stream: its recording is what the police hear about

    async def verdict() -> str:
        alarm = await receiver.desk.alarm(alarm_id)
        return alarm.handling.verdict if alarm else ""

    clock.ahead = timedelta(seconds=30)
    await receiver.desk.tick()
    assert await verdict() == ""  # 60 s to answer, 30 s gone
    clock.ahead = timedelta(seconds=61)
    assert await eventually(verdict, what="escalated by the call-back timer") == "escalated"

    async def police_info() -> list[str]:
        return [e.text for e in await receiver.desk.log(alarm_id) if e.kind == "police_info"]

    [info] = await eventually(police_info, what="the police information on the timeline")
    assert "for the police: last position 52.09070, 5.12140 ±12 m at" in info
    assert "openstreetmap.org/?mlat=52.090700&mlon=5.121400" in info and "/api/mobile/recordings/" in info
    await receiver.mobile.pass_once(clock())
    assert len(await police_info()) == 1  # once, however often the loop looks
    log = await actions(receiver, f"alarm:{alarm_id}")
    assert "escalated" in log and "police_handover" in log
    page = await (await olga.http.get(f"{olga.base}/alarms/{alarm_id}")).text()
    assert 'id="police-info"' in page and "no answer within 60 s" in page and "NEEDED NOW" in page


async def test_mobile_threat_heard_on_the_listen_in_goes_to_police(
    receiver: Receiver, olga: Client, phone: Phone
) -> None:
    _, press = await phone.press()
    alarm_id = await alarm_of(receiver, press)
    assert (await olga.form(f"/alarms/{alarm_id}/threat")).status == 409  # only the owner
    await olga.form(f"/alarms/{alarm_id}/take")
    page = await (await olga.http.get(f"{olga.base}/alarms/{alarm_id}")).text()
    assert f'action="/alarms/{alarm_id}/threat"' in page and 'data-keep="listen-' in page
    assert (await olga.form(f"/alarms/{alarm_id}/threat")).status == 303
    alarm = await receiver.desk.alarm(alarm_id)
    assert alarm is not None and alarm.handling.verdict == "escalated"
    assert alarm.handling.verdict_why == "threat heard on the listen-in by olga"
    assert "threat_heard" in await actions(receiver, f"alarm:{alarm_id}")
    page = await (await olga.http.get(f"{olga.base}/alarms/{alarm_id}")).text()
    assert f'action="/alarms/{alarm_id}/threat"' not in page  # decided: police


async def test_mobile_press_joining_an_open_hold_up_alarm_calls_the_person_back_first(
    receiver: Receiver, olga: Client, phone: Phone
) -> None:
    """The home's panic button opened the hold-up; the official answered with the code word;
    then a press from the mobile button joins the same alarm: the person is put first on the
    call-back list and must be verified again (the clearing no longer covers them)."""
    assert await send_frame(receiver, "PA") == "ACK"

    async def home_alarm() -> int | None:
        queue = await receiver.desk.queue()
        return queue[0].id if queue else None

    alarm_id = await eventually(home_alarm, what="the home's hold-up alarm")
    await olga.form(f"/alarms/{alarm_id}/take")
    ok = {"step": "1", "callee": "0", "outcome": "ok", "phone": "+31 6 1234 5678"}
    assert (await olga.form(f"/alarms/{alarm_id}/call", **ok)).status == 303
    alarm = await receiver.desk.alarm(alarm_id)
    assert alarm is not None and alarm.handling.verdict == "cleared" and alarm.person is None

    _, press = await phone.press()
    assert await alarm_of(receiver, press) == alarm_id  # joined, not a second hold-up
    assert [a.id for a in await receiver.desk.queue()] == [alarm_id]
    alarm = await receiver.desk.alarm(alarm_id)
    assert alarm is not None and alarm.handling.verdict == ""  # verify again
    call_back = (await receiver.desk.plan(alarm))[1]
    assert [(c.name, c.phone) for c in call_back.callees] == [
        (PERSON, "+31 6 2222 3333"), ("Burgemeester", "+31 6 1234 5678")]
    assert [(a.callee, a.outcome) for a in alarm.handling.state_of(1).attempts] == [(1, "ok")]
    stale = await olga.form(f"/alarms/{alarm_id}/call", **(ok | {"outcome": "no_answer"}))
    assert stale.status == 409 and "changed" in await stale.text()  # drawn before the join
    [joined] = [e.text for e in await receiver.desk.log(alarm_id) if e.kind == "joined"]
    assert f"{PERSON} raised the alarm too (+31 6 1234 5678, +31 6 2222 3333)" in joined
    assert "clearing is withdrawn" in joined
    assert "joined" in await actions(receiver, f"alarm:{alarm_id}")
    page = await (await olga.http.get(f"{olga.base}/alarms/{alarm_id}")).text()
    assert f"Pressed by <strong>{PERSON}" in page and 'class="timer running"' in page


async def test_mobile_a_second_press_after_the_code_word_asks_for_it_again(
    receiver: Receiver, olga: Client, phone: Phone
) -> None:
    _, press = await phone.press()
    alarm_id = await alarm_of(receiver, press)
    await olga.form(f"/alarms/{alarm_id}/take")
    await olga.form(f"/alarms/{alarm_id}/call", step="1", callee="0", outcome="ok")
    _, again = await phone.press()
    assert await alarm_of(receiver, again) == alarm_id

    async def undecided() -> bool:
        alarm = await receiver.desk.alarm(alarm_id)
        return alarm is not None and alarm.handling.verdict == ""

    await eventually(undecided, what="the clearing withdrawn")
    alarm = await receiver.desk.alarm(alarm_id)
    assert alarm is not None
    assert [c.phone for c in (await receiver.desk.plan(alarm))[1].callees] == [
        "+31 6 1234 5678", "+31 6 2222 3333"]  # nobody added twice
    assert alarm.due_at is not None and alarm.due_at > alarm.opened_at + timedelta(seconds=60)  # restarted


async def test_mobile_microphone_limit_ends_the_stream(receiver: Receiver, phone: Phone) -> None:
    _, press = await phone.press()
    alarm_id = await alarm_of(receiver, press)
    mic = await phone.audio(await _key(receiver, press))
    assert json.loads((await mic.receive(timeout=5)).data)["type"] == "ready"
    await receiver.mobile.pass_once(datetime.now(UTC) + timedelta(minutes=11))  # the limit is 10 min
    assert json.loads((await mic.receive(timeout=5)).data) == {"type": "end", "reason": "time limit"}
    assert any(e.text.endswith("off: time limit") for e in await receiver.desk.log(alarm_id))
    again = await phone.audio(await _key(receiver, press))  # and it cannot start again
    assert json.loads((await again.receive(timeout=5)).data)["type"] == "end"
    await mic.close()
    await again.close()


async def test_mobile_a_dc09_event_with_location_shows_its_position(receiver: Receiver, olga: Client) -> None:
    msg = Message(token="SIA-DCS", sequence=7, account="0471", receiver="1", prefix="0",
                  data="#0471|Nri1/PA01", extended=(("X", "006E07.7777777"), ("Y", "49N06.6666666")),
                  timestamp=datetime.now(UTC).replace(microsecond=0), encrypted=True)
    key = Dc09Key.from_hex(KEY_HEX)
    reply = await exchange("127.0.0.1", receiver.port("tcp"), encode(msg, key), udp=False, timeout=5)
    assert reply is not None and decode(reply, lambda _a: [key]).token == "ACK"

    async def opened() -> int | None:
        queue = await receiver.desk.queue()
        return queue[0].id if queue else None

    alarm_id = await eventually(opened, what="the DC-09 alarm")
    state = await (await olga.http.get(f"{olga.base}/api/mobile/alarms/{alarm_id}")).json()
    [point] = state["track"]
    assert point["source"] == "dc09"
    assert (point["lat"], point["lon"]) == pytest.approx((49.11111, 6.12963), abs=1e-5)
    page = await (await olga.http.get(f"{olga.base}/alarms/{alarm_id}")).text()
    assert 'id="mobile"' in page and "49.11111, 6.12963" in page
