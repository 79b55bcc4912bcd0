"""The demo's secrets are public: a site that uses them outside the demo is refused.

``config/examples/site.yaml`` ships with a DC-09 key and PIN hashes that anyone can read (the
demo and the tests use them). ``scripts/install-pi.sh`` starts a home from that file, so
``wachter check`` and ``wachter agent`` name each one still in place, with the command that
makes the home's own; ``--demo`` allows them (the demo, tests, a bench).
"""

from __future__ import annotations

import functools
from pathlib import Path

from ruamel.yaml import YAML

from config.loader import ConfigProblem, load_raw_site, problems_at

__all__ = ["EXAMPLE", "demo_secrets"]

EXAMPLE = Path(__file__).resolve().parent / "examples" / "site.yaml"
_KEY_FIX = ("the public demo DC-09 key; make the site's own with `wachter keys dc09` and give it "
            "to the alarm centre")
_PIN_FIX = ("the public demo PIN hash; choose a PIN with the user and paste the output of "
            "`wachter hash-pin`")


@functools.cache
def _published() -> tuple[frozenset[str], frozenset[str]]:
    """(keys, PIN hashes) written in the example site."""
    data = YAML(typ="safe").load(EXAMPLE.read_text(encoding="utf-8"))
    keys = {str(p["key"]).upper() for p in data["alarm_centre"]["paths"] if p.get("key")}
    hashes = {str(u[f]) for u in data["panel"]["users"] for f in ("pin_hash", "duress_pin_hash") if u.get(f)}
    return frozenset(keys), frozenset(hashes)


def demo_secrets(path: Path) -> list[ConfigProblem]:
    """Every public demo key or PIN hash in the site file (ConfigError if it is not a valid site)."""
    site = load_raw_site(path)
    keys, hashes = _published()
    found: list[tuple[tuple[int | str, ...], str]] = []
    for i, route in enumerate(site.alarm_centre.paths):
        if route.key is not None and route.key.get_secret_value().upper() in keys:
            found.append((("alarm_centre", "paths", i, "key"), _KEY_FIX))
    for i, user in enumerate(site.panel.users):
        for field in ("pin_hash", "duress_pin_hash"):
            if getattr(user, field) in hashes:
                found.append((("panel", "users", i, field), _PIN_FIX))
    return problems_at(path, found) if found else []
