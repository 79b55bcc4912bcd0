"""`wachter receiver` flags: stand up a receiver from the command line, with or without a config.

Flags override the config (``--listen``, ``--store``, ``--http-port``) or extend it
(``--account``; an account already in the config gets the flag's key). Error messages name the
flag and the account but never repeat a key.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from config.receiver import Account, ReceiverConfig
from config.types import parse_endpoint, parse_key_spec

__all__ = ["FlagError", "add_receiver_flags", "config_from_flags", "parse_account"]

log = logging.getLogger(__name__)


class FlagError(ValueError):
    """A flag that cannot be used; the text names the flag and says how to write it."""


def add_receiver_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="YAML config file (optional; flags override it)")
    parser.add_argument("--listen", action="append", default=[], metavar="tcp|udp://HOST:PORT",
                        help="DC-09 listener, repeatable; replaces the config's list")
    parser.add_argument("--account", action="append", default=[],
                        metavar="ACCOUNT[:file:PATH]",
                        help="accepted account, repeatable; site id site-<account>; its key from a "
                             "file (hex:... or ascii:..., as `wachter keys dc09 --out` writes it). "
                             "ACCOUNT:hex:KEY and ACCOUNT:ascii:KEY still work, but `ps` shows them")
    parser.add_argument("--store", metavar="URL", help="event store: sqlite:///PATH or postgresql://...")
    parser.add_argument("--http-port", type=int, metavar="N", help="console/API port (0: any free)")


def parse_account(value: str) -> Account:
    """``ACCOUNT``, ``ACCOUNT:file:PATH`` (or, visible in ``ps``, ``ACCOUNT:ascii:KEY`` /
    ``ACCOUNT:hex:KEY``) -> an account of site ``site-<account>``."""
    number, _, spec = value.partition(":")
    if not number or any(c not in "0123456789abcdefABCDEF" for c in number) or len(number) > 16:
        # the account is the part before the first ':'; the key is never shown
        raise FlagError(f"--account {number!r}...: the account is 1 to 16 hex digits, "
                        "written ACCOUNT or ACCOUNT:file:PATH")
    if spec.startswith("file:"):
        path = spec.removeprefix("file:")
        try:
            spec = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise FlagError(f"--account {number}: cannot read the key file {path}: {exc.strerror}") from None
    elif spec:
        log.warning("--account %s: a key on the command line is visible to every user (ps); "
                    "write it to a file (0600) and give ACCOUNT:file:PATH", number)
    try:
        key = parse_key_spec(spec) if spec else None
    except ValueError as exc:
        raise FlagError(f"--account {number}: {exc}") from None
    return Account(account=number, site=f"site-{number.lower()}", key=key)


def _merge_accounts(base: list[Account], extra: list[Account]) -> list[Account]:
    merged = {a.account.upper(): a for a in base}
    seen: set[str] = set()
    for account in extra:
        if account.account.upper() in seen:
            raise FlagError(f"--account {account.account} is given twice; give each account once")
        seen.add(account.account.upper())
        old = merged.get(account.account.upper())
        merged[account.account.upper()] = (
            old.model_copy(update={"key": account.key}) if old is not None else account
        )
    return list(merged.values())


def config_from_flags(args: argparse.Namespace, base: ReceiverConfig | None) -> ReceiverConfig:
    """The receiver config: ``base`` (from ``--config``) or the defaults, with the flags applied."""
    listen: list[str] = []
    for endpoint in args.listen:
        try:
            listen.append(parse_endpoint(endpoint))
        except ValueError as exc:
            raise FlagError(f"--listen: {exc}") from None
    accounts = [parse_account(value) for value in args.account]
    if base is None and args.store is None:
        raise FlagError("--store sqlite:///PATH is needed when no --config is given")
    if args.http_port is not None and not 0 <= args.http_port <= 65535:
        raise FlagError(f"--http-port {args.http_port}: a port is 0 to 65535")
    fields: dict[str, Any] = base.model_dump() if base is not None else {}
    # model_dump hides secrets: carry the accounts over as models, not as dumped dicts
    fields["accounts"] = _merge_accounts(list(base.accounts) if base else [], accounts)
    if base is not None:
        fields["mobile"] = base.mobile  # its code words are secrets too
    if listen:
        fields["listen"] = listen
    if args.store is not None:
        fields["store"] = args.store
    if args.http_port is not None:
        fields["http"] = {**fields.get("http", {}), "port": args.http_port}
    try:
        return ReceiverConfig.model_validate(fields)
    except ValidationError as exc:
        # the message only: pydantic's own text would repeat the input, keys included
        raise FlagError("; ".join(str(e["msg"]).removeprefix("Value error, ")
                                  for e in exc.errors())) from None
