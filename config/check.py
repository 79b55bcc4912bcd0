"""``wachter check FILE``: validate a site or receiver config and list every problem at once."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from config.demo_secrets import demo_secrets
from config.loader import ConfigError, ConfigProblem, load_raw_site, load_receiver
from config.profiles import PROFILES, origins

__all__ = ["add_parser", "check", "guess_kind"]

Kind = Literal["site", "receiver"]
_SITE_KEYS = {"devices", "alarm_centre", "panel", "profile"}
_RECEIVER_KEYS = {"listen", "accounts", "store", "console"}


def guess_kind(path: Path) -> Kind:
    """A receiver file has listeners or accounts; anything else is checked as a site."""
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError):
        return "site"  # the site loader reports the read or syntax error with its line
    keys = set(data) if isinstance(data, dict) else set()
    return "receiver" if keys & _RECEIVER_KEYS and not keys & _SITE_KEYS else "site"


def check(path: Path, kind: Kind | None = None) -> list[ConfigProblem]:
    """Every problem of the file (empty when it is usable)."""
    try:
        if (kind or guess_kind(path)) == "receiver":
            load_receiver(path)
        else:
            load_raw_site(path)
    except ConfigError as exc:
        return exc.problems
    return []


def _explain(path: Path) -> None:
    site = load_raw_site(path)
    profile = PROFILES[site.profile]
    print(f"profile {site.profile}: primary path aims at EN 50136 {profile.ats_category}, "
          f"reporting time {profile.reporting_time.total_seconds():g}s")
    for field, value, explicit in origins(site):
        print(f"  {field} = {value}  ({'set in file' if explicit else 'from profile'})")


def _run(args: argparse.Namespace) -> int:
    path = Path(args.file)
    kind = args.kind or guess_kind(path)
    problems = check(path, kind)
    if not problems and kind == "site" and not args.demo:
        problems = demo_secrets(path)
    if problems:
        print(f"{path}: {len(problems)} problem(s); the configuration cannot be used:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    print(f"{path}: ok")
    if args.explain and kind == "site":
        _explain(path)
    return 0


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``wachter check FILE [--kind site|receiver] [--explain]``."""
    parser: argparse.ArgumentParser = sub.add_parser(
        "check", help="validate a site or receiver config; lists every problem with file:line"
    )
    parser.add_argument("file", help="site.yaml or receiver.yaml")
    parser.add_argument("--kind", choices=["site", "receiver"], help="default: guessed from the keys")
    parser.add_argument(
        "--explain", action="store_true", help="also show each profile-governed setting and its origin"
    )
    parser.add_argument(
        "--demo", action="store_true", help="allow the public demo keys and PINs (demo and tests only)"
    )
    parser.set_defaults(func=_run)
    return parser
