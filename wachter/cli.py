"""`wachter`: one command for every part (demo, agent, receiver, simulator, tools)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from config.loader import ConfigError, load_receiver, load_site
from config.pins import hash_pin

__all__ = ["main"]

log = logging.getLogger("wachter")

Handler = Callable[[argparse.Namespace], int]


def _run(coro_factory: Callable[[], object], *, fast_loop: bool = False) -> int:
    """Run the service's coroutine; ``fast_loop``: on uvloop when it is installed (the
    receiver: its per-frame I/O and callbacks cost about a third less CPU there)."""
    runner: Callable[[Any], object] = asyncio.run
    if fast_loop:
        try:
            import uvloop
        except ImportError:
            log.info("uvloop is not installed; running on asyncio's own event loop")
        else:
            runner = uvloop.run
    with contextlib.suppress(KeyboardInterrupt):
        runner(coro_factory())
    return 0


def _config_problem(exc: ConfigError) -> int:
    print("The configuration cannot be used:", file=sys.stderr)
    for problem in exc.problems:
        print(f"  {problem}", file=sys.stderr)
    return 2


# -- demo -------------------------------------------------------------------------------
def cmd_demo(args: argparse.Namespace) -> int:
    from wachter.demo import DemoPorts, default_state_dir, run_demo

    ports = DemoPorts(http=args.http_port, mqtt=args.mqtt_port, dc09=args.dc09_port, sim=args.sim_port,
                      broker=args.broker)
    state_dir = Path(args.state_dir) if args.state_dir else default_state_dir()
    return _run(lambda: run_demo(state_dir.resolve(), ports))


# -- services ---------------------------------------------------------------------------
def cmd_agent(args: argparse.Namespace) -> int:
    from agent.service import Agent
    from config.demo_secrets import demo_secrets
    from wachter.signals import stop_on_signals

    try:
        site = load_site(Path(args.config))
        public = [] if args.demo else demo_secrets(Path(args.config))
    except ConfigError as exc:
        return _config_problem(exc)
    if public:
        return _config_problem(ConfigError(public))

    async def run() -> None:
        await Agent(site).run(stop_on_signals())

    return _run(run)


def cmd_receiver(args: argparse.Namespace) -> int:
    if getattr(args, "action", None) == "add-user":
        from receiver import user_cli

        return user_cli.run(args)
    from receiver.flags import FlagError, config_from_flags
    from receiver.service import run_receiver
    from wachter.signals import stop_on_signals

    try:
        base = load_receiver(Path(args.config)) if args.config else None
        config = config_from_flags(args, base)
    except ConfigError as exc:
        return _config_problem(exc)
    except FlagError as exc:
        print(f"wachter receiver: {exc}", file=sys.stderr)
        return 2

    async def run() -> None:
        await run_receiver(config, stop_on_signals())

    return _run(run, fast_loop=True)


# -- tools ------------------------------------------------------------------------------
def cmd_hash_pin(args: argparse.Namespace) -> int:
    pin = getpass.getpass("PIN: ") if sys.stdin.isatty() else sys.stdin.readline().strip()
    if not pin.isdigit() or not 4 <= len(pin) <= 8:
        print("a PIN has 4 to 8 digits", file=sys.stderr)
        return 1
    print(hash_pin(pin))
    return 0


def build_parser(wanted: str | None = None) -> argparse.ArgumentParser:
    """The whole command tree; ``wanted`` (the first argument) lets heavy parts load lazily."""
    parser = argparse.ArgumentParser(prog="wachter", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="run broker, receiver, agent and simulated devices")
    demo.add_argument("--state-dir", help="where the demo keeps its databases")
    demo.add_argument("--http-port", type=int, default=8080)
    demo.add_argument("--mqtt-port", type=int, default=1883)
    demo.add_argument("--dc09-port", type=int, default=9000)
    demo.add_argument("--sim-port", type=int, default=0,
                      help="the clickable simulator page (default: the HTTP port + 1)")
    demo.add_argument("--broker", choices=["auto", "mosquitto", "embedded"], default="auto",
                      help="MQTT broker: mosquitto, the embedded amqtt, or auto (mosquitto when "
                           "installed, else embedded; the default)")
    demo.set_defaults(func=cmd_demo)

    agent = sub.add_parser("agent", help="the home's agent (panel, verification, forwarding)")
    agent.add_argument("--config", required=True, help="YAML config file")
    agent.add_argument("--demo", action="store_true",
                       help="allow the public demo keys and PINs (demo and tests only)")
    agent.set_defaults(func=cmd_agent)

    from receiver.flags import add_receiver_flags

    receiver = sub.add_parser("receiver", help="the alarm centre's receiver (DC-09, store, console)")
    add_receiver_flags(receiver)
    receiver.set_defaults(func=cmd_receiver)
    if wanted in (None, "receiver", "-h", "--help"):
        from receiver import user_cli

        user_cli.add_parser(receiver)

    hp = sub.add_parser("hash-pin", help="hash a user PIN for the site config (reads stdin)")
    hp.set_defaults(func=cmd_hash_pin)

    _optional_parsers(sub, wanted)
    return parser


def _optional_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], wanted: str | None
) -> None:
    """Tools that live in their own modules register themselves here. Heavy ones (the
    simulator and the drivers pull in OpenCV, gpiozero) load only when asked for, so that
    `wachter agent` stays small on a Raspberry Pi."""
    from agent import log_cli, walktest_cli
    from config import check
    from wachter import dc09_cli, keys

    for module in (check, keys, dc09_cli, log_cli, walktest_cli):
        module.add_parser(sub)
    everything = wanted is None or wanted in ("-h", "--help")
    if everything or wanted == "sim":
        from simulator import cli as sim_cli

        sim_cli.add_parser(sub)
    if everything or wanted == "gpio":
        from drivers import gpio

        gpio.add_parser(sub)
    if everything or wanted == "zigbee2mqtt":
        from drivers import zigbee2mqtt

        zigbee2mqtt.add_parser(sub)
    if everything or wanted == "intercom":
        from drivers import intercom

        intercom.add_parser(sub)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser(argv[0] if argv else None).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    func: Handler = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
