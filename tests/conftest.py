from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker import Mosquitto, running_mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    """A real mosquitto on a free port, private to the test."""
    workdir = tmp_path / "broker"
    workdir.mkdir()
    with running_mosquitto(workdir) as broker:
        yield broker
