"""A real mosquitto on a free loopback port: for scenario runs, tests and benchmarks (never a mock).

``stop``/``start`` keep the port, so the scenario fault "broker down/up" is a real outage.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["Mosquitto", "free_port", "mosquitto_binary", "running_mosquitto"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mosquitto_binary() -> str:
    for candidate in (shutil.which("mosquitto"), "/usr/sbin/mosquitto"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("mosquitto is not installed: `make test` installs it (apt-get install mosquitto)")


def run_as_me() -> str:
    """As root, mosquitto would switch to its own user and could not write its persistence
    file in our directory: sessions and retained messages would not survive a restart."""
    import getpass
    import os

    return f"user {getpass.getuser()}\n" if os.geteuid() == 0 else ""


class Mosquitto:
    """One broker process; ``restart`` keeps the port so clients can reconnect."""

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "") -> None:
        self.port = port or free_port()
        self.workdir = workdir
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\n"
            f"persistence true\npersistence_location {workdir}/\nset_tcp_nodelay true\n"
            f"{run_as_me()}{extra_conf}"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        with (self.workdir / "mosquitto.log").open("ab") as log:  # the child keeps its own handle
            command = [mosquitto_binary(), "-c", str(self.conf)]
            self.proc = subprocess.Popen(command, stdout=log, stderr=log)  # noqa: S603 - our own config
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    text = (self.workdir / "mosquitto.log").read_text()
                    raise RuntimeError(f"mosquitto exited: {text}") from None
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not listen within 10 s")

    def stop(self, kill: bool = False) -> None:
        if self.proc and self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            self.proc.wait(timeout=10)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@contextmanager
def running_mosquitto(workdir: Path) -> Iterator[Mosquitto]:
    broker = Mosquitto(workdir)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
