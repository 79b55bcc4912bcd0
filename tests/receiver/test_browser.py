"""The console as a control room needs it, in real headless Chromium against a real receiver
(DC-09 frames over TCP, SQLite and PostgreSQL): nothing hidden (five responses at one home are
five rows, a fire shows while a panic is open), plans per response with call outcomes and
close reasons, alerting that repeats until acknowledged, live updates in place.

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package; CI installs
both (`apt-get install chromium`, `pip install playwright`) so this never skips there. The
sound is observed through the page's AudioContext (every oscillator counted by an init
script) and the console's own hook (``window.wachterAlerts``), never by timing.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from config.receiver import Alerting
from receiver.service import Receiver
from tests.receiver.console_fixtures import PASSWORD, running_receiver, send_frame

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",  # as a control-room kiosk is set up (docs/console.md)
]
# counts every tone the page makes, and every desktop notification it raises
HOOKS = """
window.__tones = 0;
const realOscillator = BaseAudioContext.prototype.createOscillator;
BaseAudioContext.prototype.createOscillator = function () {
  window.__tones += 1; return realOscillator.call(this);
};
window.__notes = [];
const RealNotification = window.Notification;
function CountedNotification(title, options) {
  window.__notes.push(title); return new RealNotification(title, options);
}
Object.defineProperty(CountedNotification, "permission", {get: () => RealNotification.permission});
CountedNotification.requestPermission = (...a) => RealNotification.requestPermission(...a);
window.Notification = CountedNotification;
"""

pytestmark = [
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
    pytest.mark.asyncio(loop_scope="module"),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        chromium = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="module")
async def receiver(tmp_path: Path, store_url: str) -> AsyncIterator[Receiver]:
    alerting = Alerting(
        escalate_after={"default": timedelta(minutes=10), "holdup": timedelta(seconds=2)},
        repeat_every=timedelta(seconds=0.5),
    )
    async for r in running_receiver(tmp_path, store_url, alerting=alerting):
        yield r


class Console:
    """One operator's browser context, signed in, with the sound and notification hooks."""

    def __init__(self, receiver: Receiver, page: Any) -> None:
        self.receiver, self.page = receiver, page
        self.base = f"http://127.0.0.1:{receiver.http_port}"
        self.seq = 0

    async def open(self, path: str) -> None:
        from playwright.async_api import expect

        await self.page.goto(self.base + path)
        await expect(self.page.locator("body[data-live=open]")).to_have_count(1)  # live stream connected
        await self.page.evaluate("window.__token = 'not reloaded'")

    async def not_reloaded(self) -> bool:
        return bool(await self.page.evaluate("window.__token === 'not reloaded'"))

    async def ticks(self, more: int) -> None:
        """Wait until the alert loop has run ``more`` further times (each one plays, or not)."""
        start = int(await self.page.evaluate("window.wachterAlerts.ticks"))
        await until(self.page, f"window.wachterAlerts.ticks >= {start + more}")


async def until(page: Any, condition: str, timeout: float = 15) -> None:
    """Poll a JS condition (the console's CSP forbids wait_for_function's eval) until it holds."""
    async with asyncio.timeout(timeout):
        while not await page.evaluate(condition):
            await asyncio.sleep(0.05)


async def _console(browser: Any, receiver: Receiver, user: str) -> Console:
    from playwright.async_api import expect

    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    await context.grant_permissions(["notifications"])
    await context.add_init_script(HOOKS)
    page = await context.new_page()
    console = Console(receiver, page)
    await page.goto(console.base + "/login")
    await page.fill("input[name=user]", user)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button:has-text('Sign in')")
    await expect(page.locator("h1")).to_have_text("Alarm queue")
    return console


async def _frames(receiver: Receiver, *codes: str, start: int = 1) -> None:
    for seq, code in enumerate(codes, start):
        name, _, zone = code.partition(":")
        assert await send_frame(receiver, name, zone=zone or "01", seq=seq) == "ACK"


async def _open_alarms(receiver: Receiver, count: int) -> list[Any]:
    async with asyncio.timeout(10):
        while len(queue := await receiver.desk.queue()) < count:
            await asyncio.sleep(0.02)
    return queue


def _keep(shot: Path, name: str) -> None:
    """The docs keep the pictures of the first run; delete them to take new ones."""
    assert shot.stat().st_size > 10_000
    DOCS.mkdir(parents=True, exist_ok=True)
    if not (DOCS / name).exists():
        shutil.copy(shot, DOCS / name)


async def test_five_responses_at_one_home_are_five_rows_and_a_fire_shows_on_the_open_panic(
    browser: Any, receiver: Receiver, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    olga = await _console(browser, receiver, "olga")
    page = olga.page
    await olga.open("/")
    await _frames(receiver, "PA:02")
    panic = page.locator("#queue-rows tr.alarm[data-response=holdup]")
    await expect(panic).to_contain_text("hold-up / panic: PA zone 2 Panic button hall (hall)")
    await panic.locator("a").first.click()
    await expect(page.locator("#alarm")).to_have_count(1)
    await olga.open(page.url.removeprefix(olga.base))
    await expect(page.locator("section[data-part=others]")).to_contain_text("No other open alarm")

    await _frames(receiver, "FA:20", "TA:40", "BA:13", "BV:13", "YT:00", start=2)
    others = page.locator("#other-alarms")
    await expect(others).to_contain_text("fire: FA zone 20 Smoke detector landing")  # in place, at once
    await expect(others.locator("li")).to_have_count(4)
    await expect(others.locator("li.fresh").first).to_be_visible()
    assert await olga.not_reloaded()
    plan = page.locator("#plan")
    await expect(plan).not_to_contain_text("fire brigade")
    await expect(page.locator("#timeline")).not_to_contain_text("FA")  # the fire is not a line in the panic
    await page.screenshot(path=str(tmp_path / "alarm.png"), full_page=True)

    await page.click("header nav a:has-text('Alarm queue')")
    rows = page.locator("#queue-rows tr.alarm")
    await expect(rows).to_have_count(5)
    assert await rows.evaluate_all("rs => rs.map(r => r.dataset.response)") == [
        "holdup", "burglary", "fire", "tamper", "technical",
    ]
    await expect(rows.nth(0)).to_contain_text("5 open alarms at this site")
    await expect(rows.nth(1)).to_contain_text("verified burglary: BV zone 13 Bedroom window")
    await expect(rows.nth(1)).to_contain_text("upgraded from burglary")
    summary = page.locator("#queue-summary")
    await expect(summary).to_have_text("5 open alarms · 5 not acknowledged · 5 not taken")
    await page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)

    await rows.nth(2).locator("a").first.click()  # the fire: its own plan, with the fire brigade
    await expect(page.locator("section[data-part=plan] h2")).to_have_text("Action plan: fire")
    await expect(page.locator("#plan li").first).to_contain_text("fire brigade")
    await expect(page.locator("#other-alarms")).to_contain_text("hold-up / panic")
    await page.context.close()
    _keep(tmp_path / "queue.png", "console-queue.png")
    _keep(tmp_path / "alarm.png", "console-alarm.png")


async def test_the_sound_repeats_on_every_page_until_acknowledged_with_title_flash_and_notification(
    browser: Any, receiver: Receiver
) -> None:
    from playwright.async_api import expect

    olga = await _console(browser, receiver, "olga")
    page = olga.page
    await olga.open("/sites")  # not the queue: alerting is on every page
    await olga.ticks(1)
    assert await page.evaluate("window.__tones") == 0  # quiet while nothing is open
    await _frames(receiver, "FA:20")
    await expect(page.locator("#alert-bar .alert.unacked")).to_contain_text("fire: FA zone 20")
    await until(page, "window.wachterAlerts.plays.length >= 2")
    plays = await page.evaluate("window.wachterAlerts.plays")
    assert len(plays) >= 2 and {p["priority"] for p in plays} == {4}  # the fire's pattern, again and again
    assert await page.evaluate("window.__tones") >= 2 * 4  # four tones per fire pattern, each tick
    await expect(page).to_have_title("(1) NEW ALARM – P4 fire")  # the flashing title
    assert await page.evaluate("window.__notes") == ["P4 fire – Woning burgemeester"]

    await page.click("#alert-bar button.ack-now")
    await expect(page.locator("#alert-bar")).to_be_hidden()
    tones = await page.evaluate("window.__tones")
    played = len(await page.evaluate("window.wachterAlerts.plays"))
    await olga.ticks(2)  # two more rounds of the alert loop: silence
    assert await page.evaluate("window.__tones") == tones
    assert len(await page.evaluate("window.wachterAlerts.plays")) == played
    await expect(page).to_have_title("Sites · Wachter")
    [fire] = await receiver.desk.queue()
    assert (fire.acked_by, fire.owner) == ("olga", None)  # acknowledged is not taken
    await page.context.close()


async def test_an_alarm_nobody_takes_goes_louder_to_the_supervisor_until_taken(
    browser: Any, receiver: Receiver
) -> None:
    from playwright.async_api import expect

    olga, sam = await _console(browser, receiver, "olga"), await _console(browser, receiver, "sam")
    await olga.open("/")
    await sam.open("/sites")
    await _frames(receiver, "PA:02")
    await expect(olga.page.locator("#queue-rows tr.alarm")).to_have_count(1)
    await olga.page.keyboard.press("j")
    await olga.page.keyboard.press("a")  # acknowledged from the keyboard, still not taken
    await expect(olga.page.locator("#queue-rows")).to_contain_text("acknowledged by olga")
    # nobody takes it within the hold-up's 2 s: the supervisor's console gets it, louder
    await expect(sam.page.locator("#alert-bar .alert.supervisors")).to_contain_text("NOBODY TOOK IT")
    await until(sam.page, "window.wachterAlerts.plays.some(p => p.loud && p.priority === 1)")
    await expect(olga.page.locator("#queue-rows")).to_contain_text("sent to supervisors")
    assert not await olga.page.evaluate("window.wachterAlerts.plays.some(p => p.loud)")  # operators: no

    await olga.page.keyboard.press("Enter")
    await expect(olga.page.locator("#alarm")).to_have_count(1)
    await expect(olga.page.locator("body[data-live=open]")).to_have_count(1)  # its keys are wired
    await olga.page.keyboard.press("t")  # taken from the keyboard
    await expect(olga.page.locator("section[data-part=head]")).to_contain_text("You handle this alarm")
    await expect(sam.page.locator("#alert-bar")).to_be_hidden()
    loud = await sam.page.evaluate("window.wachterAlerts.plays.filter(p => p.loud).length")
    await sam.ticks(2)
    assert await sam.page.evaluate("window.wachterAlerts.plays.filter(p => p.loud).length") == loud
    for console in (olga, sam):
        await console.page.context.close()


async def test_the_alarm_page_updates_in_place_keeping_a_half_filled_form(
    browser: Any, receiver: Receiver
) -> None:
    from playwright.async_api import expect

    await _frames(receiver, "PA:02")
    [alarm] = await _open_alarms(receiver, 1)
    await receiver.desk.take(alarm.id, "olga")
    olga = await _console(browser, receiver, "olga")
    page = olga.page
    await olga.open(f"/alarms/{alarm.id}")
    await page.fill("textarea[name=text]", "Official says a visitor became aggressive")
    await page.select_option("form.close-form select[name=outcome]", "real")
    await page.locator("textarea[name=text]").focus()
    await page.keyboard.type(" and left")  # still typing when the update comes

    await _frames(receiver, "PH:02", "CL:03", start=2)  # the panic restored, the home armed
    timeline = page.locator("#timeline")
    await expect(timeline.locator("tr.fresh", has_text="panic alarm (audible) – restored")).to_have_count(1)
    await expect(timeline.locator("tr.context", has_text="armed by user")).to_have_count(1)
    await expect(page.locator("section[data-part=head]")).to_contain_text("restored")
    assert await olga.not_reloaded()
    await expect(page.locator("textarea[name=text]")).to_have_value(
        "Official says a visitor became aggressive and left")
    await expect(page.locator("textarea[name=text]")).to_be_focused()
    await expect(page.locator("form.close-form select[name=outcome]")).to_have_value("real")
    await page.context.close()


async def test_an_update_in_place_keeps_each_chosen_call_outcome_on_its_own_number(
    browser: Any, receiver: Receiver
) -> None:
    """Each number of a call list has its own form with the same action: a chosen outcome is
    restored into the form it was chosen in, never into the first one."""
    from playwright.async_api import expect

    await _frames(receiver, "BA:13")
    [alarm] = await _open_alarms(receiver, 1)
    await receiver.desk.take(alarm.id, "olga")
    olga = await _console(browser, receiver, "olga")
    page = olga.page
    await olga.open(f"/alarms/{alarm.id}")
    step = page.locator("#plan li[data-step='1']")
    await step.locator("tr[data-callee='1'] select[name=outcome]").select_option("no_answer")
    # a colleague's console records the first number meanwhile: the plan is redrawn in place
    await receiver.desk.call_outcome(alarm.id, "olga", 1, 0, "wrong_number")
    await expect(step.locator("tr[data-callee='0'] .attempts")).to_contain_text("wrong number")
    await expect(step.locator("tr[data-callee='1'] select[name=outcome]")).to_have_value("no_answer")
    await expect(step.locator("tr[data-callee='0'] select[name=outcome]")).to_have_value("")
    assert await olga.not_reloaded()
    await page.context.close()


async def test_call_outcomes_clear_the_panic_and_it_closes_with_a_reason_all_audited(
    browser: Any, receiver: Receiver, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    olga = await _console(browser, receiver, "olga")
    page = olga.page
    await olga.open("/")
    await _frames(receiver, "BA:13")
    await page.locator("#queue-rows tr.alarm a").first.click()
    await page.click("section[data-part=head] button:has-text('Take')")
    await expect(page.locator("section[data-part=head]")).to_contain_text("You handle this alarm")
    step = page.locator("#plan li[data-step='1']")  # call the residents, verifies
    await expect(step.locator(".timer.running")).to_contain_text("→ escalate")
    first = step.locator("tr[data-callee='0']")
    await first.locator("select[name=outcome]").select_option("no_answer")
    await first.locator("button:has-text('Record')").click()
    await expect(first.locator(".attempts")).to_contain_text("no answer")
    second = step.locator("tr[data-callee='1']")
    await second.locator("select[name=outcome]").select_option("ok")
    await second.locator("button:has-text('Record')").click()
    cleared = page.locator(".verdict.cleared")
    await expect(cleared).to_contain_text("Partner (+31 6 8765 4321): answered, code word correct")
    await expect(page.locator("#plan li[data-step='2']")).to_contain_text("not needed: cleared")
    first_step = page.locator("#plan li[data-step='0']")
    await first_step.locator("input[name=reason]").fill("no camera at this window")
    await first_step.locator("button:has-text('Skip')").click()
    await expect(first_step).to_contain_text("skipped by olga")
    await page.screenshot(path=str(tmp_path / "plan.png"), full_page=True)
    close = page.locator("form.close-form")
    await close.locator("select[name=outcome]").select_option("false")
    await close.locator("select[name=reason]").select_option("environment")
    await close.locator("button").click()
    await expect(page.locator(".closed")).to_contain_text("as false: environment (animal, draught, steam)")
    await page.context.close()

    [alarm] = await receiver.desk.recent(limit=1)
    audit = await receiver.centre().audit.entries(target=f"alarm:{alarm.id}")
    assert [(e.who, e.action) for e in reversed(audit)] == [
        ("system", "alarm_opened"), ("olga", "take"), ("olga", "call"), ("olga", "call"),
        ("system", "cleared"), ("olga", "skip"), ("olga", "close"),
    ]
    _keep(tmp_path / "plan.png", "console-call-list.png")


def _jpeg(text: str) -> bytes:
    import cv2
    import numpy as np

    image = np.full((240, 320, 3), 90, np.uint8)
    cv2.putText(image, text, (20, 120), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return bytes(data)


async def test_evidence_is_grouped_per_triggering_event_in_words_and_enlarges(
    browser: Any, receiver: Receiver, tmp_path: Path
) -> None:
    import aiohttp
    from playwright.async_api import expect

    from receiver.auth import Role

    token = await receiver.accounts.add_token("agent-demo-home", Role.SITE, site="demo-home")
    await _frames(receiver, "BA:13", "PA:02")
    await _open_alarms(receiver, 2)
    base = f"http://127.0.0.1:{receiver.http_port}"
    refs = [f"intercom-front:zone-13:command:{i}" for i in range(3)] + ["intercom-front:zone-2:command:0"]
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for ref in refs:
            resp = await http.post(f"{base}/api/evidence", params={"ref": ref}, data=_jpeg(ref[-8:]),
                                   headers={"Content-Type": "image/jpeg"})
            assert resp.status == 201, await resp.text()

    olga = await _console(browser, receiver, "olga")
    page = olga.page
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    burglary = next(a for a in await receiver.desk.queue() if a.response.value == "burglary")
    await olga.open(f"/alarms/{burglary.id}")
    group = page.locator(".evidence-group")
    await expect(group).to_have_count(1)  # the panic's snapshot is on the panic's page
    await expect(group.locator("h3")).to_contain_text(
        "For the alarm on zone 13 Bedroom window (bedroom, first floor) (3 snapshots)")
    captions = group.locator("figcaption")
    await expect(captions).to_have_count(3)
    await expect(captions.first).to_contain_text("Video intercom front door ·")
    await expect(captions.first).to_contain_text("· snapshot 1 (taken on the alarm)")
    await expect(captions.first).to_contain_text("CET")
    await group.locator("a.thumb").nth(1).click()
    viewer = page.locator("dialog#viewer")
    await expect(viewer).to_be_visible()
    await expect(viewer.locator(".caption")).to_contain_text("snapshot 2")
    assert await viewer.locator("img").evaluate("img => img.naturalWidth") == 320  # the full picture
    await page.screenshot(path=str(tmp_path / "evidence.png"))
    await page.keyboard.press("Escape")
    await expect(viewer).to_be_hidden()
    assert missing == []  # not even a favicon
    await page.context.close()
    _keep(tmp_path / "evidence.png", "console-evidence.png")


async def test_admin_edits_the_site_book_and_the_next_alarm_uses_it_all_audited(
    browser: Any, receiver: Receiver, tmp_path: Path
) -> None:
    from playwright.async_api import expect

    ada = await _console(browser, receiver, "ada")
    page = ada.page
    await ada.open("/admin/sites/demo-home")
    zones = page.locator("#zones-form tbody tr")
    blank = zones.nth(5)  # after the five zones of the book
    await blank.locator("input[name$=-zone]").fill("14")
    await blank.locator("input[name$=-name]").fill("Study window")
    await blank.locator("input[name$=-location]").fill("study, garden side")
    await page.click("button:has-text('Save zones')")
    await expect(page.locator("p.ok")).to_have_text("Saved: zones (6).")

    fire = page.locator("table.plan-form[data-response=fire]").locator("xpath=..")
    await fire.locator("input[name=step-0-text]").fill("Alert the fire brigade (112): Dorpsstraat 1")
    await fire.locator("input[name=step-1-answer_within]").fill("soon")  # a bad value: refused, nothing saved
    await fire.locator("button").click()
    await expect(page.locator("p.error")).to_contain_text("fire plan row 2")
    await expect(page.locator("p.error")).to_contain_text("answer_within")
    fire = page.locator("table.plan-form[data-response=fire]").locator("xpath=..")
    await fire.locator("input[name=step-0-text]").fill("Alert the fire brigade (112): Dorpsstraat 1")
    await fire.locator("button").click()
    await expect(page.locator("p.ok")).to_have_text("Saved: fire plan (3 steps).")
    await page.screenshot(path=str(tmp_path / "book.png"))

    await _frames(receiver, "FA:14")
    [alarm] = await _open_alarms(receiver, 1)
    await ada.open(f"/alarms/{alarm.id}")
    await expect(page.locator("section[data-part=head]")).to_contain_text("FA zone 14 Study window")
    first_step = page.locator("#plan li").first
    await expect(first_step).to_contain_text("Alert the fire brigade (112): Dorpsstraat 1")
    await ada.open("/sites/demo-home")
    await expect(page.locator("#zones")).to_contain_text("Study window")
    await expect(page.locator("#contacts")).to_contain_text("Burgemeester")
    await expect(page.locator(".address").first).to_have_text("Dorpsstraat 1, 1234 AB Ergens")
    await expect(page.locator("main")).to_contain_text("Schedule: armed nights 23:00-07:00")
    async with page.expect_download() as download:
        await ada.open("/admin/sites")
        await page.click("a:has-text('Export the book')")
    exported = Path(await (await download.value).path()).read_text()
    assert "name: Study window" in exported and "Alert the fire brigade (112): Dorpsstraat 1" in exported
    await page.context.close()

    audit = await receiver.centre().audit.entries(target="site:demo-home")
    assert [(e.who, e.action) for e in reversed(audit)] == [
        ("config", "site_imported"), ("ada", "site_edited"), ("ada", "site_edited"),
    ]
    _keep(tmp_path / "book.png", "console-site-book.png")


async def test_shift_handover_hands_the_open_alarms_to_a_colleague_with_a_note(
    browser: Any, receiver: Receiver
) -> None:
    from playwright.async_api import expect

    await _frames(receiver, "BA:13")
    [alarm] = await _open_alarms(receiver, 1)
    await receiver.desk.take(alarm.id, "olga")
    olga, sam = await _console(browser, receiver, "olga"), await _console(browser, receiver, "sam")
    await sam.open("/")
    await olga.open("/handover")
    await expect(olga.page.locator("#on-duty")).to_contain_text("sam (supervisor)")
    await expect(olga.page.locator("#handover-alarms")).to_contain_text("olga")
    await olga.page.select_option("#handover-form select[name=to]", "sam")
    await olga.page.fill("#handover-form textarea", "Burglary at demo-home: keyholder on the way.")
    await olga.page.click("#handover-form button")
    await expect(olga.page.locator("p.ok")).to_have_text("Handed over 1 alarm to sam.")
    await expect(olga.page.locator("#shift-log li").first).to_contain_text("olga → sam · alarms")
    await sam.open(f"/alarms/{alarm.id}")
    await expect(sam.page.locator("section[data-part=head]")).to_contain_text("You handle this alarm")
    await expect(sam.page.locator("#timeline")).to_contain_text("handed over to sam")
    for console in (olga, sam):
        await console.page.context.close()
