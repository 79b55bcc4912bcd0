"""Real headless Chromium on the demo's simulator page: press the panic button, see the alarm
arrive in the alarm centre's view within 2 s. The screenshot lands in the test's tmp dir (and in
docs/screenshots/ with WACHTER_SCREENSHOTS=1).

Needs Debian's chromium (/usr/bin/chromium) and the playwright Python package (never
`playwright install`); CI installs both, so this never skips there.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from simulator.mosquitto import free_port
from wachter.demo import DemoPorts, run_demo

CHROMIUM = Path("/usr/bin/chromium")
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"),
]


@pytest.fixture
async def demo_page(tmp_path: Path) -> AsyncIterator[str]:
    ports = DemoPorts(http=free_port(), mqtt=free_port(), dc09=free_port(), sim=free_port())
    stop = asyncio.Event()
    task = asyncio.get_running_loop().create_task(run_demo(tmp_path / "demo", ports, stop))
    url = f"http://127.0.0.1:{ports.sim}/"
    try:
        async with asyncio.timeout(20), aiohttp.ClientSession() as http:
            while True:
                if task.done():
                    task.result()
                try:
                    async with http.get(url + "api/state") as resp:
                        state = await resp.json()
                        if state["panel"] and all(d["availability"] == "online" for d in state["devices"]):
                            break
                except aiohttp.ClientError:
                    pass
                await asyncio.sleep(0.1)
        yield url
    finally:
        stop.set()
        async with asyncio.timeout(15):
            await task


async def test_panic_button_in_the_browser_reaches_the_alarm_centre(demo_page: str, tmp_path: Path) -> None:
    from playwright.async_api import async_playwright, expect

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": 1440, "height": 900})
            await page.goto(demo_page)
            await expect(page.locator("#panel-state")).to_have_text("disarmed")
            button = page.locator("button[data-device='panic-hall'][data-action='press']")
            await expect(button).to_be_visible()

            clicked = time.monotonic()
            await button.click()
            row = page.locator("#arc-events tr.alarm", has_text="PA")
            await expect(row.first).to_be_visible(timeout=2000)
            assert time.monotonic() - clicked < 2.0
            await expect(page.locator("#panel-state")).to_have_text("triggered")
            await expect(page.locator("#journal")).to_contain_text("panic-hall: press")

            shot = tmp_path / "simulator-page.png"
            await page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000
            if os.environ.get("WACHTER_SCREENSHOTS"):
                shutil.copy(shot, DOCS / "simulator-page.png")
        finally:
            await browser.close()


async def test_the_page_refuses_requests_from_other_sites(demo_page: str) -> None:
    """A web page elsewhere (or a DNS-rebound name) must not press buttons or send codes."""
    press = {"device": "panic-hall", "action": "press"}
    own = demo_page.rstrip("/")
    forged: list[dict[str, str]] = [
        {"Origin": "http://evil.example", "Content-Type": "application/json"},
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "application/json"},
        {"Origin": "null", "Content-Type": "application/json"},
        {"Origin": own, "Content-Type": "text/plain"},  # a "simple" request: no CORS preflight
        {"Host": "rebound.evil.example", "Origin": "http://rebound.evil.example",
         "Content-Type": "application/json"},
    ]
    async with aiohttp.ClientSession() as http:
        for headers in forged:
            for path, body in (("api/act", press), ("api/panel", {"action": "disarm", "code": "1234"})):
                async with http.post(demo_page + path, json=body, headers=headers) as resp:
                    assert resp.status == 403, (path, headers)
        async with http.get(demo_page + "api/state", headers={"Host": "rebound.evil.example"}) as resp:
            assert resp.status == 403
        async with http.post(demo_page + "api/act", json={"device": "door-back", "action": "open"},
                             headers={"Origin": own, "Sec-Fetch-Site": "same-origin"}) as resp:
            assert resp.status == 200  # the page itself still works
