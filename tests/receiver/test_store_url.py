"""The store URL picks the back end; anything else is refused, and no password is ever shown."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from config.receiver import ReceiverConfig, redact_url


@pytest.mark.parametrize(("url", "kind"), [
    ("sqlite:///var/lib/wachter/receiver.db", "sqlite"),
    ("postgresql://wachter:s3cret@db.arc.example:5432/wachter", "postgresql"),
    ("postgres://wachter@/wachter?host=/run/postgresql", "postgresql"),
])
def test_sqlite_and_postgresql_urls_are_accepted(url: str, kind: str) -> None:
    assert ReceiverConfig(store=url).store_kind == kind


@pytest.mark.parametrize("url", ["mysql://root:s3cret@db/wachter", "sqlite://relative.db", "/tmp/r.db"])
def test_other_stores_are_refused_with_the_fix_and_without_the_password(url: str) -> None:
    with pytest.raises(ValidationError) as info:
        ReceiverConfig(store=url)
    message = str(info.value)
    assert "write sqlite:///PATH" in message and "postgresql://" in message
    assert "s3cret" not in message


def test_passwords_are_redacted_for_logs() -> None:
    assert redact_url("postgresql://wachter:s3cret@db:5432/w") == "postgresql://wachter:***@db:5432/w"
    assert redact_url("postgresql://wachter@db/w?password=s3cret&sslmode=require") == (
        "postgresql://wachter@db/w?password=***&sslmode=require"
    )
    assert redact_url("sqlite:///var/lib/wachter/receiver.db") == "sqlite:///var/lib/wachter/receiver.db"


def test_a_postgresql_store_has_no_file() -> None:
    with pytest.raises(ValueError, match="not a SQLite file") as info:
        _ = ReceiverConfig(store="postgresql://u:s3cret@db/w").store_path
    assert "s3cret" not in str(info.value)
