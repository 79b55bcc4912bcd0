"""`wachter walktest`: commission a site. Puts it in test mode, ticks off every device as the
installer triggers it, ends the test and writes the commissioning report (JSON and HTML)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt

from config.loader import ConfigError, load_site
from config.site import Site
from protocol import mqtt
from protocol.mqtt_client import bounded

__all__ = ["add_parser", "run_walktest", "write_report"]

Progress = Callable[[str, dict[str, object]], None]
# the panel's answers that refuse a walk-test command (wrong code, lockout, permission, state)
_REFUSALS = frozenset({"command_refused", "command_not_allowed", "bad_code", "code_refused"})


def _refusal(notice: mqtt.PanelEvent) -> str:
    detail = notice.detail
    if notice.event == "command_not_allowed":
        return f"{detail.get('action')} needs an {detail.get('needs', 'admin')} code"
    if notice.event == "bad_code":
        return f"wrong code ({detail.get('attempts')} in a row; the panel locks codes out at the limit)"
    return str(detail.get("reason") or f"codes locked out until {detail.get('until')}")


async def _send(client: aiomqtt.Client, site: Site, action: str, code: str) -> None:
    cmd = mqtt.PanelCommand.model_validate({"action": action, "code": code})
    await client.publish(mqtt.panel_topic(site.id, mqtt.Channel.SET), cmd.model_dump_json(), qos=1)


async def run_walktest(site: Site, broker: str, code: str, *, timeout: float = 1800,
                       progress: Progress = lambda event, detail: None,
                       done: asyncio.Event | None = None) -> dict[str, object]:
    """Run one walk test; returns the agent's outcome (every device, link round trips).

    Ends when every device was triggered, when ``done`` is set, or after ``timeout`` seconds.
    """
    url = urlsplit(broker)
    done = done or asyncio.Event()
    client = aiomqtt.Client(url.hostname or "127.0.0.1", url.port or 1883, timeout=10)
    async with bounded(client):
        await client.subscribe(mqtt.panel_topic(site.id, mqtt.Channel.EVENT), qos=1)
        await _send(client, site, "WALK_TEST_START", code)
        messages = client.messages.__aiter__()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        waiter: asyncio.Future[aiomqtt.Message] | None = None
        ending = False
        while True:
            waiter = waiter or asyncio.ensure_future(messages.__anext__())
            stopper = None if ending else asyncio.ensure_future(done.wait())
            remaining = max(0.0, deadline - loop.time()) if not ending else 30.0
            finished, _ = await asyncio.wait({waiter} | ({stopper} if stopper else set()),
                                             timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            if stopper is not None:
                stopper.cancel()
            if waiter not in finished:
                if ending:
                    waiter.cancel()
                    raise TimeoutError("the agent did not end the walk test")
                ending = True  # all tested, asked to stop, or out of time
                await _send(client, site, "WALK_TEST_END", code)
                continue
            message, waiter = waiter.result(), None
            notice = mqtt.decode(mqtt.PanelEvent, bytes(message.payload))  # type: ignore[arg-type,unused-ignore]
            progress(notice.event, dict(notice.detail))
            if notice.event in _REFUSALS and str(notice.detail.get("action")).startswith("WALK_TEST"):
                raise PermissionError(_refusal(notice))
            if notice.event == "walk_test_ended":
                return dict(notice.detail)
            if notice.event == "point_tested" and notice.detail.get("tested") == len(site.devices):
                done.set()


def write_report(outcome: dict[str, object], directory: Path) -> tuple[Path, Path]:
    """commissioning.json and commissioning.html, mode 0600 (they list the house's devices)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    data = {**outcome, "report_written": stamp}
    json_path, html_path = directory / "commissioning.json", directory / "commissioning.html"
    json_path.write_text(json.dumps(data, indent=2))
    html_path.write_text(_html(data))
    for path in (json_path, html_path):
        path.chmod(0o600)
    return json_path, html_path


def _html(data: dict[str, object]) -> str:
    devices = data.get("devices")
    rows = "".join(
        f"<tr class={'ok' if d['tested'] else 'bad'}><td>{escape(str(d['id']))}</td>"
        f"<td>{escape(str(d['name']))}</td><td>{escape(str(d['type']))}</td><td>{d['zone']}</td>"
        f"<td>{'tested' if d['tested'] else 'NOT TESTED'}</td><td>{escape(str(d['tamper'] or '-'))}</td>"
        f"<td>{'low' if d['battery_low'] else ('ok' if d['battery_low'] is False else '-')}</td></tr>"
        for d in (devices if isinstance(devices, list) else [])
    )
    links = data.get("links_ms")
    link_rows = "".join(
        f"<tr><td>{escape(str(name))}</td><td>{'no answer' if ms is None else f'{ms} ms'}</td></tr>"
        for name, ms in (links.items() if isinstance(links, dict) else [])
    )
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Commissioning report {escape(str(data.get('site')))}</title><style>
body{{font:14px system-ui,sans-serif;margin:2em}}table{{border-collapse:collapse;margin-bottom:1.5em}}
td,th{{padding:.3em .8em;border-bottom:1px solid #ccc;text-align:left}}.bad{{background:#fdd}}</style>
</head><body><h1>Commissioning report: {escape(str(data.get('site')))}</h1>
<p>Walk test started {escape(str(data.get('started')))} by {escape(str(data.get('by')))};
report written {escape(str(data.get('report_written')))}.</p>
<h2>Devices</h2><table><tr><th>id</th><th>name</th><th>type</th><th>zone</th><th>result</th>
<th>tamper</th><th>battery</th></tr>{rows}</table>
<h2>Link test to the alarm centre</h2><table><tr><th>path</th><th>round trip</th></tr>{link_rows}</table>
</body></html>"""


def cmd_walktest(args: argparse.Namespace) -> int:
    try:
        site = load_site(Path(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    code = getpass.getpass("installer code: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    total = len(site.devices)
    print(f"Walk test of {site.id}: trigger each of these {total} devices (Ctrl-C ends early):")
    for device in site.devices:
        print(f"  [ ] {device.id:<16} {device.name} ({device.location or device.type.value})")

    def progress(event: str, detail: dict[str, object]) -> None:
        if event == "point_tested":
            print(f"  [x] {detail.get('device')} ({detail.get('event')}): {detail.get('tested')}/{total}",
                  flush=True)

    try:
        outcome = asyncio.run(run_walktest(site, args.broker or site.mqtt.url, code,
                                           timeout=args.timeout, progress=progress))
    except PermissionError as exc:
        print(f"the agent refused: {exc}", file=sys.stderr)
        return 1
    except (aiomqtt.MqttError, OSError) as exc:
        print(f"cannot reach the broker: {exc}", file=sys.stderr)
        return 1
    json_path, html_path = write_report(outcome, Path(args.report_dir))
    devices = outcome.get("devices")
    untested = [d["id"] for d in devices if not d["tested"]] if isinstance(devices, list) else []
    print(f"report: {html_path} and {json_path}")
    print("all devices tested" if not untested else f"NOT tested: {', '.join(map(str, untested))}")
    return 0 if not untested else 3


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    wt = sub.add_parser("walktest", help="commission a site: walk test and report (reads the code)")
    wt.add_argument("--config", required=True, help="the site config")
    wt.add_argument("--broker", help="mqtt://HOST:PORT (default: the site's broker)")
    wt.add_argument("--report-dir", default="commissioning", help="where the report goes")
    wt.add_argument("--timeout", type=float, default=1800, help="seconds before the test ends")
    wt.set_defaults(func=cmd_walktest)
