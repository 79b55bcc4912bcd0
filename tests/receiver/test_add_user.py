"""`wachter receiver add-user`: the first admin of a real receiver, password never on argv."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

import pytest

from config.receiver import ReceiverConfig
from receiver.auth import Accounts, Role
from receiver.service import open_storage
from receiver.store import utcnow
from receiver.user_cli import PASSWORD_ENV
from wachter.cli import main

PASSWORD = "correct horse battery"


def _can_sign_in(store: str, name: str, password: str) -> Role | None:
    async def check() -> Role | None:
        _, db = open_storage(ReceiverConfig(store=store))
        async with db:
            session = await Accounts(db, utcnow).login(name, password)
            return session.user.role if session else None

    return asyncio.run(check())


def test_the_first_admin_from_a_file_from_stdin_or_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = f"sqlite://{tmp_path / 'receiver.db'}"
    secret = tmp_path / "pw"
    secret.write_text(PASSWORD + "\n")
    assert main(["receiver", "add-user", "ada", "--role", "admin", "--store", store,
                 "--password-file", str(secret)]) == 0
    assert _can_sign_in(store, "ada", PASSWORD) == Role.ADMIN
    assert (tmp_path / "receiver.db").stat().st_mode & 0o077 == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("another long password\n"))
    assert main(["receiver", "--store", store, "add-user", "olga", "--password-file", "-"]) == 0
    assert _can_sign_in(store, "olga", "another long password") == Role.OPERATOR
    monkeypatch.setenv(PASSWORD_ENV, "a third long password")
    assert main(["receiver", "add-user", "sam", "--role", "supervisor", "--store", store]) == 0
    assert _can_sign_in(store, "sam", "a third long password") == Role.SUPERVISOR


def test_no_password_on_the_command_line_and_clear_refusals(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    store = f"sqlite://{tmp_path / 'receiver.db'}"
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: no prompt
    with pytest.raises(SystemExit):
        main(["receiver", "add-user", "ada", "--store", store, "--password", PASSWORD])
    assert main(["receiver", "add-user", "ada", "--store", store]) == 2
    assert "no password" in capsys.readouterr().err
    monkeypatch.setenv(PASSWORD_ENV, "short")
    assert main(["receiver", "add-user", "ada", "--store", store]) == 2
    assert "10+ characters" in capsys.readouterr().err
    assert main(["receiver", "add-user", "Ada Lovelace", "--store", store]) == 2
    assert main(["receiver", "add-user", "ada"]) == 2
    assert "--config FILE or --store URL" in capsys.readouterr().err
