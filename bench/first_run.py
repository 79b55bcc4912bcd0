"""A newcomer's first run, timed: `git clone`, `make demo`, a panic press, the PA at the API.

    python bench/first_run.py [--hide-mosquitto] [--warm-cache] [--repo PATH]

Clones the repository (its committed HEAD) into a fresh directory and follows the README word
for word: `make demo` (which creates the virtual environment and installs Wachter), then
`.venv/bin/wachter sim press panic-hall` and `GET /api/events` until the PA is there. pip gets
an empty cache (a fresh machine has none) unless --warm-cache. --hide-mosquitto (root only) runs
the demo in a mount namespace with an empty /usr/sbin, as on a machine without mosquitto.
Prints each phase's time; ends the demo with SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HIDE = ["unshare", "-m", "sh", "-c", 'mount -t tmpfs none /usr/sbin && exec "$0" "$@"']


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_banner(proc: subprocess.Popen[str], limit: float) -> None:
    assert proc.stdout is not None
    deadline = time.monotonic() + limit
    for line in proc.stdout:
        if "Ctrl-C" in line:
            return
        if time.monotonic() > deadline:
            break
    raise SystemExit(f"no banner within {limit:.0f} s (exit code {proc.poll()})")


def _events(http: int, token: str) -> list[dict[str, object]]:
    request = urllib.request.Request(f"http://127.0.0.1:{http}/api/events",
                                     headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=5) as resp:
        return json.loads(resp.read())  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repo", default=str(ROOT))
    parser.add_argument("--hide-mosquitto", action="store_true")
    parser.add_argument("--warm-cache", action="store_true")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="wachter-first-run-"))
    env = {**os.environ, "XDG_STATE_HOME": str(work / "state")}
    if not args.warm_cache:
        env["PIP_CACHE_DIR"] = str(work / "pip-cache")
    http, mqtt_port, dc09, sim = (_free_port() for _ in range(4))
    t0 = time.monotonic()
    subprocess.run(["git", "clone", "-q", args.repo, str(work / "wachter")], check=True)
    t_clone = time.monotonic()
    repo = work / "wachter"
    demo_args = f"--http-port {http} --mqtt-port {mqtt_port} --dc09-port {dc09} --sim-port {sim}"
    make = ["make", "demo", f"ARGS={demo_args}"]
    with (work / "demo.log").open("w") as err:
        proc = subprocess.Popen([*(HIDE if args.hide_mosquitto else []), *make], cwd=repo, env=env,
                                stdout=subprocess.PIPE, stderr=err, text=True, start_new_session=True)
    try:
        _wait_banner(proc, 900)
        t_banner = time.monotonic()
        token = json.loads((work / "state/wachter/demo/credentials.json").read_text())["api_token"]
        press = [str(repo / ".venv/bin/wachter"), "sim", "press", "panic-hall",
                 "--broker", f"mqtt://127.0.0.1:{mqtt_port}"]
        while subprocess.run(press, capture_output=True, env=env).returncode != 0:
            time.sleep(0.2)
        t_press = time.monotonic()
        while not any(e["code"] == "PA" for e in _events(http, token)):
            time.sleep(0.02)
        t_pa = time.monotonic()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    print(f"first run ({'no mosquitto' if args.hide_mosquitto else 'as installed'}, "
          f"{'warm' if args.warm_cache else 'empty'} pip cache):")
    print(f"  git clone                      {t_clone - t0:6.1f} s")
    print(f"  make demo to its banner        {t_banner - t_clone:6.1f} s  (venv, install, start)")
    print(f"  sim press (a new process)      {t_press - t_banner:6.1f} s")
    print(f"  press to PA at the API         {t_pa - t_press:6.2f} s")
    print(f"  clone to first PA              {t_pa - t0:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
