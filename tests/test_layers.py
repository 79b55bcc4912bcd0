"""The dependency direction of DESIGN.md: protocol <- config <- {drivers, agent, receiver,
simulator} <- wachter (the commands and the demo wiring). The agent and the receiver never
import each other; the simulator may use the drivers, never the `wachter` command."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "protocol": {"protocol"},
    "config": {"protocol", "config"},
    "drivers": {"protocol", "config", "drivers"},
    "agent": {"protocol", "config", "agent"},
    "receiver": {"protocol", "config", "receiver"},
    "simulator": {"protocol", "config", "drivers", "agent", "receiver", "simulator"},
}
PACKAGES = {*ALLOWED, "wachter"}


def _imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PACKAGES


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_what_lies_below_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(_imported_packages(path) - ALLOWED[package])
        for path in sorted((ROOT / package).rglob("*.py"))
    }
    assert {k: v for k, v in wrong.items() if v} == {}
