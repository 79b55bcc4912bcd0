"""`wachter sim ...`: act on the simulated devices of a running demo, or run scenario files.

    wachter sim press panic-hall [--hold 1.5]      one device action (every verb of the devices)
    wachter sim jam door-back window-living        several devices offline at once (RF jamming)
    wachter sim panel arm-night --code 1234        the panel, as Home Assistant or a keypad would
    wachter sim run simulator/scenarios/*.yaml     scenarios on a fresh in-process stack
    wachter sim run FILE --demo                    ... or against the running `wachter demo`
    wachter sim phone-press --lat 52.09 --lon 5.12 the demo's mobile panic button, with a position
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from simulator.devices import DEVICE_VERBS

__all__ = ["DEVICE_VERBS", "add_parser"]

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"


def _broker_problem(args: argparse.Namespace, exc: Exception) -> int:
    print(f"cannot reach the broker at {args.broker}: {exc}", file=sys.stderr)
    return 1


def cmd_sim_device(args: argparse.Namespace) -> int:
    from aiomqtt import MqttError

    from simulator.control import SimulatorNotFound, send_action
    from simulator.devices import SimAction

    async def act() -> str:
        site = ""
        for device in args.devices:
            if args.verb == "press" and args.hold:
                site = await send_action(args.broker, device, SimAction(action="press"))
                await asyncio.sleep(args.hold)
                site = await send_action(args.broker, device, SimAction(action="release"))
            else:
                action = SimAction(action=args.verb, held_ms=args.held_ms, score=args.score)
                site = await send_action(args.broker, device, action)
        return site

    try:
        site = asyncio.run(act())
    except SimulatorNotFound as exc:
        print(f"no running simulator on {args.broker} has a device {exc.args[0]!r} "
              "(is `wachter demo` running?)", file=sys.stderr)
        return 1
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except (OSError, MqttError) as exc:
        return _broker_problem(args, exc)
    print(f"{args.verb} {' '.join(args.devices)} (site {site})")
    return 0


def cmd_sim_panel(args: argparse.Namespace) -> int:
    from aiomqtt import MqttError

    from protocol import mqtt
    from simulator.control import SimulatorNotFound, find_site, send_panel

    command = mqtt.PanelCommand(action=args.action.replace("-", "_").upper(), code=args.code,
                                skip_delay=args.skip_delay, force=args.force)

    async def send() -> mqtt.PanelState | None:
        site = args.site or await find_site(args.broker)
        return await send_panel(args.broker, site, command)

    try:
        state = asyncio.run(send())
    except SimulatorNotFound:
        print(f"no running site found on {args.broker}; give --site", file=sys.stderr)
        return 1
    except (OSError, MqttError) as exc:
        return _broker_problem(args, exc)
    print(f"{args.action}: panel is now {state.state if state else 'unknown (no state published)'}")
    return 0


def _scenario_logging(args: argparse.Namespace) -> None:
    """A scenario run prints its report; the components' logs go to a file (--log), to the
    terminal (-v), or nowhere."""
    handlers: list[logging.Handler] = []
    if args.log:
        handlers.append(logging.FileHandler(args.log, encoding="utf-8"))
    if args.show_logs or args.verbose:
        handlers.append(logging.StreamHandler(sys.stderr))
    if not handlers:
        handlers.append(logging.NullHandler())
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, force=True,
                        handlers=handlers, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def cmd_sim_run(args: argparse.Namespace) -> int:
    from simulator.suite import run_files, system_from_args

    _scenario_logging(args)
    try:
        system = system_from_args(args)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot use that system: {exc}", file=sys.stderr)
        return 2
    return asyncio.run(run_files([Path(f) for f in args.files], system))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser("sim", help="act on simulated devices, or run scenario files",
                         description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = sim.add_subparsers(dest="verb", required=True)
    for verb in DEVICE_VERBS:
        v = verbs.add_parser(verb.replace("_", "-"), help=f"{verb.replace('_', ' ')} a simulated device")
        v.add_argument("devices", nargs="+", metavar="DEVICE")
        _broker(v)
        v.add_argument("--held-ms", type=int, default=None, help="release: report this hold time")
        v.add_argument("--hold", type=float, default=None, help="press: hold this many seconds, release")
        v.add_argument("--score", type=float, default=None, help="person: detection confidence 0-1")
        v.set_defaults(func=cmd_sim_device, verb=verb)
    for name, verb, text in (("jam", "offline", "RF jamming: several devices offline at once"),
                             ("unjam", "online", "end the jamming: the devices come back")):
        j = verbs.add_parser(name, help=text)
        j.add_argument("devices", nargs="+", metavar="DEVICE")
        _broker(j)
        j.set_defaults(func=cmd_sim_device, verb=verb, held_ms=None, hold=None, score=None)
    _panel_parser(verbs)
    _run_parser(verbs)
    from simulator import phone

    phone.add_parser(verbs)


def _broker(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", default=DEFAULT_BROKER, help=f"MQTT broker (default {DEFAULT_BROKER})")


def _panel_parser(verbs: Any) -> None:
    p = verbs.add_parser("panel", help="arm or disarm the panel with a code")
    p.add_argument("action", choices=["arm-away", "arm-home", "arm-night", "disarm", "trigger"])
    p.add_argument("--code", help="the user's PIN (or duress PIN)")
    p.add_argument("--skip-delay", action="store_true", help="arm without the exit delay")
    p.add_argument("--force", action="store_true", help="arm with open zones (bypasses them)")
    p.add_argument("--site", help="site id (default: the one the simulator announces)")
    _broker(p)
    p.set_defaults(func=cmd_sim_panel)


def _run_parser(verbs: Any) -> None:
    r = verbs.add_parser("run", help="run scenario files; exit 1 when an expectation fails")
    r.add_argument("files", nargs="+", metavar="FILE")
    where = r.add_mutually_exclusive_group()
    where.add_argument("--demo", action="store_true",
                       help="against the running `wachter demo` (default ports and state dir)")
    where.add_argument("--broker", help="against a running system: its MQTT broker URL")
    r.add_argument("--receiver", help="the running receiver's URL, e.g. http://127.0.0.1:8080")
    r.add_argument("--token-file", help="API token file, or the demo's credentials.json")
    r.add_argument("--state-dir", help="--demo: the demo's state dir (for credentials.json)")
    r.add_argument("-v", "--show-logs", action="store_true", dest="show_logs",
                   help="print every component's log on the terminal too (default: the report only)")
    r.add_argument("--log", metavar="FILE", help="write every component's log to FILE")
    r.set_defaults(func=cmd_sim_run)
