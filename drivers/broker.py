"""Where a driver's MQTT connection goes, and how long it waits before trying again."""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlsplit

from config.site import Mqtt

__all__ = ["Backoff", "Broker"]


@dataclass(frozen=True)
class Broker:
    """Address and credentials of the broker, parsed once from the site's ``mqtt`` section."""

    host: str
    port: int = 1883
    tls: bool = False
    username: str | None = None
    password: str | None = None
    keepalive: int = 30

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
        )

    def __repr__(self) -> str:  # never show the password
        return f"Broker({self.host}:{self.port}, tls={self.tls}, user={self.username!r})"


@dataclass(frozen=True)
class Backoff:
    """Exponential reconnect delay with jitter, so a fleet does not reconnect in lock-step."""

    first: float = 0.2
    factor: float = 2.0
    cap: float = 2.0  # the broker is on the same Pi: a press must not wait long after it returns

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.first * self.factor ** min(attempt, 30))
        return base * random.uniform(0.75, 1.0)
