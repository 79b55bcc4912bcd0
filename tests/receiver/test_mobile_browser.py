"""The mobile panic button in real headless Chromium: one context is the phone (a fake
microphone playing a 1 kHz tone, a set position), another the operator in the console.

Needs Debian's chromium (/usr/bin/chromium) and the playwright package, as test_browser.py.
"""

from __future__ import annotations

import io
import shutil
import wave
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from aiohttp import web

from receiver.mobile.audio import RATE
from receiver.service import Receiver
from tests.receiver.console_fixtures import PASSWORD, sign_in
from tests.receiver.mobile_fixtures import TONE_HZ, base, enrol_link, eventually, running_mobile_receiver
from tests.receiver.test_browser import ARGS, CHROMIUM, DOCS

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")

START = {"latitude": 52.0907, "longitude": 5.1214, "accuracy": 15}
MOVED = {"latitude": 52.0931, "longitude": 5.1180, "accuracy": 9}


@pytest.fixture
async def tile_server() -> AsyncIterator[list[str]]:
    """A tile server on this machine; yields the paths it served (its URL template first)."""
    served: list[str] = []
    png = (Path(__file__).resolve().parents[2] / "receiver/mobile/static/icon-192.png").read_bytes()

    async def tile(request: web.Request) -> web.Response:
        served.append(request.path)
        return web.Response(body=png, content_type="image/png")

    app = web.Application()
    app.router.add_get("/{z}/{x}/{y}.png", tile)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    served.append(f"http://127.0.0.1:{port}/{{z}}/{{x}}/{{y}}.png")
    yield served
    await runner.cleanup()


@pytest.fixture
async def receiver(tmp_path: Path, tile_server: list[str]) -> AsyncIterator[Receiver]:
    async for r in running_mobile_receiver(tmp_path, tiles=tile_server[0]):
        yield r


def tone_wav(path: Path) -> Path:
    """What the fake microphone hears: a 1 kHz tone (Chromium loops the file)."""
    rate = 48_000
    t = np.arange(rate * 3) / rate
    samples = (0.5 * np.sin(2 * np.pi * TONE_HZ * t) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


async def launch(pw: Any, tmp_path: Path) -> Any:
    return await pw.chromium.launch(executable_path=str(CHROMIUM), args=[
        *ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={tone_wav(tmp_path / 'tone.wav')}",
        "--autoplay-policy=no-user-gesture-required",
    ])


async def enrolment(receiver: Receiver) -> str:
    admin = await sign_in(base(receiver), "ada")
    async with admin.http:
        return await enrol_link(admin)


async def phone_page(browser: Any, link: str) -> tuple[Any, Any]:
    context = await browser.new_context(geolocation=START, permissions=["geolocation"], is_mobile=True,
                                        viewport={"width": 390, "height": 800}, has_touch=True)
    page = await context.new_page()
    await page.goto(link)
    await page.wait_for_selector("body[data-state=ready]", timeout=10_000)
    return context, page


async def hold(page: Any) -> None:
    """A deliberate hold: press, keep pressing until the app says it sent, let go."""
    await page.locator("#panic").hover()
    await page.mouse.down()
    await page.wait_for_selector("body[data-delivery]", state="attached", timeout=10_000)
    await page.mouse.up()


async def mobile_events(receiver: Receiver) -> int:
    return len([e for e in await receiver.store.events() if e.transport == "mobile"])


async def test_mobile_phone_alarm_heard_and_tracked_by_the_operator(
    receiver: Receiver, tmp_path: Path, tile_server: list[str]
) -> None:
    from playwright.async_api import async_playwright, expect

    link = await enrolment(receiver)
    async with async_playwright() as pw:
        browser = await launch(pw, tmp_path)
        try:
            phone_context, phone = await phone_page(browser, link)
            manifest = await phone.locator("link[rel=manifest]").get_attribute("href")
            assert manifest == "/mobile/manifest.webmanifest"
            worker = await phone.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)")
            assert worker.endswith("/mobile/sw.js")
            assert "#" not in phone.url  # the enrolment secret left the address bar

            await phone.click("#panic")  # a pocket press: a tap, no hold
            assert await phone.evaluate("WachterOutbox.all().then(items => items.length)") == 0
            assert await phone.get_attribute("body", "data-state") == "ready"

            await hold(phone)
            await phone.wait_for_selector("body[data-delivery=delivered]", timeout=10_000)
            await expect(phone.locator("#mic")).to_be_visible()  # the person sees the microphone is on
            assert await mobile_events(receiver) == 1

            async def linked() -> int | None:
                presses = await receiver.mobile.alarms.open_presses()
                return presses[0].alarm if presses else None

            alarm_id = await eventually(linked, what="the alarm of the press")
            track = await receiver.mobile.alarms.track(alarm_id, "demo-home")
            assert (track[0].latitude, track[0].longitude) == pytest.approx((52.0907, 5.1214))
            assert track[0].accuracy == 15

            operator = await (await browser.new_context(viewport={"width": 1280, "height": 900})).new_page()
            await operator.goto(base(receiver) + f"/alarms/{alarm_id}")
            await operator.fill("input[name=user]", "olga")
            await operator.fill("input[name=password]", PASSWORD)
            await operator.click("button:has-text('Sign in')")
            await expect(operator.locator("body[data-live=open]")).to_have_count(1)
            await operator.evaluate("window.__token = 'not reloaded'")
            await operator.click("button:has-text('Take')")  # sent in place: no reload
            await expect(operator.locator("#mobile p.latest")).to_contain_text("52.09070, 5.12140")
            await operator.click("#listen")
            heard = operator.locator("#listen-in")

            async def samples_heard() -> int:
                return int(await heard.get_attribute("data-heard") or 0)

            async def more_heard(than: int, seconds: float = 2) -> bool:
                return await samples_heard() > than + seconds * RATE

            await eventually(lambda: more_heard(0), 15, "two seconds of audio played in the console")

            await phone_context.set_geolocation(MOVED)  # the person moves; the console follows
            await expect(operator.locator("#mobile p.latest")).to_contain_text("52.09310, 5.11800",
                                                                                timeout=15_000)
            # the section was redrawn in place; the listen-in control is the same node, still playing
            assert await operator.evaluate("window.__token") == "not reloaded"
            before = await samples_heard()
            await eventually(lambda: more_heard(before, 1), 15, "listening on after the position update")
            await expect(operator.locator("#listen")).to_have_text("Stop listening")
            tiles = operator.locator("#mobile-map img.tile")  # the on-page map, through the receiver

            async def tiles_loaded() -> bool:
                return await tiles.evaluate_all(
                    "imgs => imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0)")

            await eventually(tiles_loaded, 10, "the map's tiles loaded")
            assert any(p.startswith("/16/") for p in tile_server[1:])
            await expect(operator.locator("#mobile-map .marker.latest")).to_have_count(1)
            await operator.screenshot(path=str(tmp_path / "operator.png"), full_page=True)
            await phone.screenshot(path=str(tmp_path / "phone.png"))

            # the call-back while listening: the person first on the plan's call list, the code
            # word recorded through the console's form, in place; the listen-in plays on
            await operator.locator("#plan li[data-step='0'] button:has-text('Done')").click()
            await expect(operator.locator("#plan li[data-step='0']")).to_contain_text("done by olga")
            person = operator.locator("#plan li[data-step='1'] tr[data-callee='0']")
            await expect(person).to_contain_text("Burgemeester Jansen")
            await person.locator("select[name=outcome]").select_option("ok")
            await person.locator("button:has-text('Record')").click()
            await expect(operator.locator(".verdict.cleared")).to_contain_text("Burgemeester Jansen")
            before = await samples_heard()
            await eventually(lambda: more_heard(before, 1), 15, "listening on after the call outcome")
            assert await operator.evaluate("window.__token") == "not reloaded"
            await operator.reload()  # a real reload (F5) resumes listening too
            await eventually(lambda: more_heard(0, 1), 15, "listening resumed after a reload")
            close = operator.locator("form.close-form")
            await close.locator("select[name=outcome]").select_option("false")
            await close.locator("select[name=reason]").select_option("user_error")
            await close.locator("button").click()
            await phone.wait_for_selector("body[data-mic=off]", state="attached", timeout=10_000)
            await expect(phone.locator("#mic")).to_be_hidden()  # closing the alarm stops the microphone
        finally:
            await browser.close()

    rows = await receiver.db.all("SELECT id, bytes FROM mobile_recordings WHERE ended_at IS NOT NULL")
    assert rows and sum(int(r[1]) for r in rows) > 2 * RATE
    operator_client = await sign_in(base(receiver), "olga")
    async with operator_client.http:
        url = f"{operator_client.base}/api/mobile/recordings/{rows[0][0]}"
        wav = await (await operator_client.http.get(url)).read()
    with av.open(io.BytesIO(wav)) as container:
        frames = [f.to_ndarray().reshape(-1) for f in container.decode(audio=0)]
    samples = np.concatenate(frames).astype(float)
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    assert np.sqrt(np.mean(samples**2)) > 1000  # not silence
    assert float(freqs[int(np.argmax(spectrum))]) == pytest.approx(TONE_HZ, abs=15)
    DOCS.mkdir(parents=True, exist_ok=True)
    for name in ("operator.png", "phone.png"):
        if not (DOCS / f"mobile-{name}").exists():  # the docs keep the first run's pictures
            shutil.copy(tmp_path / name, DOCS / f"mobile-{name}")


async def test_mobile_offline_press_arrives_once_when_the_network_returns(
    receiver: Receiver, tmp_path: Path
) -> None:
    from playwright.async_api import async_playwright, expect

    link = await enrolment(receiver)
    async with async_playwright() as pw:
        browser = await launch(pw, tmp_path)
        try:
            context, phone = await phone_page(browser, link)
            await phone.evaluate("navigator.serviceWorker.ready")
            await context.set_offline(True)
            await phone.reload()  # a dead spot: the app still starts, from its service worker's cache
            await phone.wait_for_selector("body[data-state=ready]", timeout=10_000)
            await hold(phone)
            await expect(phone.locator("#sent-title")).to_have_text("Alarm in de wachtrij", timeout=10_000)
            assert await phone.evaluate("WachterOutbox.all().then(items => items.length)") >= 1
            assert await mobile_events(receiver) == 0  # the phone tried, and could not reach us

            await context.set_offline(False)
            await phone.wait_for_selector("body[data-delivery=delivered]", state="attached", timeout=45_000)
            await expect(phone.locator("#sent-title")).to_have_text("Alarm verstuurd")
            async def sent_all() -> bool:
                return await phone.evaluate("WachterOutbox.all().then(items => items.length === 0)")

            await eventually(sent_all, 10, "the phone's queue emptied")
        finally:
            await browser.close()
    assert await mobile_events(receiver) == 1
    assert len(await receiver.desk.queue()) == 1


async def test_mobile_silent_phone_shows_nothing_once_sent(receiver: Receiver, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    admin = await sign_in(base(receiver), "ada")
    async with admin.http:
        link = await enrol_link(admin, silent=True)
    async with async_playwright() as pw:
        browser = await launch(pw, tmp_path)
        try:
            _, phone = await phone_page(browser, link)
            await hold(phone)
            await phone.wait_for_selector("body[data-delivery=delivered]", state="attached", timeout=10_000)
            await phone.wait_for_selector("body[data-mic=on]", state="attached", timeout=10_000)
            # the alarm is out and the centre listens, yet the screen is the idle one
            assert await phone.get_attribute("body", "data-state") == "ready"
            await expect(phone.locator("#mic")).to_be_hidden()
            await expect(phone.locator("#status")).to_have_text("")
        finally:
            await browser.close()
    [alarm] = await receiver.desk.queue()
    assert "HA" in alarm.title and int(alarm.priority) == 1
