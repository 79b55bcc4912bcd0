"""The receiver's ``mobile:`` section: people who carry a mobile panic button (a phone app).

Each person belongs to a site (an account of the receiver); a press raises a hold-up alarm on
that site with the person first on its call-back list (the site's hold-up plan: a call step
that calls ``person``, its ``answer_within`` the timer), the operator listens in, calls the
person back on the numbers listed here, asks for the code word, and hands to the police on the
duress word, a threat heard or no answer (docs/mobile.md).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from config.types import Duration

__all__ = ["Mobile", "Person"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: fields of an earlier version that the site's hold-up plan now carries
_MOVED = {
    "answer_within": "the hold-up plan's call-back step (call: [person, ...], answer_within: 60s)",
    "police_phone": "the hold-up plan's police step (dispatch: police, phone: ...)",
}


class Person(_Model):
    """Someone with a mobile panic button; ``phones`` (one or two) are called back in order."""

    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    name: Annotated[str, Field(min_length=1, max_length=80)]
    site: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")]
    role: Annotated[str, Field(pattern=r"^(official|keyholder|other)$")] = "official"
    phones: Annotated[list[Annotated[str, Field(max_length=40)]], Field(min_length=1, max_length=2)]
    #: said on the call-back when all is well / under threat; unset: the site's words
    code_word: SecretStr | None = None
    duress_word: SecretStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _moved(cls, data: Any) -> Any:
        for key, where in _MOVED.items():
            if isinstance(data, dict) and key in data:
                raise ValueError(f"{key} is no longer set per person: it is in {where}")
        return data

    @field_validator("phones")
    @classmethod
    def _dialable(cls, phones: list[str]) -> list[str]:
        for phone in phones:
            if not phone.replace(" ", "").lstrip("+").isdigit():
                raise ValueError(f"phone {phone!r} must be digits, spaces and a leading + only")
        return phones


class Mobile(_Model):
    """Mobile panic buttons: who has one, and the budgets of their alarms."""

    #: the address phones reach the receiver at (https://…); empty: the console's own address
    public_url: str = ""
    #: the microphone is switched off this long after a press at the latest
    mic_limit: Duration = timedelta(minutes=30)
    #: recordings are deleted this long after their alarm closed
    recording_retention: Duration = timedelta(days=30)
    #: a tile URL template (``https://tiles.example/{z}/{x}/{y}.png``) for an on-page map;
    #: empty: the console links to a map instead of drawing one
    tiles: str = ""
    #: where listen-in recordings are kept (0700); default: beside the SQLite store, or
    #: /var/lib/wachter/recordings with PostgreSQL
    recordings_dir: Path | None = None
    #: a one-time enrolment link stays valid this long
    enrol_valid: Duration = timedelta(hours=24)
    people: list[Person] = Field(default_factory=list)

    @field_validator("public_url")
    @classmethod
    def _url(cls, url: str) -> str:
        if url and not url.startswith(("https://", "http://")):
            raise ValueError(f"public_url {url!r} must start with https:// (phones need a secure origin)")
        return url.rstrip("/")

    @field_validator("tiles")
    @classmethod
    def _tiles(cls, url: str) -> str:
        if url and not (url.startswith(("https://", "http://")) and all(f"{{{p}}}" in url for p in "zxy")):
            raise ValueError(f"tiles {url!r} must be an http(s):// URL with {{z}}, {{x}} and {{y}}")
        return url

    @model_validator(mode="after")
    def _unique_people(self) -> Mobile:
        ids = [p.id for p in self.people]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"person {dupes[0]} is listed twice under mobile.people; keep one")
        return self

    def person(self, person_id: str) -> Person | None:
        return next((p for p in self.people if p.id == person_id), None)
