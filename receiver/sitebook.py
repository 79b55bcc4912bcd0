"""The site book: what an operator needs to know about each site (address, zones in words,
contacts, code and duress word, schedule, action plans per response), kept in the database
and edited on the admin screens; the receiver config (YAML) is its import/export format.

Import rule, per site: the config's entry for a site is written to the book when the book has
none, or when that entry in the config changed since it was last imported (the file wins and
the import is audited); otherwise the book, with its console edits, stands. The centre's
plans per response are the entry of the site ``*``.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from ruamel.yaml import YAML

from config.receiver import Account, Contact, PlanStep, ReceiverConfig, ResponseName, Zone
from receiver.audit import record
from receiver.db import Database, Tx
from receiver.store import Clock

__all__ = ["CENTRE_SITE", "SITEBOOK_SCHEMA", "SiteBook", "SiteEntry"]

CENTRE_SITE = "*"
IMPORTER = "config"
SITEBOOK_SCHEMA = """
CREATE TABLE IF NOT EXISTS site_book (
    site TEXT PRIMARY KEY,
    entry TEXT NOT NULL,
    source TEXT NOT NULL DEFAULT '',
    updated_at TEXT NOT NULL,
    updated_by TEXT NOT NULL
);
"""


class SiteEntry(BaseModel):
    """One site's record in the book (the centre's own, ``*``, holds only plans)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(max_length=120)] = ""
    address: Annotated[str, Field(max_length=200)] = ""
    code_word: Annotated[str, Field(max_length=60)] = ""
    duress_word: Annotated[str, Field(max_length=60)] = ""
    schedule: Annotated[str, Field(max_length=400)] = ""
    instructions: Annotated[str, Field(max_length=2000)] = ""
    zones: list[Zone] = Field(default_factory=list)
    contacts: list[Contact] = Field(default_factory=list)
    plans: dict[ResponseName, list[PlanStep]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _unique_zones(self) -> Self:
        numbers = [z.zone for z in self.zones]
        dupes = sorted({n for n in numbers if numbers.count(n) > 1})
        if dupes:
            raise ValueError(f"zone {dupes[0]} is listed twice; keep one entry per zone")
        return self

    @classmethod
    def of(cls, account: Account) -> SiteEntry:
        return cls(
            name=account.name,
            address=account.address,
            code_word=account.code_word.get_secret_value() if account.code_word else "",
            duress_word=account.duress_word.get_secret_value() if account.duress_word else "",
            schedule=account.schedule,
            instructions=account.instructions,
            zones=account.zones,
            contacts=account.contacts,
            plans=account.plans(),
        )

    def zone(self, number: str | int | None) -> Zone | None:
        """The zone a panel reports as ``number`` ("013", "13" and 13 are the same zone)."""
        if number is None or not str(number).strip().isdigit():
            return None
        wanted = int(str(number))
        return next((z for z in self.zones if z.zone == wanted), None)

    def device(self, device_id: str) -> Zone | None:
        return next((z for z in self.zones if z.device and z.device == device_id), None)

    def digest(self) -> str:
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()


class SiteBook:
    """Reads and writes the book; every change commits together with its audit row."""

    def __init__(
        self, db: Database, clock: Clock, defaults: Mapping[ResponseName, Sequence[PlanStep]]
    ) -> None:
        self.db, self.clock = db, clock
        self.defaults = defaults  # the last resort, per response (config.receiver.DEFAULT_PLANS)

    async def import_config(self, config: ReceiverConfig) -> list[str]:
        """Write the config's entries that are new or changed since their last import."""
        wanted = {a.site: SiteEntry.of(a) for a in config.accounts}
        wanted[CENTRE_SITE] = SiteEntry(plans=config.action_plans)
        rows = await self.db.all("SELECT site, source FROM site_book")
        known = {str(r[0]): str(r[1]) for r in rows}
        changed = [site for site, entry in wanted.items() if known.get(site) != entry.digest()]
        if not changed:
            return []
        now = self.clock()
        async with self.db.transaction() as tx:
            for site in changed:
                entry = wanted[site]
                await self._write(tx, site, entry, IMPORTER, source=entry.digest())
                what = "imported from the receiver config" + (" (it changed)" if site in known else "")
                await record(tx, now, IMPORTER, "site_imported", f"site:{site}", what)
        return changed

    async def _write(self, tx: Tx, site: str, entry: SiteEntry, who: str, *, source: str | None) -> None:
        now = self.clock().isoformat()
        keep_source = "site_book.source" if source is None else "excluded.source"
        await tx.execute(
            "INSERT INTO site_book (site, entry, source, updated_at, updated_by) VALUES (?,?,?,?,?)"  # noqa: S608
            f" ON CONFLICT(site) DO UPDATE SET entry = excluded.entry, source = {keep_source},"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (site, entry.model_dump_json(), source or "", now, who),
        )

    async def save(self, site: str, entry: SiteEntry, who: str, what: str) -> None:
        """An admin's edit: stored, audited; it stands until the config's entry changes."""
        async with self.db.transaction() as tx:
            await self._write(tx, site, entry, who, source=None)
            await record(tx, self.clock(), who, "site_edited", f"site:{site}", what[:500])

    async def get(self, site: str) -> SiteEntry:
        row = await self.db.one("SELECT entry FROM site_book WHERE site = ?", (site,))
        return SiteEntry.model_validate_json(row[0]) if row else SiteEntry()

    async def entries(self) -> dict[str, SiteEntry]:
        rows = await self.db.all("SELECT site, entry FROM site_book ORDER BY site")
        return {str(r[0]): SiteEntry.model_validate_json(r[1]) for r in rows}

    async def names(self) -> dict[str, str]:
        """Each site's name, for lists (the queue, the sites board)."""
        rows = await self.db.all("SELECT site, entry FROM site_book WHERE site <> ?", (CENTRE_SITE,))
        return {str(r[0]): str(json.loads(r[1]).get("name", "")) for r in rows}

    async def plan(self, site: str, response: ResponseName) -> list[PlanStep]:
        """The site's own plan for a response, else the centre's, else the built-in one."""
        for owner in (site, CENTRE_SITE):
            plans = (await self.get(owner)).plans
            if response in plans:
                return list(plans[response])
        return list(self.defaults.get(response, ()))

    async def updated(self, site: str) -> tuple[datetime, str] | None:
        row = await self.db.one("SELECT updated_at, updated_by FROM site_book WHERE site = ?", (site,))
        return (datetime.fromisoformat(row[0]), str(row[1])) if row else None

    async def export_yaml(self, accounts: Sequence[Account]) -> str:
        """The book as the receiver config's ``accounts`` (site book fields merged into each
        configured account; keys are not exported) and ``action_plans``: paste to keep edits."""
        entries = await self.entries()
        out: list[dict[str, Any]] = []
        for account in accounts:
            entry = entries.get(account.site, SiteEntry.of(account))
            book = entry.model_dump(mode="json", exclude_defaults=True)
            plans = book.pop("plans", {})
            fields: dict[str, Any] = {"account": account.account, "site": account.site, **book}
            if plans:
                fields["action_plans"] = plans
            out.append(fields)
        centre = entries.get(CENTRE_SITE, SiteEntry())
        doc: dict[str, Any] = {"accounts": out}
        if centre.plans:
            doc["action_plans"] = centre.model_dump(mode="json")["plans"]
        yaml = YAML()
        yaml.default_flow_style = False
        buffer = io.StringIO()
        buffer.write("# Site book export: merge into the receiver config (keys are not exported).\n")
        yaml.dump(doc, buffer)
        return buffer.getvalue()
