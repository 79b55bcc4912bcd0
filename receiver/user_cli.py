"""`wachter receiver add-user`: create (or change) a console user from the shell, e.g. the first
admin of a real receiver, who then adds everybody else on the console's Users page.

The password never comes from the command line (``ps`` shows arguments to every user): it is
read from a file (``--password-file``, ``-`` for stdin), from ``WACHTER_PASSWORD``, or from a
prompt asked twice. Run it as the receiver's user, so that a new database file is its own.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import re
import sys
from pathlib import Path

from config.loader import ConfigError, load_receiver
from config.receiver import ReceiverConfig
from receiver.auth import Accounts, Role
from receiver.service import open_storage
from receiver.store import utcnow

__all__ = ["PASSWORD_ENV", "add_parser", "run"]

PASSWORD_ENV = "WACHTER_PASSWORD"
ROLES = ("operator", "supervisor", "admin")
_NAME = re.compile(r"[a-z0-9._-]{2,32}")  # as on the Users page


class UsageError(ValueError):
    """Something the command cannot use; the text says what to do instead."""


def add_parser(receiver: argparse.ArgumentParser) -> None:
    """``add-user`` under ``wachter receiver`` (which without a sub-command runs the receiver)."""
    sub = receiver.add_subparsers(dest="action", metavar="[add-user]")
    parser = sub.add_parser(
        "add-user", allow_abbrev=False,  # "--password" must not pass for --password-file
        help=f"create or change a console user (password from a prompt, a file or ${PASSWORD_ENV},"
        " never from the command line)")
    parser.add_argument("name", help="user name: 2-32 of a-z 0-9 . _ -")
    parser.add_argument("--role", choices=ROLES, default="operator")
    # SUPPRESS: the same flags given before `add-user` (to `wachter receiver`) still count
    parser.add_argument("--config", default=argparse.SUPPRESS, help="the receiver's YAML config")
    parser.add_argument("--store", default=argparse.SUPPRESS, metavar="URL",
                        help="the store instead of the config's: sqlite:///PATH or postgresql://...")
    parser.add_argument("--password-file", metavar="PATH",
                        help=f"read the password from this file ('-': stdin); else ${PASSWORD_ENV},"
                        " else a prompt")


def run(args: argparse.Namespace) -> int:
    try:
        config = _config(args)
        if not _NAME.fullmatch(args.name):
            raise UsageError(f"user name {args.name!r}: 2-32 characters of a-z 0-9 . _ -")
        password = _password(args.password_file)
        asyncio.run(_save(config, args.name, Role[args.role.upper()], password))
    except ConfigError as exc:
        print("The configuration cannot be used:", *exc.problems, sep="\n  ", file=sys.stderr)
        return 2
    except (UsageError, ValueError, OSError) as exc:  # ValueError: a bad store URL or password
        print(f"wachter receiver add-user: {exc}", file=sys.stderr)
        return 2
    print(f"user {args.name} saved with role {args.role}")
    return 0


def _config(args: argparse.Namespace) -> ReceiverConfig:
    store, path = getattr(args, "store", None), getattr(args, "config", None)
    config = load_receiver(Path(path)) if path else None
    if store is not None:
        alone = ReceiverConfig(store=store)  # checks the URL
        return config.model_copy(update={"store": alone.store}) if config else alone
    if config is None:
        raise UsageError("name the receiver's database: --config FILE or --store URL")
    return config


def _password(source: str | None) -> str:
    if source == "-":
        text = sys.stdin.readline()
    elif source is not None:
        text = Path(source).read_text(encoding="utf-8").split("\n", 1)[0]
    elif (env := os.environ.get(PASSWORD_ENV)) is not None:
        text = env
    elif sys.stdin.isatty():
        text = getpass.getpass("Password (10 or more characters): ")
        if getpass.getpass("Again: ") != text:
            raise UsageError("the two passwords differ; nothing was saved")
    else:
        raise UsageError(f"no password: give --password-file PATH (or -), set {PASSWORD_ENV},"
                         " or run it in a terminal to be asked")
    return text.rstrip("\r\n")


async def _save(config: ReceiverConfig, name: str, role: Role, password: str) -> None:
    _, db = open_storage(config)
    async with db:
        accounts = Accounts(db, utcnow)
        await accounts.upgrade()
        await accounts.add_user(name, role, password, by="wachter receiver add-user")
