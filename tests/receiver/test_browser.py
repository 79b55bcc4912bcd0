"""Real headless Chromium: an operator sees a panic alarm within 1 s of the DC-09 frame,
takes it, works the action plan, closes it as a false alarm; the audit log shows each step.

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package; CI installs
both (`apt-get install chromium`, `pip install playwright`) so this never skips there.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

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
]

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture
async def receiver(tmp_path: Path, store_url: str) -> AsyncIterator[Receiver]:
    async for r in running_receiver(tmp_path, store_url):
        yield r


async def test_operator_handles_a_panic_alarm_in_a_real_browser(receiver: Receiver, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    base = f"http://127.0.0.1:{receiver.http_port}"
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1280, "height": 800})
            await page.goto(base + "/")
            assert "/login" in page.url
            await page.fill("input[name=user]", "olga")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button:has-text('Sign in')")
            await expect(page.locator("h1")).to_have_text("Alarm queue")
            await expect(page.locator("#queue-rows")).to_contain_text("No open alarms")
            await page.wait_for_timeout(200)  # the live stream is connected

            sent = time.monotonic()
            assert await send_frame(receiver, "PA") == "ACK"
            row = page.locator("#queue-rows tr.alarm.p1")
            await expect(row).to_contain_text("hold-up / panic: PA zone 02", timeout=1000)
            assert time.monotonic() - sent < 1.0
            await page.screenshot(path=str(tmp_path / "queue.png"), full_page=True)

            await row.locator("a").click()
            await page.click("button:has-text('Take')")
            await expect(page.locator(".owner")).to_contain_text("You handle this alarm")
            for step in (0, 1):
                await page.locator(f"#plan li[data-step='{step}'] button").click()
                await expect(page.locator(f"#plan li[data-step='{step}']")).to_have_class("done")
            await page.fill("textarea[name=text]", "Official pressed it by accident; code word correct.")
            await page.click("button:has-text('Add note')")
            await page.screenshot(path=str(tmp_path / "alarm.png"), full_page=True)
            await page.select_option("select[name=outcome]", "false")
            await page.click("button:has-text('Close alarm')")
            await expect(page.locator(".closed")).to_contain_text("as false")

            await page.goto(base + "/")
            await expect(page.locator("#queue-rows")).to_contain_text("No open alarms")
        finally:
            await browser.close()

    alarm_id = (await receiver.desk.recent(limit=1))[0].id
    audit = await receiver.centre().audit.entries(target=f"alarm:{alarm_id}")
    assert [(e.who, e.action) for e in reversed(audit)] == [
        ("system", "alarm_opened"),
        ("olga", "take"),
        ("olga", "step"),
        ("olga", "step"),
        ("olga", "note"),
        ("olga", "close"),
    ]
    DOCS.mkdir(parents=True, exist_ok=True)
    for name in ("queue.png", "alarm.png"):
        assert (tmp_path / name).stat().st_size > 10_000
        if not (DOCS / f"console-{name}").exists():  # the docs keep the first run's pictures
            shutil.copy(tmp_path / name, DOCS / f"console-{name}")
