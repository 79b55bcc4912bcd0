"""`wachter demo` as a user runs it: a child process, its banner, its API token, `wachter sim`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from simulator.mosquitto import free_port

WACHTER = [sys.executable, "-m", "wachter.cli"]

# a private mount namespace with an empty /usr/sbin: the machine as a user has it, without
# mosquitto (it needs root, as in CI; elsewhere `--broker embedded` stands in)
HIDE_MOSQUITTO = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs none /usr/sbin && exec "$0" "$@"']


def can_hide_mosquitto() -> bool:
    """Root, unshare, and a sandbox that lets us mount (tried, not assumed)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    tried = subprocess.run([*HIDE_MOSQUITTO, "sh", "-c", "! test -e /usr/sbin/mosquitto"],
                           capture_output=True, timeout=10)
    return tried.returncode == 0


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    http: int
    mqtt: int
    banner: str
    token: str
    log: Path

    @property
    def broker(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt}"

    def events(self) -> list[dict[str, object]]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.http}/api/events",
                                         headers={"Authorization": f"Bearer {self.token}"})
        with urllib.request.urlopen(request, timeout=5) as resp:
            return json.loads(resp.read())  # type: ignore[no-any-return]

    def codes(self) -> list[str]:
        return [str(e["code"]) for e in self.events()]

    def sim(self, *args: str, timeout: float = 20) -> subprocess.CompletedProcess[str]:
        """`wachter sim ARGS --broker <the demo's>`; retried while the simulator is not yet announced."""
        deadline = time.monotonic() + 10
        while True:
            done = subprocess.run([*WACHTER, "sim", *args, "--broker", self.broker],
                                  capture_output=True, text=True, timeout=timeout)
            if done.returncode == 0 or time.monotonic() > deadline:
                return done
            time.sleep(0.2)

    def wait_for_codes(self, code: str, count: int, timeout: float) -> list[str]:
        deadline = time.monotonic() + timeout
        while (codes := self.codes()).count(code) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return codes


def _wait_for_line(proc: subprocess.Popen[str], needle: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    os.set_blocking(proc.stdout.fileno(), False)
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line:
            lines.append(line)
            if needle in line:
                return lines
        elif proc.poll() is not None:
            break
        else:
            time.sleep(0.05)
    raise AssertionError(f"{needle!r} not printed; got {lines!r}")


@contextmanager
def running_demo(state_dir: Path, *extra: str, prefix: Sequence[str] = (),
                 start_timeout: float = 40) -> Iterator[Demo]:
    """Start the demo on free ports; stop it with SIGTERM and require exit code 0."""
    http, mqtt_port, dc09 = free_port(), free_port(), free_port()
    state_dir.mkdir(parents=True, exist_ok=True)
    log = state_dir.parent / f"{state_dir.name}.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            [*prefix, *WACHTER, "demo", "--state-dir", str(state_dir), "--http-port", str(http),
             "--mqtt-port", str(mqtt_port), "--dc09-port", str(dc09), "--sim-port", str(free_port()),
             *extra],
            stdout=subprocess.PIPE, stderr=err, text=True,
        )
    try:
        banner = "".join(_wait_for_line(proc, "Ctrl-C", timeout=start_timeout))
        token = json.loads((state_dir / "credentials.json").read_text())["api_token"]
        yield Demo(proc, http, mqtt_port, banner, token, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        assert code == 0, f"the demo exited with {code}; its log: {log}"
