"""MQTT accounts of a site and the mosquitto files that enforce them: password file and ACL.

One account per device (``device.<id>``) may publish only its own topics and read only its own
``set``/``confirm``; the agent reads the whole site and alone publishes panel state and device
commands; a ``ui.<name>`` account (Home Assistant) reads only what Home Assistant shows and may
send panel commands: never a covert (hold-up) device's own topics, device commands or snapshots,
which would tell of a silent alarm.
Passwords are stored as mosquitto's PBKDF2-SHA512 ``$7$`` hashes, the format of mosquitto_passwd.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from typing import Literal

from agent.discovery import PREFIX, read_topics
from config.site import ZIGBEE_ADAPTER, Site
from protocol.mqtt import ROOT, Channel

__all__ = [
    "AGENT",
    "ZIGBEE_ADAPTER",
    "Account",
    "accounts_for",
    "acl_text",
    "mosquitto_hash",
    "verify_mosquitto_hash",
]

AGENT = "agent"
ITERATIONS = 101  # mosquitto_passwd's default
DEVICE_WRITES = (Channel.STATE, Channel.EVENT, Channel.AVAILABILITY, Channel.HEARTBEAT, Channel.SNAPSHOT)
DEVICE_READS = (Channel.SET, Channel.CONFIRM)


@dataclass(frozen=True)
class Account:
    username: str
    role: Literal["agent", "device", "ui", "zigbee"]
    device: str | None = None


def accounts_for(site: Site, ui: list[str] | None = None) -> list[Account]:
    """Every account the site needs, agent first; the Zigbee adapter only when a device uses it."""
    out = [Account(AGENT, "agent")]
    out += [Account(site.mqtt.device_username(d.id), "device", d.id) for d in site.devices]
    if any(d.zigbee is not None for d in site.devices):
        out.append(Account(ZIGBEE_ADAPTER, "zigbee"))
    out += [Account(f"ui.{name}", "ui") for name in ui or []]
    return out


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(password: str, stored: str) -> bool:
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    salt, digest = base64.b64decode(parts[3]), base64.b64decode(parts[4])
    candidate = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, int(parts[2]), len(digest))
    return hmac.compare_digest(candidate, digest)


def _rules(site: Site, account: Account) -> list[str]:
    base = f"{ROOT}/{site.id}"
    if account.role == "agent":
        return [
            f"topic read {base}/#",
            *(f"topic write {base}/panel/{c.value}" for c in (Channel.STATE, Channel.EVENT,
                                                              Channel.AVAILABILITY)),
            *(f"topic write {base}/device/+/{c.value}" for c in DEVICE_READS),
            "topic write homeassistant/#",
        ]
    if account.role == "device":
        own = f"{base}/device/{account.device}"
        return [
            *(f"topic write {own}/{c.value}" for c in DEVICE_WRITES),
            *(f"topic read {own}/{c.value}" for c in DEVICE_READS),
        ]
    if account.role == "zigbee":
        return ["topic read zigbee2mqtt/#"]
    # exactly what Home Assistant's entities subscribe to (agent/discovery.py), nothing more
    return [f"topic read {PREFIX}/#", *(f"topic read {t}" for t in read_topics(site)),
            f"topic write {base}/panel/set", f"topic write {PREFIX}/status"]


def acl_text(site: Site, accounts: list[Account]) -> str:
    """A mosquitto ``acl_file``: what is not granted here is denied."""
    lines = [
        f"# Wachter MQTT ACL for site {site.id}, made by `wachter keys mqtt`; do not edit by hand.",
        "# Anything not granted below is denied (mosquitto acl_file semantics).",
    ]
    for account in accounts:
        lines += ["", f"user {account.username}", *_rules(site, account)]
    return "\n".join(lines) + "\n"
