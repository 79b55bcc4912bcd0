"""``wachter keys``: DC-09 keys, per-account MQTT credentials, mosquitto password/ACL files, TLS CA.

Every file is written 0600 in a 0700 directory, atomically, and kept on a re-run (add a device
and run again: only its files are new); ``--rotate`` replaces passwords, keys and certificates.

Layout of ``--out DIR`` (``--broker-dir`` defaults to ``DIR/broker``)::

    ca/ca.crt, ca/ca.key                    the home's private CA (keep the key offline if you can)
    clients/<username>/password             one per account: agent, device.<id>, ui.<name>
    clients/<username>/ca.crt, client.crt, client.key
    broker/passwd, broker/acl               mosquitto password_file and acl_file
    broker/ca.crt, server.crt, server.key   the broker's TLS identity
    broker/wachter.conf                     mosquitto config: include it from /etc/mosquitto/conf.d
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.loader import ConfigError, load_site
from config.site import Site
from wachter.mqtt_accounts import (
    AGENT,
    Account,
    accounts_for,
    acl_text,
    mosquitto_hash,
    verify_mosquitto_hash,
)
from wachter.tls import Issued, issue, make_ca

__all__ = ["KeyPlan", "add_parser", "dc09_key", "write_mqtt", "write_secret"]

DC09_BITS = (128, 192, 256)


def dc09_key(bits: int = 128) -> str:
    """A DC-09 AES key in the config's ``hex:`` notation."""
    if bits not in DC09_BITS:
        raise ValueError("DC-09 keys have 128, 192 or 256 bits")
    return "hex:" + secrets.token_hex(bits // 8).upper()


def secret_dir(path: Path) -> Path:
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write_secret(path: Path, data: bytes | str, *, keep: bool = False) -> bool:
    """Write ``data`` 0600 via a temporary file and rename; with ``keep`` leave an existing file."""
    if keep and path.exists():
        path.chmod(0o600)
        return False
    secret_dir(path.parent)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


@dataclass
class KeyPlan:
    """What ``wachter keys mqtt`` makes for one site."""

    site: Site
    out: Path
    broker_dir: Path | None = None
    hosts: list[str] = field(default_factory=lambda: ["localhost", socket.gethostname(), "127.0.0.1", "::1"])
    ui: list[str] = field(default_factory=list)
    port: int | None = 1883  # plain listener on loopback only; None: TLS only
    tls_port: int = 8883
    tls_bind: str | None = None  # None: every interface (the TLS listener serves the LAN)
    rotate: bool = False
    root: Path | None = None  # write under this root; the paths inside the files stay as given

    def fs(self, path: Path) -> Path:
        """Where ``path`` (as the installed system sees it) is written."""
        return self.root / path.relative_to(path.anchor) if self.root else path

    @property
    def broker(self) -> Path:
        return self.broker_dir or self.out / "broker"

    def client_dir(self, username: str) -> Path:
        return self.out / "clients" / username


def _pem_pair(cert_path: Path, key_path: Path, make: Any, rotate: bool) -> Issued:
    if not rotate and cert_path.exists() and key_path.exists():
        return Issued(cert_path.read_bytes(), key_path.read_bytes())
    made: Issued = make()
    write_secret(key_path, made.key)
    write_secret(cert_path, made.cert)
    return made


def _password(plan: KeyPlan, account: Account) -> str:
    path = plan.fs(plan.client_dir(account.username) / "password")
    write_secret(path, secrets.token_urlsafe(24) + "\n", keep=not plan.rotate)
    return path.read_text().strip()


def _passwd(plan: KeyPlan, passwords: dict[str, str]) -> str:
    """The password file; lines that still match their password are kept, so re-runs are quiet."""
    old: dict[str, str] = {}
    path = plan.fs(plan.broker / "passwd")
    if path.exists():
        for line in path.read_text().splitlines():
            user, _, stored = line.partition(":")
            old[user] = stored
    lines = []
    for user, password in passwords.items():
        stored = old.get(user, "")
        if not verify_mosquitto_hash(password, stored):
            stored = mosquitto_hash(password)
        lines.append(f"{user}:{stored}")
    return "\n".join(lines) + "\n"


def broker_conf(plan: KeyPlan) -> str:
    b = plan.broker
    plain = (
        f"# plain MQTT for the drivers on this Pi only (loopback)\nlistener {plan.port} 127.0.0.1\n\n"
        if plan.port
        else ""
    )
    return (
        "# Wachter broker settings, made by `wachter keys mqtt`.\n"
        "per_listener_settings false\n"
        "allow_anonymous false\n"
        "# a panic press must not wait for Nagle's algorithm (about 40 ms per hop)\n"
        "set_tcp_nodelay true\n"
        f"password_file {b / 'passwd'}\n"
        f"acl_file {b / 'acl'}\n\n"
        f"{plain}"
        "# MQTT over TLS: a certificate from the home's CA is the account (its CN is the user\n"
        "# name, whatever name and password the client sends), so a device's certificate can\n"
        "# only ever act as that device\n"
        f"listener {plan.tls_port}{' ' + plan.tls_bind if plan.tls_bind else ''}\n"
        f"cafile {b / 'ca.crt'}\n"
        f"certfile {b / 'server.crt'}\n"
        f"keyfile {b / 'server.key'}\n"
        "require_certificate true\n"
        "use_identity_as_username true\n"
        "tls_version tlsv1.2\n"
    )


def write_mqtt(plan: KeyPlan) -> list[Account]:
    """Make (or complete) every MQTT credential of the site; returns the accounts."""
    accounts = accounts_for(plan.site, plan.ui)
    secret_dir(plan.fs(plan.out / "clients"))
    secret_dir(plan.fs(plan.out))
    ca_dir, broker = secret_dir(plan.fs(plan.out / "ca")), secret_dir(plan.fs(plan.broker))
    ca = _pem_pair(ca_dir / "ca.crt", ca_dir / "ca.key", lambda: make_ca(plan.site.id), plan.rotate)
    write_secret(broker / "ca.crt", ca.cert)
    server_names = list(dict.fromkeys(plan.hosts))
    _pem_pair(broker / "server.crt", broker / "server.key",
              lambda: issue(ca, server_names[0], server_names=server_names), plan.rotate)
    passwords: dict[str, str] = {}
    for account in accounts:
        client = secret_dir(plan.fs(plan.client_dir(account.username)))
        passwords[account.username] = _password(plan, account)
        write_secret(client / "ca.crt", ca.cert)
        _pem_pair(client / "client.crt", client / "client.key",
                  lambda a=account: issue(ca, a.username), plan.rotate)
    write_secret(broker / "passwd", _passwd(plan, passwords))
    write_secret(broker / "acl", acl_text(plan.site, accounts))
    write_secret(broker / "wachter.conf", broker_conf(plan))
    return accounts


def site_snippet(plan: KeyPlan) -> str:
    agent = plan.client_dir(AGENT)
    return (
        "mqtt:\n"
        f"  url: mqtts://{plan.hosts[0]}:{plan.tls_port}\n"
        f"  username: {AGENT}\n"
        f"  password_file: {agent / 'password'}\n"
        f"  ca_file: {agent / 'ca.crt'}\n"
        f"  cert_file: {agent / 'client.crt'}\n"
        f"  key_file: {agent / 'client.key'}\n"
        f"  credentials_dir: {plan.out / 'clients'}\n"
    )


def _cmd_dc09(args: argparse.Namespace) -> int:
    key = dc09_key(args.bits)
    if args.out:
        write_secret(Path(args.out), key + "\n", keep=not args.rotate)
        print(f"{args.out}: DC-09 key (AES-{args.bits}); paste it into site.yaml and receiver.yaml")
    else:
        print(key)
    return 0


def _cmd_mqtt(args: argparse.Namespace) -> int:
    try:
        site = load_site(Path(args.config))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    root = Path(args.root).resolve() if args.root else None
    broker_dir = Path(args.broker_dir).absolute() if args.broker_dir else None
    plan = KeyPlan(site, Path(args.out).absolute(), broker_dir,
                   ui=args.ui, port=args.port or None, tls_port=args.tls_port, tls_bind=args.tls_bind,
                   rotate=args.rotate, root=root)
    if args.host:
        plan.hosts = list(args.host)
    accounts = write_mqtt(plan)
    print(f"{len(accounts)} MQTT accounts for site {site.id} in {plan.out}; broker files in {plan.broker}")
    print(f"mosquitto: include {plan.broker / 'wachter.conf'} (e.g. from /etc/mosquitto/conf.d/)")
    print("site.yaml:\n" + site_snippet(plan))
    return 0


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``wachter keys dc09`` and ``wachter keys mqtt``."""
    parser: argparse.ArgumentParser = sub.add_parser("keys", help="make DC-09 keys and MQTT credentials")
    kinds = parser.add_subparsers(dest="kind", required=True)
    dc09 = kinds.add_parser("dc09", help="a fresh DC-09 AES key (hex)")
    dc09.add_argument("--bits", type=int, choices=DC09_BITS, default=128)
    dc09.add_argument("--out", help="write to this file (0600) instead of printing")
    dc09.add_argument("--rotate", action="store_true", help="replace an existing --out file")
    dc09.set_defaults(func=_cmd_dc09)
    mqtt = kinds.add_parser("mqtt", help="accounts, mosquitto passwd/acl, CA and certificates")
    mqtt.add_argument("--config", required=True, help="site YAML file")
    mqtt.add_argument("--out", required=True, help="directory for CA and client credentials")
    mqtt.add_argument("--broker-dir", help="directory mosquitto reads (default OUT/broker)")
    mqtt.add_argument("--host", action="append", help="broker name or address for its certificate (repeat)")
    mqtt.add_argument("--ui", action="append", default=[], help="a ui.<NAME> account (Home Assistant)")
    mqtt.add_argument("--port", type=int, default=1883, help="plain loopback listener; 0 for TLS only")
    mqtt.add_argument("--tls-port", type=int, default=8883)
    mqtt.add_argument("--tls-bind", help="address of the TLS listener (default: every interface)")
    mqtt.add_argument("--rotate", action="store_true", help="new passwords, keys and certificates")
    mqtt.add_argument("--root", help="write under this root (an image); paths in the files stay as given")
    mqtt.set_defaults(func=_cmd_mqtt)
    return parser
