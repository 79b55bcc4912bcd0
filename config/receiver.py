"""Schema of the alarm centre's receiver: listeners, accounts with keys, store, HTTP."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from config.mobile import Mobile
from config.types import Duration, Endpoint, KeySpec

__all__ = ["Account", "Console", "Contact", "Http", "PlanStep", "ReceiverConfig", "redact_url"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Model):
    """Someone the operator calls: the official, a keyholder, the police desk."""

    name: str
    role: Annotated[str, Field(pattern=r"^(site|official|keyholder|police|guard|other)$")] = "keyholder"
    phone: str = ""


class PlanStep(_Model):
    """One step of a site's action plan; required steps must be ticked before closing."""

    text: str
    phone: str = ""
    required: bool = True


class Account(_Model):
    account: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{1,16}$")]
    site: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    name: str = ""
    key: KeySpec | None = None  # None: plain frames only
    poll_interval: Duration = timedelta(seconds=90)
    window_before: Duration = timedelta(seconds=40)  # timestamp may lag this much
    window_after: Duration = timedelta(seconds=20)  # and lead this much
    poll_grace: Duration = timedelta(seconds=30)  # a poll later than interval + grace is missed
    code_word: SecretStr | None = None  # asked on the call-back; shown to operators only
    contacts: list[Contact] = Field(default_factory=list)
    action_plan: list[PlanStep] = Field(default_factory=list)


class Http(_Model):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080


class Console(_Model):
    """Operators' console: cookies marked Secure when served over TLS (or behind a TLS proxy)."""

    secure_cookies: bool = False
    session_ttl: Duration = timedelta(hours=12)
    login_attempts: Annotated[int, Field(ge=1)] = 5  # failures per user or address per window
    login_window: Duration = timedelta(minutes=5)


def redact_url(url: str) -> str:
    """A store URL fit for logs and error messages: any password replaced by ``***``."""
    parts = urlsplit(url)
    netloc, query = parts.netloc, re.sub(r"(?i)\b(password=)[^&]*", r"\1***", parts.query)
    if parts.password is not None:
        netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
    if (netloc, query) == (parts.netloc, parts.query):
        return url
    return parts._replace(netloc=netloc, query=query).geturl()


class ReceiverConfig(_Model):
    # a store URL may carry a password: never echo rejected input in validation errors
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    listen: Annotated[list[Endpoint], Field(min_length=1)] = ["tcp://127.0.0.1:9000"]
    store: str = "sqlite:///var/lib/wachter/receiver.db"
    http: Http = Http()
    console: Console = Console()
    accounts: list[Account] = Field(default_factory=list)
    mobile: Mobile = Mobile()  # mobile panic buttons (config/mobile.py)

    @field_validator("store")
    @classmethod
    def _known_store(cls, url: str) -> str:
        """``sqlite:///PATH`` (one process) or ``postgresql://user:password@host:port/db``."""
        if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
            return url
        if url.startswith(("postgresql://", "postgres://")):
            return url
        raise ValueError(
            f"unsupported store {redact_url(url)!r}; write sqlite:///PATH (one receiver) or"
            " postgresql://USER:PASSWORD@HOST:PORT/DB (several receivers on one database)"
        )

    @model_validator(mode="after")
    def _unique_accounts(self) -> Self:
        ids = [a.account.upper() for a in self.accounts]
        dupes = sorted({a for a in ids if ids.count(a) > 1})
        if dupes:
            raise ValueError(f"account {dupes[0]} is listed twice; keep one entry per account")
        sites = {a.site for a in self.accounts}
        for person in self.mobile.people:
            if person.site not in sites:
                raise ValueError(f"mobile person {person.id} has site {person.site!r}, which no account"
                                 " has; use the site of one of the accounts")
        return self

    @property
    def store_kind(self) -> Literal["sqlite", "postgresql"]:
        return "sqlite" if self.store.startswith("sqlite:") else "postgresql"

    @property
    def store_path(self) -> Path:
        """The SQLite file; a PostgreSQL store has none."""
        if self.store_kind != "sqlite":
            raise ValueError(f"store {redact_url(self.store)!r} is not a SQLite file")
        return Path(self.store.removeprefix("sqlite://"))
