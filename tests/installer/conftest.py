"""Helpers for installer tests: a copy of the example site with one change, and line lookup."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "config" / "examples"
SITE_TEXT = (EXAMPLES / "site.yaml").read_text(encoding="utf-8")
RECEIVER_TEXT = (EXAMPLES / "receiver.yaml").read_text(encoding="utf-8")


def line_of(text: str, snippet: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line containing ``snippet``."""
    hits = [i for i, line in enumerate(text.splitlines(), 1) if snippet in line]
    assert len(hits) >= nth, f"{snippet!r} occurs {len(hits)} times"
    return hits[nth - 1]


def edit(text: str, *changes: tuple[str, str]) -> str:
    for old, new in changes:
        assert text.count(old) == 1, f"{old!r} must occur exactly once"
        text = text.replace(old, new)
    return text


class Writer(Protocol):
    def __call__(self, text: str, name: str = "site.yaml") -> Path: ...


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    def _write(text: str, name: str = "site.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write
