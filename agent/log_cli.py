"""`wachter log`: the agent's local event log, newest last (read-only)."""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from agent.eventlog import read_log
from config.loader import ConfigError, load_site

__all__ = ["add_parser"]


def cmd_log(args: argparse.Namespace) -> int:
    if args.db:
        db = Path(args.db)
    else:
        try:
            db = load_site(Path(args.config)).state_dir / "agent.db"
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
    since = datetime.fromisoformat(args.since) if args.since else None
    try:
        lines = read_log(db, limit=args.limit, since=since, contains=args.grep)
    except sqlite3.Error as exc:
        print(f"cannot read the event log in {db}: {exc}", file=sys.stderr)
        return 1
    for line in lines:
        if args.json:
            print(json.dumps({"id": line.id, "ts": line.ts.isoformat(), "kind": line.kind,
                              "text": line.text}))
        else:
            print(f"{line.ts.astimezone():%Y-%m-%d %H:%M:%S}  {line.kind:<7} {line.text}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lg = sub.add_parser("log", help="show the agent's local event log (newest last)")
    where = lg.add_mutually_exclusive_group(required=True)
    where.add_argument("--config", help="site config (the log is in its state_dir)")
    where.add_argument("--db", help="the agent database file itself")
    lg.add_argument("--limit", type=int, default=100)
    lg.add_argument("--since", help="ISO 8601 time, e.g. 2026-11-28T20:00:00+00:00")
    lg.add_argument("--grep", help="only lines containing this text")
    lg.add_argument("--json", action="store_true", help="one JSON object per line")
    lg.set_defaults(func=cmd_log)
