"""Who may use the console and the API: users with roles, sessions, API tokens, login limits.

Passwords are hashed with scrypt; session ids and API tokens are random and stored only as
SHA-256 digests, so a copy of the database opens no door.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

import asyncpg

from receiver.audit import record
from receiver.db import Database, Tx
from receiver.store import Clock

__all__ = [
    "AUTH_SCHEMA",
    "Accounts",
    "LoginLimiter",
    "Principal",
    "Role",
    "Scope",
    "Session",
    "TokenInfo",
    "hash_password",
    "verify_password",
]

AUTH_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
    digest TEXT PRIMARY KEY,
    "user" TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS api_tokens (
    digest TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    site TEXT,
    created_at TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT 'read'
);
CREATE TABLE IF NOT EXISTS login_attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_attempts_key ON login_attempts(key, at);
"""
#: tables of an earlier version: tokens made before scopes existed may read only
_TOKEN_SCOPE = "ALTER TABLE api_tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'read'"

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
#: what a statement the database refuses raises, on either back end
DB_ERRORS = (sqlite3.Error, asyncpg.PostgresError)


class Role(IntEnum):
    """Each role may do what the ones below it may."""

    OPERATOR = 1
    SUPERVISOR = 2
    ADMIN = 3
    SITE = 0  # an agent's evidence-upload token: its own site only


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    test = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    return hmac.compare_digest(test.hex(), digest)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# a real hash to compare against for unknown users, so timing does not reveal which names exist
_DUMMY = hash_password(secrets.token_hex(8))


class Scope(StrEnum):
    """What an API token may do: read (GET) or also act (POST and the like, on /api/ only)."""

    READ = "read"
    ACT = "act"


@dataclass(frozen=True)
class Principal:
    """Whoever makes a request: a console user, or an API client named by its token."""

    name: str
    role: Role
    site: str | None = None  # set for per-site (agent) tokens
    scope: Scope | None = None  # set for API tokens; sessions act through CSRF-checked forms

    def may(self, role: Role) -> bool:
        return self.role >= role and self.role != Role.SITE


@dataclass(frozen=True)
class Session:
    secret: str  # goes into the cookie, never stored
    user: Principal
    csrf: str


@dataclass(frozen=True)
class TokenInfo:
    """An API token as the admin page lists it: ``digest`` identifies it for revoking."""

    digest: str
    name: str
    role: Role
    site: str | None
    created_at: datetime
    scope: Scope = Scope.READ


class LoginLimiter:
    """At most ``attempts`` failures per user name and per address within ``window``, counted
    in the database so that every receiver process on it enforces one limit.

    ``attempt`` records the try before the password is checked, in one write transaction (one
    writer at a time, across processes): 200 parallel guesses cannot all pass the check before
    any of them is counted. A right password takes its record back (``forgive``).
    """

    def __init__(
        self, db: Database, clock: Clock, attempts: int = 5, window: timedelta = timedelta(minutes=5)
    ) -> None:
        self.db, self.clock, self.attempts, self.window = db, clock, attempts, window

    async def attempt(self, *keys: str) -> list[int] | None:
        """Count a try under every key; ``None`` (and nothing counted) when a key is used up."""
        now = self.clock()
        marks = ",".join("?" * len(keys))
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM login_attempts WHERE at <= ?", ((now - self.window).isoformat(),))
            rows = await tx.all(
                f"SELECT key, COUNT(*) FROM login_attempts WHERE key IN ({marks}) GROUP BY key",  # noqa: S608
                keys,
            )
            if any(int(count) >= self.attempts for _, count in rows):
                return None
            ids = []
            for key in keys:
                row = await tx.one(
                    "INSERT INTO login_attempts (key, at) VALUES (?, ?) RETURNING id", (key, now.isoformat())
                )
                ids.append(int(row[0]) if row else 0)
        return ids

    async def forgive(self, ids: list[int]) -> None:
        """The password was right: the try does not count as a failure."""
        async with self.db.transaction() as tx:
            for attempt_id in ids:
                await tx.execute("DELETE FROM login_attempts WHERE id = ?", (attempt_id,))


class Accounts:
    """Users, sessions and API tokens in the console database."""

    def __init__(self, db: Database, clock: Clock, session_ttl: timedelta = timedelta(hours=12)) -> None:
        self.db, self.clock, self.session_ttl = db, clock, session_ttl

    async def add_user(self, name: str, role: Role, password: str, *, by: str = "system") -> None:
        if role == Role.SITE or len(password) < 10:
            raise ValueError("a user needs a role operator/supervisor/admin and a password of 10+ characters")
        hashed = await asyncio.to_thread(hash_password, password)
        async with self.db.transaction() as tx:
            if role != Role.ADMIN:
                await _keep_an_admin(tx, name, "demoted")
            await tx.execute(
                "INSERT INTO users (name, role, password, created_at) VALUES (?,?,?,?)"
                " ON CONFLICT(name) DO UPDATE SET role = excluded.role, password = excluded.password",
                (name, role.name.lower(), hashed, self.clock().isoformat()),
            )
            await record(tx, self.clock(), by, "user_saved", f"user:{name}", role.name.lower())

    async def users(self) -> list[tuple[str, Role]]:
        rows = await self.db.all("SELECT name, role FROM users ORDER BY name")
        return [(str(n), Role[str(r).upper()]) for n, r in rows]

    async def login(self, name: str, password: str) -> Session | None:
        row = await self.db.one("SELECT role, password FROM users WHERE name = ?", (name,))
        ok = await asyncio.to_thread(verify_password, password, str(row[1]) if row else _DUMMY)
        if row is None or not ok:
            return None
        secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM sessions WHERE expires_at < ?", (now.isoformat(),))
            await tx.execute(
                'INSERT INTO sessions (digest, "user", csrf, expires_at) VALUES (?,?,?,?)',
                (_digest(secret), name, csrf, (now + self.session_ttl).isoformat()),
            )
            await record(tx, now, name, "login")
        return Session(secret, Principal(name, Role[str(row[0]).upper()]), csrf)

    async def session(self, secret: str) -> Session | None:
        row = await self.db.one(
            'SELECT s."user", u.role, s.csrf, s.expires_at FROM sessions s JOIN users u ON u.name = s."user"'
            " WHERE s.digest = ?",
            (_digest(secret),),
        )
        if row is None or datetime.fromisoformat(str(row[3])) <= self.clock():
            return None
        return Session(secret, Principal(str(row[0]), Role[str(row[1]).upper()]), str(row[2]))

    async def logout(self, session: Session) -> None:
        async with self.db.transaction() as tx:
            await tx.execute("DELETE FROM sessions WHERE digest = ?", (_digest(session.secret),))
            await record(tx, self.clock(), session.user.name, "logout")

    async def add_token(self, name: str, role: Role, *, site: str | None = None, scope: Scope = Scope.READ,
                        by: str = "system") -> str:
        """A new API token; the caller shows it once, only its digest is kept."""
        token = "wt_" + secrets.token_urlsafe(32)
        async with self.db.transaction() as tx:
            await tx.execute(
                "INSERT INTO api_tokens (digest, name, role, site, created_at, scope) VALUES (?,?,?,?,?,?)",
                (_digest(token), name, role.name.lower(), site, self.clock().isoformat(), scope.value),
            )
            detail = site or f"{role.name.lower()} {scope.value}"
            await record(tx, self.clock(), by, "token_created", f"token:{name}", detail)
        return token

    async def upgrade(self) -> None:
        """Bring the tables of an earlier version up to date (once, at start)."""
        if await self._has_scope():
            return
        with contextlib.suppress(*DB_ERRORS):  # another receiver process did it meanwhile
            async with self.db.transaction() as tx:
                await tx.execute(_TOKEN_SCOPE)
        if not await self._has_scope():
            raise RuntimeError("api_tokens has no scope column and it could not be added")

    async def _has_scope(self) -> bool:
        try:
            await self.db.all("SELECT scope FROM api_tokens WHERE 1 = 0")
        except DB_ERRORS:
            return False
        return True

    async def remove_user(self, name: str, *, by: str) -> None:
        """``name`` can no longer sign in, and every session it has ends now. The audit log and
        the alarms keep the name. Nobody removes themselves, and the last admin stays."""
        if name == by:
            raise ValueError("you cannot remove yourself")
        async with self.db.transaction() as tx:
            row = await tx.one("SELECT role FROM users WHERE name = ?", (name,))
            if row is None:
                raise ValueError(f"there is no user {name}")
            await _keep_an_admin(tx, name, "removed")
            await tx.execute('DELETE FROM sessions WHERE "user" = ?', (name,))
            await tx.execute("DELETE FROM users WHERE name = ?", (name,))
            await record(tx, self.clock(), by, "user_removed", f"user:{name}", str(row[0]))

    async def tokens(self) -> list[TokenInfo]:
        """The API tokens there are (never the tokens themselves: only their digests are kept)."""
        rows = await self.db.all(
            "SELECT digest, name, role, site, created_at, scope FROM api_tokens ORDER BY created_at, name"
        )
        return [TokenInfo(str(d), str(n), Role[str(r).upper()], s, datetime.fromisoformat(str(c)), Scope(sc))
                for d, n, r, s, c, sc in rows]

    async def revoke_token(self, digest: str, *, by: str) -> None:
        """The token opens nothing from now on."""
        async with self.db.transaction() as tx:
            row = await tx.one("SELECT name, site FROM api_tokens WHERE digest = ?", (digest,))
            if row is None:
                raise ValueError("there is no such token (revoked already?)")
            await tx.execute("DELETE FROM api_tokens WHERE digest = ?", (digest,))
            await record(tx, self.clock(), by, "token_revoked", f"token:{row[0]}", str(row[1] or ""))

    async def token(self, token: str) -> Principal | None:
        row = await self.db.one(
            "SELECT name, role, site, scope FROM api_tokens WHERE digest = ?", (_digest(token),)
        )
        if row is None:
            return None
        return Principal(f"token:{row[0]}", Role[str(row[1]).upper()], row[2], Scope(str(row[3])))


async def _keep_an_admin(tx: Tx, name: str, how: str) -> None:
    """Refuse to take away the last admin: nobody could manage users any more."""
    row = await tx.one("SELECT role FROM users WHERE name = ?", (name,))
    if row is None or str(row[0]) != "admin":
        return
    admins = await tx.one("SELECT COUNT(*) FROM users WHERE role = 'admin'")
    if admins is None or int(admins[0]) <= 1:
        raise ValueError(f"the last admin cannot be {how}")
