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

__all__ = [
    "DEFAULT_PLANS",
    "RESPONSES",
    "Account",
    "Alerting",
    "Console",
    "Contact",
    "Http",
    "Limits",
    "PlanStep",
    "ReceiverConfig",
    "ResponseName",
    "Zone",
    "redact_url",
]

#: what the operator does about an alarm; each is its own alarm with its own plan
#: (the receiver's ``receiver.alarms.Response`` has the same values)
ResponseName = Literal["holdup", "fire", "burglary", "tamper", "technical"]
RESPONSES: tuple[ResponseName, ...] = ("holdup", "fire", "burglary", "tamper", "technical")
Dispatch = Literal["", "police", "fire_brigade", "ambulance", "guard"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Contact(_Model):
    """Someone the operator calls: the official, a keyholder, the police desk."""

    name: Annotated[str, Field(min_length=1, max_length=80)]
    role: Annotated[
        str, Field(pattern=r"^(site|official|keyholder|police|fire_brigade|guard|other)$")
    ] = "keyholder"
    phone: Annotated[str, Field(max_length=40)] = ""
    alt_phone: Annotated[str, Field(max_length=40)] = ""  # called after ``phone`` on a call list


class Zone(_Model):
    """A zone number as the panel reports it, in words: "13" is the bedroom window."""

    zone: Annotated[int, Field(ge=0, le=999)]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    device: Annotated[str, Field(max_length=64)] = ""  # the agent's device id (evidence names it)
    location: Annotated[str, Field(max_length=120)] = ""


class PlanStep(_Model):
    """One step of an action plan; required steps must be done (or skipped, with a reason)
    before closing.

    A *call step* (``call``) lists whom to call, in order: contact roles or names, or
    ``person`` (whoever raised the alarm: a mobile panic button's owner; at a home, the
    official). With ``verifies``, its outcome decides the alarm: code word correct -> cleared
    (steps with ``skip_when_cleared`` are no longer needed); duress word, wrong code word,
    nobody reached, or no answer within ``answer_within`` of the alarm opening -> escalated.
    A *dispatch step* (``dispatch``) passes the alarm on (police, fire brigade, ...).
    """

    text: Annotated[str, Field(min_length=1, max_length=200)]
    phone: Annotated[str, Field(max_length=40)] = ""  # a number for a plain step (a desk to call)
    required: bool = True
    call: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(default_factory=list)
    verifies: bool = False
    answer_within: Duration | None = None
    dispatch: Dispatch = ""
    skip_when_cleared: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.verifies or self.answer_within is not None) and not self.call:
            raise ValueError("verifies/answer_within need a call list (call: [person, keyholder])")
        if self.answer_within is not None and not self.verifies:
            raise ValueError("answer_within only applies to a call step that verifies (verifies: true)")
        return self


def _steps(*steps: dict[str, object]) -> list[PlanStep]:
    return [PlanStep.model_validate(s) for s in steps]


#: Plans per response when neither the site nor the receiver config names one: Dutch practice
#: (reference standards.md B6): verify a hold-up by listening in and calling back before the
#: police; verified or unreachable -> police at priority 1; a fire -> the fire brigade.
DEFAULT_PLANS: dict[ResponseName, list[PlanStep]] = {
    "holdup": _steps(
        {"text": "Listen in / view camera snapshots to verify"},
        {"text": "Call back the person and ask for the code word", "call": ["person", "official"],
         "verifies": True, "answer_within": "60s"},
        {"text": "Pass to police at priority 1 (verified, duress or unreachable)", "dispatch": "police",
         "skip_when_cleared": True},
        {"text": "Inform the keyholder", "call": ["keyholder"], "required": False},
    ),
    "fire": _steps(
        {"text": "Alert the fire brigade (112) with address and zone", "dispatch": "fire_brigade"},
        {"text": "Call the residents: is everyone out?", "call": ["official", "keyholder"]},
        {"text": "Inform the keyholder", "call": ["keyholder"], "required": False},
    ),
    "burglary": _steps(
        {"text": "View camera snapshots and the zones that tripped"},
        {"text": "Call the residents and ask for the code word", "call": ["official", "keyholder"],
         "verifies": True, "answer_within": "120s"},
        {"text": "Verified (or verified burglary): pass to police", "dispatch": "police",
         "skip_when_cleared": True},
    ),
    "tamper": _steps(
        {"text": "Check the zone and the camera snapshots"},
        {"text": "Call the residents", "call": ["official", "keyholder"], "verifies": True},
        {"text": "Send a guard or technician", "dispatch": "guard", "skip_when_cleared": True},
    ),
    "technical": _steps(
        {"text": "Check the site's link and last events"},
        {"text": "Inform the residents / installer", "call": ["official", "keyholder"], "required": False},
    ),
}


class Account(_Model):
    account: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{1,16}$")]
    site: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    name: str = ""
    address: str = ""  # the street address the police or fire brigade is sent to
    key: KeySpec | None = None  # None: plain frames only
    poll_interval: Duration = timedelta(seconds=90)
    window_before: Duration = timedelta(seconds=40)  # timestamp may lag this much
    window_after: Duration = timedelta(seconds=20)  # and lead this much
    poll_grace: Duration = timedelta(seconds=30)  # a poll later than interval + grace is missed
    code_word: SecretStr | None = None  # asked on the call-back; shown to operators only
    duress_word: SecretStr | None = None  # said under threat: police, without letting on
    schedule: str = ""  # when the home is usually armed, in words ("armed nights 23:00-07:00")
    instructions: str = ""  # standing instructions for operators
    zones: list[Zone] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    action_plans: dict[ResponseName, list[PlanStep]] = Field(default_factory=dict)
    #: the plan before plans per response: read as ``action_plans.holdup`` (what it was written for)
    action_plan: list[PlanStep] = Field(default_factory=list)

    def plans(self) -> dict[ResponseName, list[PlanStep]]:
        """This site's own plans per response (the legacy ``action_plan`` as the hold-up plan)."""
        if self.action_plan and "holdup" not in self.action_plans:
            return {"holdup": self.action_plan, **self.action_plans}
        return dict(self.action_plans)


class Http(_Model):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 8080


class Console(_Model):
    """Operators' console: cookies marked Secure when served over TLS (or behind a TLS proxy)."""

    secure_cookies: bool = False
    session_ttl: Duration = timedelta(hours=12)
    login_attempts: Annotated[int, Field(ge=1)] = 5  # failures per user or address per window
    login_window: Duration = timedelta(minutes=5)


EscalationKey = Literal["default", "holdup", "fire", "burglary", "tamper", "technical"]


def _escalation_defaults() -> dict[EscalationKey, timedelta]:
    return {"default": timedelta(seconds=90), "holdup": timedelta(seconds=30)}


class Alerting(_Model):
    """An alarm nobody takes within ``escalate_after`` (per response; ``default`` for the rest)
    goes to the supervisors, with a louder sound."""

    escalate_after: dict[EscalationKey, Duration] = Field(default_factory=_escalation_defaults)
    #: how often a console repeats the sound of an alarm nobody acknowledged
    repeat_every: Annotated[Duration, Field(ge=timedelta(milliseconds=200), le=timedelta(seconds=30))] = (
        timedelta(seconds=2)
    )

    def escalation_delay(self, response: str) -> timedelta:
        for key, delay in self.escalate_after.items():
            if key == response:
                return delay
        return self.escalate_after.get("default", timedelta(seconds=90))


class Limits(_Model):
    """What one sender, one address, one upload and one database call may cost the receiver.

    A sender over budget is cut off and counted; docs/security.md explains each limit.
    """

    connections: Annotated[int, Field(ge=1)] = 4096  # open DC-09 TCP connections, all senders
    connections_per_address: Annotated[int, Field(ge=1)] = 64  # one address may hide a NAT
    frame_timeout: Duration = timedelta(seconds=20)  # to complete a frame once begun, or the first one
    idle_timeout: Duration = timedelta(seconds=120)  # quiet between frames; senders poll within it
    max_frame: Annotated[int, Field(ge=64, le=65536)] = 8192  # bytes between LF and CR
    garbage_bytes: Annotated[int, Field(ge=1024)] = 16384  # bytes in a row without a valid frame
    errors_per_second: Annotated[float, Field(gt=0)] = 5.0  # refused frames per connection or UDP source
    error_burst: Annotated[int, Field(ge=1)] = 30  # ... of which this many at once
    ban: Duration = timedelta(seconds=10)  # an address cut off for abuse is refused this long (0: never)
    log_interval: Duration = timedelta(seconds=60)  # one line per kind of refusal per interval
    evidence_bytes: Annotated[int, Field(ge=1024, le=64 * 1024 * 1024)] = 2 * 1024 * 1024
    database_timeout: Duration = timedelta(seconds=10)  # a PostgreSQL call that takes longer fails

    @model_validator(mode="after")
    def _sane_times(self) -> Self:
        for name in ("frame_timeout", "idle_timeout", "log_interval", "database_timeout"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"limits.{name} must be longer than 0s")
        if self.ban < timedelta(0):
            raise ValueError("limits.ban must be 0s (off) or longer")
        return self


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
    alerting: Alerting = Alerting()
    #: the centre's plans per response (missing ones: DEFAULT_PLANS); a site's own plan for a
    #: response replaces the centre's
    action_plans: dict[ResponseName, list[PlanStep]] = Field(default_factory=dict)
    limits: Limits = Limits()
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

    def centre_plans(self) -> dict[ResponseName, list[PlanStep]]:
        return {**DEFAULT_PLANS, **self.action_plans}

    @property
    def store_kind(self) -> Literal["sqlite", "postgresql"]:
        return "sqlite" if self.store.startswith("sqlite:") else "postgresql"

    @property
    def store_path(self) -> Path:
        """The SQLite file; a PostgreSQL store has none."""
        if self.store_kind != "sqlite":
            raise ValueError(f"store {redact_url(self.store)!r} is not a SQLite file")
        return Path(self.store.removeprefix("sqlite://"))
