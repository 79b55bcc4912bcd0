"""`wachter dc09 decode|encode|send`: look at, build and send DC-09 frames by hand."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protocol.dc09 import (
    Dc09Error,
    Dc09Key,
    KeyFormatError,
    Location,
    Message,
    decode,
    encode,
    exchange,
    location_blocks,
    location_of,
)

__all__ = ["add_parser"]


KEY_ENV = "WACHTER_DC09_KEY"  # a key spec (hex:... or ascii:...), kept out of `ps`


def _key(args: argparse.Namespace) -> Dc09Key | None:
    """From --key-file or $WACHTER_DC09_KEY; --key-hex/--key-ascii still work, with a warning:
    every user on the machine can read a command line (`ps`, /proc/PID/cmdline)."""
    if args.key_hex is not None or args.key_ascii is not None:
        print(f"warning: a key on the command line is visible to every user (ps); use --key-file "
              f"or {KEY_ENV}", file=sys.stderr)
        if args.key_hex is not None:
            return Dc09Key.from_hex(args.key_hex)
        return Dc09Key.from_ascii(args.key_ascii)
    if args.key_file is not None:
        try:
            spec = Path(args.key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise KeyFormatError(f"--key-file {args.key_file}: {exc.strerror}") from None
        return Dc09Key.parse(spec)
    spec = os.environ.get(KEY_ENV, "").strip()
    return Dc09Key.parse(spec) if spec else None


def _message_json(msg: Message) -> dict[str, Any]:
    return {
        "valid": True,
        "token": msg.token,
        "encrypted": msg.encrypted,
        "sequence": msg.sequence,
        "receiver": msg.receiver,
        "prefix": msg.prefix,
        "account": msg.account,
        "data": msg.data,
        "extended": [{"id": i, "value": v} for i, v in msg.extended],
        "timestamp": msg.timestamp.isoformat() if msg.timestamp else None,
        "quirks": list(msg.quirks),
        **_location_json(msg),
    }


def _location_json(msg: Message) -> dict[str, Any]:
    """The x-data position in decimal degrees, when the frame carries one (X and Y)."""
    try:
        found: Location | None = location_of(msg.extended)
    except Dc09Error as exc:
        return {"location_error": str(exc)}
    if found is None:
        return {}
    place = {"latitude": round(found.latitude, 7), "longitude": round(found.longitude, 7),
             "text": found.text()}
    if found.altitude is not None:
        place["altitude"] = found.altitude
    if found.quirks:
        place["quirks"] = list(found.quirks)
    return {"location": place}


def _print(obj: dict[str, Any]) -> None:
    print(json.dumps(obj, ensure_ascii=False))


def _invalid(error: Exception) -> int:
    _print({"valid": False, "error": str(error)})
    return 1


def _decode_reply(raw: bytes, key: Dc09Key | None) -> dict[str, Any]:
    try:
        return _message_json(decode(raw, lambda _acct: [key] if key else []))
    except Dc09Error as exc:
        return {"valid": False, "error": str(exc)}


def run_decode(args: argparse.Namespace) -> int:
    """Print the decoded frame as JSON; exit 1 for anything that is not a valid frame."""
    # os.fsencode gives back the exact argv bytes, so Windows-1252 text survives the shell.
    raw = sys.stdin.buffer.read() if args.frame == "-" else os.fsencode(args.frame)
    try:
        key = _key(args)
        msg = decode(raw, lambda _acct: [key] if key else [])
    except Dc09Error as exc:
        return _invalid(exc)
    _print(_message_json(msg))
    return 0


def _timestamp(text: str | None) -> datetime | None:
    if text is None:
        return datetime.now(UTC)
    if text.lower() == "none":
        return None
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _extended(items: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in items:
        ident, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--extended wants ID=VALUE, got {item!r}")
        pairs.append((ident, value))
    return tuple(pairs)


def _location(text: str | None) -> tuple[tuple[str, str], ...]:
    """``--location LAT,LON`` (decimal degrees, north/east positive) as X/Y x-data blocks."""
    if not text:
        return ()
    lat, _, lon = text.partition(",")
    try:
        return location_blocks(Location(float(lat), float(lon)))
    except ValueError:
        raise ValueError(f"--location wants LAT,LON in decimal degrees, got {text!r}") from None


def _build(args: argparse.Namespace, key: Dc09Key | None) -> Message:
    prefix = None if args.prefix.lower() == "none" else args.prefix
    return Message(
        token=args.token,
        sequence=args.sequence,
        account=args.account,
        receiver=args.receiver,
        prefix=prefix,
        data=args.data,
        extended=_extended(args.extended) + _location(args.location),
        timestamp=_timestamp(args.timestamp),
        encrypted=key is not None,
    )


def run_encode(args: argparse.Namespace) -> int:
    """Print the frame between LF and CR (raw bytes, so non-ASCII text stays exact)."""
    try:
        key = _key(args)
        pad = bytes.fromhex(args.pad_hex) if args.pad_hex is not None else None
        frame = encode(_build(args, key), key, pad=pad)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.flush()
    sys.stdout.buffer.write(frame[1:-1] + b"\n")
    sys.stdout.buffer.flush()
    return 0


def _default_data(token: str, account: str) -> str:
    """A periodic test report, so `send` works without crafting event data."""
    if token == "SIA-DCS":
        return f"#{account}|NRP"
    if token == "ADM-CID":
        return f"#{account}|1602 00 000"
    return ""


def run_send(args: argparse.Namespace) -> int:
    """Send one message; exit 0 only for an ACK that matches our sequence and account."""
    try:
        key = _key(args)
        if args.data is None:
            args.data = _default_data(args.token, args.account)
        frame = encode(_build(args, key), key)
        raw = asyncio.run(exchange(args.host, args.port, frame, udp=args.udp, timeout=args.timeout))
    except (ValueError, OSError) as exc:
        _print({"answer": "error", "error": str(exc)})
        return 1
    if raw is None:
        _print({"answer": "none", "reply": None})
        return 1
    reply = _decode_reply(raw, key)
    answer = reply.get("token", "invalid") if reply["valid"] else "invalid"
    matches = (
        reply["valid"]
        and reply["sequence"] == args.sequence
        and (reply["account"] or "").upper() == args.account.upper()
    )
    _print({"answer": answer, "matches": matches, "reply": reply})
    return 0 if answer == "ACK" and matches else 1


def _key_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--key-file", metavar="PATH",
                       help=f"file with the key as hex:... or ascii:... (`wachter keys dc09 --out`); "
                            f"or set {KEY_ENV}")
    group.add_argument("--key-hex", help="AES key as 32/48/64 hex digits (visible in ps: avoid)")
    group.add_argument("--key-ascii", help="AES key as 16/24/32 characters (visible in ps: avoid)")


def _message_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account", required=True)
    parser.add_argument("--receiver", default=None)
    parser.add_argument("--prefix", default="0", help='line prefix, "none" to omit')
    parser.add_argument("--extended", action="append", default=[], metavar="ID=VALUE")
    parser.add_argument("--location", metavar="LAT,LON",
                        help="position as x-data [X..][Y..], e.g. 52.0907,5.1214 (decimal degrees)")
    parser.add_argument("--timestamp", default=None, help='ISO 8601 (UTC if naive), or "none"')
    _key_options(parser)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `dc09` with its `decode`, `encode` and `send` verbs."""
    dc09 = subparsers.add_parser("dc09", help="SIA DC-09 frames: decode, encode, send")
    verbs = dc09.add_subparsers(dest="dc09_verb", required=True)

    dec = verbs.add_parser("decode", help="decode one frame and print it as JSON")
    dec.add_argument("frame", help='frame text with or without LF/CR, or "-" for stdin bytes')
    _key_options(dec)
    dec.set_defaults(func=run_decode)

    enc = verbs.add_parser("encode", help="print a frame (without LF and CR)")
    enc.add_argument("--token", required=True)
    enc.add_argument("--sequence", type=int, required=True)
    enc.add_argument("--data", default="")
    enc.add_argument("--pad-hex", default=None, help="fixed pad bytes (tests)")
    _message_options(enc)
    enc.set_defaults(func=run_encode)

    send = verbs.add_parser("send", help="send one message and print the answer")
    send.add_argument("--host", required=True)
    send.add_argument("--port", type=int, required=True)
    send.add_argument("--udp", action="store_true")
    send.add_argument("--token", required=True, choices=["SIA-DCS", "ADM-CID", "NULL"])
    send.add_argument("--sequence", type=int, default=1)
    send.add_argument("--data", default=None, help="data block; default: a periodic test")
    send.add_argument("--timeout", type=float, default=5.0)
    _message_options(send)
    send.set_defaults(func=run_send)
