"""Where a driver's MQTT connection goes, as which account, and how long it waits to retry."""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import aiomqtt

from config.site import Mqtt, Site

__all__ = ["Backoff", "Broker", "device_broker"]


@dataclass(frozen=True)
class Broker:
    """Address and credentials of the broker, parsed once from the site's ``mqtt`` section."""

    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = None
    keepalive: int = 30
    ca_file: Path | None = None  # None: the system's CAs (mqtts:// only)
    cert_file: Path | None = None  # client certificate, when the broker asks for one
    key_file: Path | None = None
    protocol: str = "5"  # the site's mqtt.protocol: "5" or "3.1.1"

    @property
    def v5(self) -> bool:
        return self.protocol == "5"

    @property
    def version(self) -> aiomqtt.ProtocolVersion:
        return aiomqtt.ProtocolVersion.V5 if self.v5 else aiomqtt.ProtocolVersion.V311

    @classmethod
    def from_config(cls, mqtt: Mqtt) -> Broker:
        parts = urlsplit(mqtt.url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError(f"mqtt.url {mqtt.url!r}: write mqtt://host:port or mqtts://host:port")
        tls = parts.scheme == "mqtts"
        password = None
        if mqtt.password_file is not None:
            password = mqtt.password_file.read_text(encoding="utf-8").strip()
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=mqtt.username,
            password=password,
            keepalive=mqtt.keepalive,
            ca_file=mqtt.ca_file,
            cert_file=mqtt.cert_file,
            key_file=mqtt.key_file,
            protocol=mqtt.protocol,
        )

    def tls_params(self) -> aiomqtt.TLSParameters | None:
        """What aiomqtt needs for mqtts://: the home's CA and, if set, the client certificate."""
        if not self.tls:
            return None
        return aiomqtt.TLSParameters(
            ca_certs=str(self.ca_file) if self.ca_file else None,
            certfile=str(self.cert_file) if self.cert_file else None,
            keyfile=str(self.key_file) if self.key_file else None,
        )

    def __repr__(self) -> str:  # never show the password
        return f"Broker({self.host}:{self.port}, tls={self.tls}, user={self.username!r})"


def device_broker(site: Site, base: Broker, username: str) -> Broker:
    """``base`` as the account ``username`` when ``mqtt.credentials_dir`` is set (`wachter keys mqtt`).

    The account's folder holds its ``password`` and, for mqtts://, its own ``ca.crt``,
    ``client.crt`` and ``client.key``; a certificate file that is not there keeps ``base``'s.
    """
    folder = site.mqtt.credentials_dir
    if folder is None:
        return base
    account = folder / username
    try:
        password = (account / "password").read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ValueError(
            f"MQTT account {username}: cannot read {account / 'password'} ({exc.strerror}); "
            "run `wachter keys mqtt` for this site"
        ) from exc

    def own(name: str, fallback: Path | None) -> Path | None:
        path = account / name
        return path if base.tls and path.is_file() else fallback

    return replace(
        base,
        username=username,
        password=password,
        ca_file=own("ca.crt", base.ca_file),
        cert_file=own("client.crt", base.cert_file),
        key_file=own("client.key", base.key_file),
    )


@dataclass(frozen=True)
class Backoff:
    """Exponential reconnect delay with jitter, so a fleet does not reconnect in lock-step."""

    first: float = 0.2
    factor: float = 2.0
    cap: float = 2.0  # the broker is on the same Pi: a press must not wait long after it returns

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.first * self.factor ** min(attempt, 30))
        return base * random.uniform(0.75, 1.0)
