"""End-to-end panic latency, hop by hop, idle and under load (issue 19).

A panic button (the real driver link, ``drivers/link.py``, in a process of its own as on the Pi:
``bench/press.py``) is pressed; the time is taken at every hop: driver press -> agent received
-> committed to the outbox -> DC-09 frame sending -> receiver decoded -> receiver committed ->
the console's live notice (SSE on ``/live``) -> the queue rows the page then fetches. Real
mosquitto (``set_tcp_nodelay``), the agent as a subprocess with the example site, the real
receiver in this process (its own callbacks time its hops), background
traffic from a separate process (``bench/traffic.py``). The agent's hops come from its
``WACHTER_HOP_TRACE`` file (``agent/hops.py``): perf_counter is the machine's monotonic clock.

Phases, side by side in each run: idle; 100 and 500 background device events/s (tamper toggles,
each a report for the alarm centre); the receiver under 2,000 frames/s from 40 other sites.
Targets (issue 19): press -> committed at the receiver p99 <= 15 ms idle, <= 20 ms under each
load; commit -> queue page p99 <= 250 ms under 2,000 frames/s.

    python bench/e2e_latency.py        # BENCH_RUNS=3 BENCH_PRESSES=1000 (per phase and run)

Every figure is the median over the runs of that run's figure. A phase stops at BENCH_CAP_S
seconds. Set BENCH_MOSQUITTO_CONF="" to see mosquitto with Nagle's algorithm (~95 ms p50).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import json
import os
import random
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import deadline  # bench/deadline.py: this directory is on sys.path
import traffic

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from config.receiver import Account
from receiver.auth import Role
from receiver.service import Receiver
from simulator.mosquitto import Mosquitto
from tests.faults.harness import SITE, AgentProcess, agent_process, path_spec, receiver_on, write_site

PRESSES = int(os.environ.get("BENCH_PRESSES", "1000"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CAP = float(os.environ.get("BENCH_CAP_S", "90"))
WARMUP = 20
LOAD_SENDERS = 40
PHASES: list[tuple[str, tuple[str, float] | None]] = [
    ("idle", None),
    ("100 device events/s", ("mqtt", 100.0)),
    ("500 device events/s", ("mqtt", 500.0)),
    ("receiver 2,000 frames/s", ("dc09", 2000.0)),
]
if os.environ.get("BENCH_PHASES"):  # e.g. "0,2": only these phases (quick looks while working)
    PHASES = [PHASES[int(i)] for i in os.environ["BENCH_PHASES"].split(",")]
#: hops in the order a press passes them; the first is the press itself
HOPS = ["press", "received", "stepping", "writing", "committed", "sending", "decoded", "stored", "notice",
        "shown"]
AGENT_HOPS = {"received", "stepping", "writing", "committed", "sending"}


@dataclass
class Phase:
    name: str
    latency: list[float] = field(default_factory=list)  # press -> stored, ms
    #: hop -> ms after the previous hop
    hops: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    shown: list[float] = field(default_factory=list)  # stored -> queue rows fetched, ms
    notice: list[float] = field(default_factory=list)  # stored -> SSE notice, ms
    missed_notices: int = 0  # no live notice within 10 s
    fsync: float = 0.0  # p99 of a synchronous SQLite commit on this disk just before, ms
    cpu: float = 0.0  # the agent's CPU, % of one core
    load: float = 0.0
    traffic: str = ""


class Watch:
    """The receiver's hops of PA frames, stamped by its own callbacks, and the console's notices."""

    def __init__(self, receiver: Receiver) -> None:
        self.stamps: dict[str, list[float]] = defaultdict(list)
        self.notices: list[tuple[float, int | None]] = []  # every notice of the run, in order
        self.times: dict[int | None, list[float]] = defaultdict(list)  # by alarm (None: resync)
        self.changed = asyncio.Event()
        self.duplicates = self.failed = 0  # PA frames stored before / whose commit failed
        handler = receiver.handler
        event, committed = handler._event, handler._committed

        def traced_event(msg, account, **kw):  # type: ignore[no-untyped-def]
            if "/PA" in (msg.data or ""):
                self._stamp("decoded")
            return event(msg, account, **kw)

        def traced_committed(msg, account, now, reply, done):  # type: ignore[no-untyped-def]
            if "/PA" in (msg.data or ""):
                if not done.cancelled() and done.exception() is None:
                    self._stamp("stored")
                    self.duplicates += bool(done.result()[1])
                else:
                    self.failed += 1
            committed(msg, account, now, reply, done)

        handler._event = traced_event  # type: ignore[method-assign]
        handler._committed = traced_committed  # type: ignore[method-assign]

    def _stamp(self, hop: str) -> None:
        self.stamps[hop].append(time.perf_counter())
        self.changed.set()

    async def until(self, hop: str, count: int, timeout: float = 10.0) -> float:
        async with asyncio.timeout(timeout):
            while len(self.stamps[hop]) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.stamps[hop][count - 1]

    async def notice_after(self, at: float, alarm: int | None,
                           timeout: float = 10.0) -> tuple[float, int | None]:
        """The first notice at or after ``at`` for ``alarm`` (or a resync; any alarm if None)."""
        async with asyncio.timeout(timeout):
            while True:
                if alarm is None:
                    i = bisect.bisect_left(self.notices, at, key=lambda n: n[0])
                    if i < len(self.notices):
                        return self.notices[i]
                else:
                    found = [(times[i], alarm) for times in (self.times[alarm], self.times[None])
                             if (i := bisect.bisect_left(times, at)) < len(times)]
                    if found:
                        return min(found)
                self.changed.clear()
                await self.changed.wait()

    async def listen(self, http: aiohttp.ClientSession, base: str) -> None:
        """The console's live stream, as the queue page reads it."""
        async with http.get(f"{base}/live", timeout=aiohttp.ClientTimeout(total=None)) as resp:
            assert resp.status == 200, resp.status
            async for line in resp.content:
                if not line.startswith(b"data: "):
                    continue
                notice = json.loads(line[6:])
                if "alarm" in notice or "resync" in notice:  # a resync: the console reloads all
                    alarm = int(notice["alarm"]) if "alarm" in notice else None
                    now = time.perf_counter()
                    self.notices.append((now, alarm))
                    self.times[alarm].append(now)
                    self.changed.set()


def _agent_cpu(agent: AgentProcess) -> float:
    """The agent's CPU seconds so far (user + system)."""
    assert agent.proc is not None
    fields = Path(f"/proc/{agent.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _hop_lines(trace: Path, after: int) -> tuple[list[tuple[str, float]], int]:
    with trace.open() as fh:
        fh.seek(after)
        text = fh.read()
        end = fh.tell()
    lines = [(h, int(ns) / 1e9) for h, ns in (line.split() for line in text.splitlines() if line)]
    return lines, end


def _spawn(command: list[str], **kw: object) -> subprocess.Popen[str]:
    return subprocess.Popen(command, text=True, **kw)  # type: ignore[call-overload, no-any-return]


@contextlib.asynccontextmanager
async def _traffic(kind: str, rate: float, port: int) -> AsyncIterator[list[str]]:
    said: list[str] = []
    # DC-09 traffic stands for other sites' panels, on other machines: niced, so on this one box
    # it yields the CPU to the receiver and the home rather than compete with them (the receiver
    # still does all of its work). Device events come from the home's own drivers: not niced.
    nice = ["nice", "-n", "10"] if kind == "dc09" else []
    proc = _spawn([*nice, sys.executable, str(Path(__file__).with_name("traffic.py")), kind,
                   "--port", str(port), "--rate", str(rate), "--senders", str(LOAD_SENDERS)],
                  stdout=subprocess.PIPE)
    try:
        await asyncio.sleep(1.0)  # the load settles before the first press
        if proc.poll() is not None:
            raise RuntimeError(f"traffic {kind} ended early: {proc.communicate()[0]}")
        yield said
    finally:
        proc.terminate()
        try:
            out, _ = await asyncio.to_thread(proc.communicate, timeout=20)
            said.append(out.strip())
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


async def _drained(outbox: Path, timeout: float = 120) -> None:
    """Until the agent's outbox is empty: the next phase starts without a backlog."""
    with contextlib.suppress(TimeoutError), sqlite3.connect(f"file:{outbox}?mode=ro", uri=True) as db:
        async with asyncio.timeout(timeout):
            while db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]:  # noqa: ASYNC110 - another process's file
                await asyncio.sleep(0.2)


@dataclass
class Button:
    """The panic button's driver, in its own process (``bench/press.py``)."""

    proc: asyncio.subprocess.Process

    async def press(self) -> float:
        """Press once; the perf_counter time of the press, as the driver took it."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(b"press\n")
        async with asyncio.timeout(10):
            return float(await self.proc.stdout.readline())


@contextlib.asynccontextmanager
async def _button(port: int) -> AsyncIterator[Button]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).with_name("press.py")), "--port", str(port), "--site", SITE,
        "--device", "panic-hall", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        async with asyncio.timeout(15):
            ready = await proc.stdout.readline()
        if ready.strip() != b"ready":
            raise RuntimeError(f"the panic button did not start: {ready!r}")
        yield Button(proc)
    finally:
        proc.stdin.close()
        try:
            async with asyncio.timeout(10):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()


@dataclass
class Stack:
    receiver: Receiver
    watch: Watch
    button: Button
    agent: AgentProcess
    trace: Path
    http: aiohttp.ClientSession
    base: str
    broker_port: int
    panic_alarm: int | None = None
    trace_at: int = 0
    presses: int = 0


async def _press_once(stack: Stack, phase: Phase, record: bool) -> None:
    watch = stack.watch
    stack.presses += 1
    await asyncio.sleep(random.uniform(0, 0.01))  # not in step with the background's pace
    pressed = await stack.button.press()
    stored = await watch.until("stored", stack.presses, timeout=CAP)
    decoded = await watch.until("decoded", stack.presses)
    try:
        noticed, alarm = await watch.notice_after(stored, stack.panic_alarm)
        stack.panic_alarm = alarm
    except TimeoutError:  # counted, and the bench goes on
        noticed, phase.missed_notices = float("nan"), phase.missed_notices + 1
        times = watch.times[stack.panic_alarm]
        before = (stored - times[-1]) * 1000 if times else float("nan")
        print(f"    notice missed: alarm {stack.panic_alarm}'s last one came {before:.1f} ms before the PA's"
              f" commit was stamped; {len(watch.notices)} notices in all; since then for alarms"
              f" {sorted({a for w, a in watch.notices if w >= stored}, key=str)}; PA frames decoded"
              f" {len(watch.stamps['decoded'])}, stored {len(watch.stamps['stored'])}, duplicates"
              f" {watch.duplicates}, failed {watch.failed}, presses {stack.presses}", flush=True)
    async with stack.http.get(f"{stack.base}/queue/rows") as resp:
        assert resp.status == 200
        await resp.read()
    shown = time.perf_counter()
    lines, stack.trace_at = _hop_lines(stack.trace, stack.trace_at)
    if not record:
        return
    at = {"press": pressed, "decoded": decoded, "stored": stored, "notice": noticed, "shown": shown}
    if noticed != noticed:
        del at["notice"]
    for hop, when in lines:
        if pressed <= when <= stored and hop in AGENT_HOPS:
            at.setdefault(hop, when)
    phase.latency.append((stored - pressed) * 1000)
    if noticed == noticed:  # not NaN
        phase.notice.append((noticed - stored) * 1000)
    phase.shown.append((shown - stored) * 1000)
    previous = pressed
    for hop in HOPS[1:]:
        if hop in at:
            phase.hops[hop].append((at[hop] - previous) * 1000)
            previous = at[hop]


def _fsync_p99(directory: Path, n: int = 100) -> float:
    """What one durable commit costs on this (shared) disk now: every hop that commits pays it."""
    took = []
    with sqlite3.connect(directory / "fsync-probe.db", isolation_level=None) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE IF NOT EXISTS t (x)")
        for _ in range(n):
            began = time.perf_counter()
            db.execute("INSERT INTO t VALUES (1)")
            took.append((time.perf_counter() - began) * 1000)
    return _q(took, 99)


async def _phase(stack: Stack, name: str, load: tuple[str, float] | None, presses: int) -> Phase:
    phase = Phase(name, load=os.getloadavg()[0], fsync=_fsync_p99(stack.trace.parent))
    ports = {"mqtt": stack.broker_port, "dc09": stack.receiver.port("tcp")}
    async with contextlib.AsyncExitStack() as stack_ctx:
        if load is not None:
            said = await stack_ctx.enter_async_context(_traffic(load[0], load[1], ports[load[0]]))
        if profile := os.environ.get("BENCH_PROFILE"):  # py-spy's collapsed stacks of the agent
            assert stack.agent.proc is not None
            spy = _spawn(["py-spy", "record", "-p", str(stack.agent.proc.pid), "-f", "raw", "-r", "200",
                          "-o", f"{profile}-{name.split()[0]}.txt"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stack_ctx.callback(spy.send_signal, signal.SIGINT)
        cpu0, t0 = _agent_cpu(stack.agent), time.perf_counter()
        stop_at = t0 + CAP
        for _ in range(presses):
            if time.perf_counter() > stop_at:
                print(f"  ({name}: capped at {CAP:g} s after {len(phase.latency)} presses)", flush=True)
                break
            await _press_once(stack, phase, record=True)
        phase.cpu = (_agent_cpu(stack.agent) - cpu0) / (time.perf_counter() - t0) * 100
    print(f"  {name:<26} n={len(phase.latency)} p50 {_q(phase.latency, 50):6.1f}"
          f" p99 {_q(phase.latency, 99):6.1f}"
          f" max {max(phase.latency):7.1f} ms, agent CPU {phase.cpu:3.0f}%, load {phase.load:.2f},"
          f" fsync p99 {phase.fsync:.1f} ms", flush=True)
    print("    hops p50 [p99]: " + ", ".join(f"{h} {_q(phase.hops[h], 50):.1f} [{_q(phase.hops[h], 99):.1f}]"
                                            for h in HOPS[1:]) + f"; notices missed {phase.missed_notices}",
          flush=True)
    if load is not None:
        phase.traffic = said[0] if said else ""
    return phase


def _q(ms: list[float], p: int) -> float:
    return statistics.quantiles(ms, n=100)[p - 1] if len(ms) > 1 else (ms[0] if ms else float("nan"))


async def _run(tmp: Path) -> list[Phase]:
    (tmp / "broker").mkdir()
    conf = os.environ.get("BENCH_MOSQUITTO_CONF", "set_tcp_nodelay true\n")
    broker = Mosquitto(tmp / "broker", extra_conf=conf)
    broker.start()
    try:
        cfg = receiver_on(tmp, "receiver")
        others = [Account(account=a, site=f"other-{a.lower()}", key=traffic.KEY)
                  for a in traffic.load_accounts(LOAD_SENDERS)]
        cfg = cfg.model_copy(update={"accounts": [*cfg.accounts, *others],
                                     "http": cfg.http.model_copy(update={"port": 0})})
        async with Receiver(cfg) as receiver:
            watch = Watch(receiver)
            await receiver.accounts.add_user("bench", Role.OPERATOR, "bench-password")
            paths = [path_spec("primary", f"tcp://127.0.0.1:{receiver.port('tcp')}", poll="90s",
                               ack_timeout="5s", retries=2),
                     path_spec("backup", f"udp://127.0.0.1:{receiver.port('udp')}", poll="180s",
                               ack_timeout="5s", retries=2)]
            trace = tmp / "hops.txt"
            trace.touch()
            base = f"http://127.0.0.1:{receiver.http_port}"
            site = write_site(tmp, broker.url, paths)
            async with agent_process(tmp, site, WACHTER_HOP_TRACE=str(trace)) as agent, \
                    _button(broker.port) as button, \
                    aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http, \
                    asyncio.TaskGroup() as tg:
                await agent.connected()
                login = await http.post(f"{base}/login", data={"user": "bench", "password": "bench-password"})
                assert login.status == 200, login.status
                listener = tg.create_task(watch.listen(http, base), name="sse")
                stack = Stack(receiver, watch, button, agent, trace, http, base, broker.port)
                await asyncio.sleep(1.0)  # the agent's resume after connect
                for _ in range(WARMUP):
                    await _press_once(stack, Phase("warm-up"), record=False)
                phases = []
                for name, load in PHASES:
                    phases.append(await _phase(stack, name, load, PRESSES))
                    await _drained(tmp / "agent" / "agent.db")
                listener.cancel()
                return phases
    finally:
        broker.stop()


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _print(runs: list[list[Phase]]) -> None:
    print(f"\npanic press -> committed at the receiver; median of {len(runs)} run(s), "
          f"{PRESSES} presses per phase and run")
    print(f"{'phase':<26}{'p50':>8}{'p99':>8}{'max':>8}{'agent CPU':>11}{'load avg':>10}{'fsync p99':>11}")
    for i, (name, _) in enumerate(PHASES):
        ps = [run[i] for run in runs]
        print(f"{name:<26}{_median([_q(p.latency, 50) for p in ps]):8.1f}"
              f"{_median([_q(p.latency, 99) for p in ps]):8.1f}{_median([max(p.latency) for p in ps]):8.1f}"
              f"{_median([p.cpu for p in ps]):10.0f}%{_median([p.load for p in ps]):10.2f}"
              f"{_median([p.fsync for p in ps]):11.1f}")
    print("\nper hop (ms after the previous hop), median of the runs' medians; [p99]")
    print(f"{'phase':<26}" + "".join(f"{h:>14}" for h in HOPS[1:]))
    for i, (name, _) in enumerate(PHASES):
        ps = [run[i] for run in runs]
        cells = []
        for hop in HOPS[1:]:
            p50 = _median([_q(p.hops[hop], 50) for p in ps if p.hops[hop]])
            p99 = _median([_q(p.hops[hop], 99) for p in ps if p.hops[hop]])
            cells.append(f"{p50:6.2f} [{p99:5.1f}]")
        print(f"{name:<26}" + "".join(f"{c:>14}" for c in cells))
    print("\nalarm centre: committed -> live notice / -> queue rows fetched (ms), median of the runs")
    for i, (name, _) in enumerate(PHASES):
        ps = [run[i] for run in runs]
        print(f"{name:<26} notice p50 {_median([_q(p.notice, 50) for p in ps]):6.1f} "
              f"p99 {_median([_q(p.notice, 99) for p in ps]):6.1f}   shown p50 "
              f"{_median([_q(p.shown, 50) for p in ps]):6.1f}"
              f" p99 {_median([_q(p.shown, 99) for p in ps]):6.1f}"
              f"   {'; '.join(p.traffic for p in ps if p.traffic)}")


async def main() -> None:
    runs = []
    for n in range(RUNS):
        with tempfile.TemporaryDirectory(prefix="wachter-bench-") as d:
            print(f"run {n + 1} of {RUNS} (load average {os.getloadavg()[0]:.2f})", flush=True)
            runs.append(await _run(Path(d)))
            _print(runs[-1:])
    if RUNS > 1:
        _print(runs)


if __name__ == "__main__":
    deadline.start(RUNS * (len(PHASES) * (CAP + 150) + 120))
    asyncio.run(main())
