"""`wachter sim ...`: act on the simulated devices of a running demo."""

from __future__ import annotations

import argparse
import asyncio
import sys

__all__ = ["DEVICE_VERBS", "add_parser"]

DEVICE_VERBS = ("press", "release", "open", "close", "tamper", "tamper_restore", "battery_low",
                "battery_ok", "smoke", "smoke_clear", "doorbell", "person", "offline", "online")


def cmd_sim_device(args: argparse.Namespace) -> int:
    from aiomqtt import MqttError

    from simulator.control import SimulatorNotFound, send_action
    from simulator.devices import SimAction

    action = SimAction(action=args.verb, held_ms=getattr(args, "held_ms", None))
    try:
        site = asyncio.run(send_action(args.broker, args.device, action))
    except SimulatorNotFound:
        print(f"no running simulator on {args.broker} has a device {args.device!r} "
              "(is `wachter demo` running?)", file=sys.stderr)
        return 1
    except (OSError, MqttError) as exc:
        print(f"cannot reach the broker at {args.broker}: {exc}", file=sys.stderr)
        return 1
    print(f"{args.verb} {args.device} (site {site})")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = sub.add_parser("sim", help="act on the simulated devices of a running demo")
    verbs = sim.add_subparsers(dest="verb", required=True)
    for verb in DEVICE_VERBS:
        v = verbs.add_parser(verb.replace("_", "-"), help=f"{verb.replace('_', ' ')} a simulated device")
        v.add_argument("device")
        v.add_argument("--broker", default="mqtt://127.0.0.1:1883")
        if verb == "release":
            v.add_argument("--held-ms", type=int, default=None)
        v.set_defaults(func=cmd_sim_device, verb=verb)
