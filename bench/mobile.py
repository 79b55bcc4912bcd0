"""Mobile panic button figures (issue 15), against a receiver in its own process (SQLite):

1. press -> alarm visible in the console: the phone API's press, until the operator's queue
   page in headless Chromium shows the new row (p50/p99 over --presses presses, each a new
   alarm of its own site); goal p99 <= 500 ms;
2. mouth-to-ear listen-in delay: the phone is Chromium with a fake microphone playing a file
   with 1 kHz markers; the delay runs from a marker's onset in the phone's captured audio to its
   onset in what the operator's page schedules for playback (both on this machine's clock);
   goal <= 1.5 s;
3. --streams simultaneous mobile alarms streaming audio at real time (simulated phones, in a
   process of their own), each with its owner listening (WebSocket clients, in this process):
   the receiver's CPU and memory, the relay delay (phone send -> listener receive, stamped in
   each chunk) and the mouth-to-ear delay of (2) at that load.

    python bench/mobile.py [--presses 200] [--streams 50] [--seconds 30]

Leaves out what no browser can see from inside: the phone's microphone and the operator's
speaker latency (typically 10-50 ms each on real devices).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.mobile import Mobile
from config.receiver import DEFAULT_PLANS, Account, ReceiverConfig
from receiver.auth import Role
from receiver.mobile.audio import RATE, ulaw_encode
from receiver.service import Receiver

CHROMIUM = "/usr/bin/chromium"
PASSWORD = "bench-password-1"
CHUNK = 320
MARK_EVERY = 2.0  # seconds between markers in the phone's fake microphone
BROWSER_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"]


# -- the receiver, in a process of its own ----------------------------------------------------
def _config(store: Path, sites: int) -> ReceiverConfig:
    accounts = [Account(account=f"{0x1000 + i:X}", site=f"s{i:04d}") for i in range(sites)]
    people = [{"id": f"p{i:04d}", "name": f"Person {i}", "site": f"s{i:04d}", "phones": ["+31 6 0000 0000"]}
              for i in range(sites)]
    # the built-in hold-up plan, its call-back given an hour: no alarm of the run escalates
    holdup = [s.model_copy(update={"answer_within": timedelta(hours=1)}) if s.verifies else s
              for s in DEFAULT_PLANS["holdup"]]
    cfg = ReceiverConfig(accounts=accounts, store=f"sqlite://{store}", action_plans={"holdup": holdup},
                         mobile=Mobile.model_validate({"people": people}))
    http = cfg.http.model_copy(update={"port": 0})
    # the operators of the load test sign in together from one address (in a centre: one each)
    console = cfg.console.model_copy(update={"login_attempts": 1000})
    return cfg.model_copy(update={"listen": ["tcp://127.0.0.1:0"], "http": http, "console": console})


async def _serve(store: Path, sites: int, operators: int, out: Path) -> None:
    async with Receiver(_config(store, sites)) as receiver:
        tokens = []
        for i in range(sites):
            enrolment = await receiver.mobile.registry.enrol(f"p{i:04d}", f"s{i:04d}", by="bench")
            tokens.append((await receiver.mobile.registry.redeem(enrolment.secret, peer="bench"))[1])
        for i in range(operators):
            await receiver.accounts.add_user(f"op{i:03d}", Role.OPERATOR, PASSWORD)
        out.write_text(json.dumps({"port": receiver.http_port, "tokens": tokens}))
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()


def _proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds used, resident kB) of a process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
               if line.startswith("VmRSS:"))
    return cpu, rss


# -- helpers ----------------------------------------------------------------------------------
async def _sign_in(base: str, user: str) -> aiohttp.ClientSession:
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    form = {"user": user, "password": PASSWORD}
    async with http.post(f"{base}/login", data=form, allow_redirects=False) as r:
        assert r.status == 302, await r.text()
    return http


async def _press(http: aiohttp.ClientSession, base: str, token: str) -> dict[str, Any]:
    now = datetime.now(UTC).isoformat()
    body = {"key": uuid.uuid4().hex, "at": now,
            "position": {"key": "press-fix", "lat": 52.09, "lon": 5.12, "accuracy": 10, "at": now}}
    auth = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{base}/mobile/api/press", json=body, headers=auth) as r:
        assert r.status == 201, await r.text()
        return {"key": body["key"], **await r.json()}


async def _alarm_of(base: str, event: int, site: str) -> int:
    async with await _sign_in(base, "op000") as http:
        return await _find_alarm(http, base, event, site)


async def _find_alarm(http: aiohttp.ClientSession, base: str, event: int, site: str) -> int:
    for _ in range(200):
        async with http.get(f"{base}/api/alarms") as r:
            for alarm in await r.json():
                if alarm["site"] == site:
                    return int(alarm["id"])
        await asyncio.sleep(0.05)
    raise RuntimeError(f"no alarm for event {event}")


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _marker_wav(path: Path) -> Path:
    """Silence with a 100 ms 1 kHz burst every MARK_EVERY seconds (Chromium loops the file)."""
    rate = 48_000
    samples = np.zeros(int(rate * MARK_EVERY))
    burst = np.arange(int(rate * 0.1)) / rate
    samples[: len(burst)] = 0.6 * np.sin(2 * np.pi * 1000 * burst)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes((samples * 32767).astype("<i2").tobytes())
    return path


# Marker onsets, detected in the page: on the phone in the µ-law chunks its worklet posts, on the
# console in the samples desk.js schedules ("wachter-audio" events carry their play time).
PHONE_TAP = """
(() => {
  const decode = b => { const u = ~b & 0xff, e = (u >> 4) & 7, m = u & 15, mag = ((m << 3) + 0x84) << e;
                        return ((u & 0x80) ? 0x84 - mag : mag - 0x84) / 32768; };
  window.__onsets = []; let quiet = 0;
  const Real = window.AudioWorkletNode;
  window.AudioWorkletNode = class extends Real {
    constructor(...args) {
      super(...args);
      this.port.addEventListener("message", e => {
        const now = performance.timeOrigin + performance.now(), bytes = new Uint8Array(e.data);
        for (let i = 0; i < bytes.length; i++) {
          const loud = Math.abs(decode(bytes[i])) > 0.2;
          if (loud && quiet > 4000) window.__onsets.push(now - (bytes.length - i) * 1000 / 8000);
          quiet = loud ? 0 : quiet + 1;
        }
      });
    }
  };
})();
"""
CONSOLE_TAP = """
(() => {
  window.__onsets = []; let quiet = 0;
  document.addEventListener("wachter-audio", e => {
    const s = e.detail.samples;
    for (let i = 0; i < s.length; i++) {
      const loud = Math.abs(s[i]) > 0.2;
      if (loud && quiet > 4000) window.__onsets.push(e.detail.playAt + i * 1000 / 8000);
      quiet = loud ? 0 : quiet + 1;
    }
  });
})();
"""
QUEUE_TAP = """
(() => {
  window.__seen = {};
  const note = () => document.querySelectorAll("#queue-rows tr[data-id]").forEach(tr => {
    if (!(tr.dataset.id in window.__seen))
      window.__seen[tr.dataset.id] = performance.timeOrigin + performance.now();
  });
  document.addEventListener("DOMContentLoaded", () => {
    note();
    new MutationObserver(note).observe(document.getElementById("queue-rows"),
                                       {childList: true, subtree: true});
  });
})();
"""


async def _console_page(browser: Any, base: str, user: str, path: str, tap: str) -> Any:
    page = await (await browser.new_context()).new_page()
    await page.add_init_script(tap)
    await page.goto(f"{base}{path}")
    await page.fill("input[name=user]", user)
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button:has-text('Sign in')")
    await page.wait_for_load_state()
    return page


# -- 1. press -> visible ----------------------------------------------------------------------
async def press_to_console(browser: Any, base: str, tokens: list[str], presses: int) -> list[float]:
    page = await _console_page(browser, base, "op000", "/", QUEUE_TAP)
    await page.wait_for_timeout(300)  # the live stream connects
    latencies = []
    async with aiohttp.ClientSession() as http:
        for i in range(presses):
            started = time.time() * 1000
            await _press(http, base, tokens[i])
            for _ in range(400):
                seen = await page.evaluate("Object.values(window.__seen).length")
                if seen > i:
                    break
                await asyncio.sleep(0.005)
            stamps = sorted(await page.evaluate("Object.values(window.__seen)"))
            latencies.append(stamps[-1] - started)
    await page.context.close()
    return latencies


# -- 2. mouth to ear --------------------------------------------------------------------------
async def mouth_to_ear(pw: Any, base: str, token: str, site: int, user: str, seconds: float,
                       wav: Path) -> list[float]:
    browser = await pw.chromium.launch(executable_path=CHROMIUM,
                                       args=[*BROWSER_ARGS, f"--use-file-for-fake-audio-capture={wav}"])
    try:
        phone_ctx = await browser.new_context(geolocation={"latitude": 52.09, "longitude": 5.12},
                                              permissions=["geolocation"])
        phone = await phone_ctx.new_page()
        await phone.add_init_script(PHONE_TAP)
        await phone.goto(f"{base}/mobile/")
        await phone.evaluate("t => WachterOutbox.set('device', {token: t, device: 0, silent: false,"
                             " person: 'bench', micLimit: 3600})", token)
        await phone.reload()
        await phone.wait_for_selector("body[data-state=ready]")
        await phone.locator("#panic").hover()
        await phone.mouse.down()
        await phone.wait_for_selector("body[data-delivery=delivered]", state="attached", timeout=15_000)
        await phone.mouse.up()
        alarm = await _alarm_of(base, 0, f"s{site:04d}")
        console = await _console_page(browser, base, user, f"/alarms/{alarm}", CONSOLE_TAP)
        await console.click("button:has-text('Take')")
        await console.wait_for_selector("#listen")
        await console.click("#listen")
        await asyncio.sleep(seconds)
        mouth = await phone.evaluate("window.__onsets")
        ear = await console.evaluate("window.__onsets")
    finally:
        await browser.close()
    if not ear:
        print(f"  (no marker reached the console: {len(mouth)} spoken, {len(ear)} heard)")
    delays = []
    for heard in ear:  # each onset heard, against the latest one spoken before it
        spoken = [m for m in mouth if m <= heard]
        if spoken and heard - spoken[-1] < MARK_EVERY * 1000 / 2:
            delays.append(heard - spoken[-1])
    return delays


# -- 3. load ----------------------------------------------------------------------------------
async def _phone_stream(base: str, token: str, key: str, seconds: float) -> None:
    """One phone speaking at real time; each chunk starts with its send time (monotonic ns, a
    clock every process on this machine shares)."""
    tone = ulaw_encode((np.sin(2 * np.pi * 440 * np.arange(CHUNK) / RATE) * 8000).astype(np.int16))
    url = f"{base.replace('http', 'ws')}/mobile/api/audio"
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        await ws.send_str(json.dumps({"token": token, "press": key}))
        assert json.loads((await ws.receive(timeout=10)).data)["type"] == "ready"
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(int(seconds * RATE / CHUNK)):
            await ws.send_bytes(time.monotonic_ns().to_bytes(8, "big") + tone[8:])
            await asyncio.sleep(max(0.0, start + (n + 1) * CHUNK / RATE - loop.time()))


async def _phones(spec: dict[str, Any]) -> None:
    """The phones of the load test, in a process of their own (so that they and the listeners
    do not share one Python loop and its delays)."""
    async with asyncio.TaskGroup() as tg:
        for token, key in spec["phones"]:
            tg.create_task(_phone_stream(spec["base"], token, key, spec["seconds"]))


async def _listener(base: str, user: str, alarm: int, delays: list[float], stop: asyncio.Event) -> None:
    http = await _sign_in(base, user)
    async with http:
        await http.post(f"{base}/alarms/{alarm}/take", data={"csrf": await _csrf(http, base)})
        async with http.ws_connect(f"{base.replace('http', 'ws')}/api/mobile/alarms/{alarm}/listen") as ws:
            while not stop.is_set():
                try:
                    msg = await ws.receive(timeout=1)
                except TimeoutError:
                    continue
                if msg.type == aiohttp.WSMsgType.BINARY:
                    delays.append((time.monotonic_ns() - int.from_bytes(msg.data[:8], "big")) / 1e6)
                elif msg.type != aiohttp.WSMsgType.TEXT:
                    break


async def _csrf(http: aiohttp.ClientSession, base: str) -> str:
    import re

    async with http.get(f"{base}/") as r:
        match = re.search(r'name="csrf" value="([^"]+)"', await r.text())
    assert match
    return match.group(1)


async def load(base: str, tokens: list[str], first: int, streams: int, seconds: float, pid: int,
               pw: Any, wav: Path) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        presses = [await _press(http, base, tokens[first + i]) for i in range(streams)]
    alarms = [await _alarm_of(base, p["event"], f"s{first + i:04d}") for i, p in enumerate(presses)]
    delays: list[list[float]] = [[] for _ in range(streams)]
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tg:
        listeners = [tg.create_task(_listener(base, f"op{1 + i:03d}", alarms[i], delays[i], stop))
                     for i in range(streams)]
        await asyncio.sleep(3)  # everyone signed in and listening
        cpu0, _ = _proc_usage(pid)
        wall0 = time.monotonic()
        spec = {"base": base, "seconds": seconds,
                "phones": [(tokens[first + i], presses[i]["key"]) for i in range(streams)]}
        phones = subprocess.Popen([sys.executable, __file__, "--phones", json.dumps(spec)])  # noqa: ASYNC220
        rss_peak = 0
        ear = tg.create_task(mouth_to_ear(pw, base, tokens[first + streams], first + streams,
                                          f"op{streams + 1:03d}", min(seconds - 8, 20), wav))
        while phones.poll() is None:
            rss_peak = max(rss_peak, _proc_usage(pid)[1])
            await asyncio.sleep(0.5)
        cpu1, _ = _proc_usage(pid)
        wall1 = time.monotonic()
        await asyncio.sleep(1)
        stop.set()
        for task in listeners:
            task.cancel()
        under_load = await ear
    relay = [d for per in delays for d in per]
    received = sum(len(per) for per in delays)
    expected = streams * int(seconds * RATE / CHUNK)
    return {"cpu": (cpu1 - cpu0) / (wall1 - wall0), "rss_mb": rss_peak / 1024, "relay": relay,
            "received": received / expected, "ear": under_load}


async def main(args: argparse.Namespace) -> None:
    from playwright.async_api import async_playwright

    with tempfile.TemporaryDirectory() as tmp:
        sites = args.presses + 1 + args.streams + 1
        ready = Path(tmp) / "ready.json"
        server = subprocess.Popen([sys.executable, __file__, "--serve", tmp, "--sites", str(sites),  # noqa: ASYNC220
                                   "--operators", str(args.streams + 2)])
        try:
            for _ in range(1200):
                if ready.exists():
                    break
                await asyncio.sleep(0.1)
            info = json.loads(ready.read_text())
            base, tokens = f"http://127.0.0.1:{info['port']}", info["tokens"]
            wav = _marker_wav(Path(tmp) / "marker.wav")
            print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start")
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
                latencies = await press_to_console(browser, base, tokens, args.presses)
                await browser.close()
                print(f"press -> alarm row in the console's queue, {len(latencies)} presses: "
                      f"p50 {statistics.median(latencies):.0f} ms, p99 {_pct(latencies, 0.99):.0f} ms, "
                      f"max {max(latencies):.0f} ms (goal p99 <= 500 ms)")
                idle = await mouth_to_ear(pw, base, tokens[args.presses], args.presses, "op000", 12, wav)
                if idle:
                    print(f"mouth-to-ear listen-in delay, idle, {len(idle)} markers: "
                          f"median {statistics.median(idle):.0f} ms, max {max(idle):.0f} ms"
                          " (goal <= 1500 ms)")
                result = await load(base, tokens, args.presses + 1, args.streams, args.seconds,
                                    server.pid, pw, wav)
            relay = result["relay"]
            print(f"{args.streams} simultaneous alarms streaming, each with its owner listening, "
                  f"{args.seconds:.0f} s: receiver CPU {result['cpu'] * 100:.0f}% of one core, "
                  f"RSS peak {result['rss_mb']:.0f} MB, chunks delivered {result['received'] * 100:.1f}%")
            print(f"  relay delay phone -> listener: p50 {statistics.median(relay):.1f} ms, "
                  f"p95 {_pct(relay, 0.95):.1f} ms, p99 {_pct(relay, 0.99):.1f} ms")
            ear = result["ear"]
            if ear:
                print(f"  mouth-to-ear at that load, {len(ear)} markers: "
                      f"median {statistics.median(ear):.0f} ms, max {max(ear):.0f} ms")
            print(f"load average {os.getloadavg()[0]:.2f} at the end")
        finally:
            server.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.wait(timeout=15)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--streams", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--phones", help=argparse.SUPPRESS)
    parser.add_argument("--sites", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--operators", type=int, default=0, help=argparse.SUPPRESS)
    cli = parser.parse_args()
    if cli.phones:
        asyncio.run(_phones(json.loads(cli.phones)))
    elif cli.serve:
        folder = Path(cli.serve)
        asyncio.run(_serve(folder / "bench.db", cli.sites, cli.operators, folder / "ready.json"))
    else:
        asyncio.run(main(cli))
