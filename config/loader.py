"""Load a YAML config into its schema; every problem names file, line, field and a fix."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_args

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError

from config.conflicts import Clash, receiver_clashes, site_clashes
from config.profiles import effective
from config.receiver import ReceiverConfig
from config.site import Site

__all__ = [
    "ConfigError",
    "ConfigProblem",
    "load_raw_site",
    "load_receiver",
    "load_site",
    "load_yaml_model",
    "problems_at",
]

M = TypeVar("M", bound=BaseModel)

# cross-field rules per schema, run on the YAML tree next to pydantic (config/conflicts.py)
RULES: dict[type[BaseModel], Callable[[Any], list[Clash]]] = {
    Site: site_clashes,
    ReceiverConfig: receiver_clashes,
}


@dataclass(frozen=True)
class ConfigProblem:
    file: str
    line: int  # 1-based; 0 when unknown
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ConfigError(Exception):
    """A config file that cannot be used; ``problems`` lists every problem found at once."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _locate(root: Any, loc: tuple[int | str, ...]) -> int:
    """Line (1-based) of the deepest node of ``loc`` that exists in the YAML tree."""
    node, line = root, 1
    for part in loc:
        if isinstance(node, CommentedMap) and part in node:
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq) and isinstance(part, int) and part < len(node):
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


_GPIO = "BCM GPIO numbers run from 0 to 27 (the GPIOnn name, not the header pin)"
_SLUG = "lower-case letters, digits, - and _, starting with a letter or digit"
# Fix hints by the end of the field name, list indexes written as []
HINTS: dict[str, str] = {
    ".pin": _GPIO,
    ".tamper_pin": _GPIO,
    ".led_pin": _GPIO,
    "devices[].zone": "zones are numbered 1 to 999",
    "devices[].id": f"use {_SLUG} (e.g. door-front)",
    "accounts[].site": f"the site id: {_SLUG} (e.g. demo-home)",
    ".account": 'the alarm centre account: 3 to 16 hex digits in quotes (e.g. "0471")',
    "alarm_centre.receiver": "1 to 6 hex digits in quotes",
    "alarm_centre.prefix": "1 to 6 hex digits in quotes",
    "users[].number": "user numbers run from 1 to 999",
    ".key": "`wachter keys dc09` prints a fresh AES-128 key; paste it on both sides",
    "paths[].url": "the receiver's DC-09 address as the alarm centre gave it, e.g. tcp://arc.example.nl:9000",
    "listen[]": "where the receiver listens, e.g. tcp://0.0.0.0:9000",
    "mqtt.keepalive": "seconds, 5 to 600",
}


def _hint(loc: tuple[int | str, ...]) -> str | None:
    shape = _field(tuple("[]" if isinstance(p, int) else p for p in loc)).replace(".[]", "[]")
    return next((h for key, h in HINTS.items() if shape.endswith(key)), None)


def _model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The schema class that owns the mapping at ``loc`` (for spelling suggestions)."""
    current: Any = model
    keyed = False  # the previous field was a dict: this part is a key, not a field name
    for part in loc:
        if isinstance(part, int) or keyed:
            keyed = False
            continue
        field = current.model_fields.get(part) if current is not None else None
        if field is None:
            return None
        keyed = "dict" in str(field.annotation)
        current = _inner_model(field.annotation)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _inner_model(arg)
        if found is not None:
            return found
    return None


def _message(err: Any, model: type[BaseModel], loc: tuple[int | str, ...]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    kind = err["type"]
    ctx = err.get("ctx") or {}
    last = next((p for p in reversed(loc) if isinstance(p, str)), "")
    if kind == "extra_forbidden":
        owner = _model_at(model, loc[:-1])
        close = difflib.get_close_matches(str(last), list(owner.model_fields), n=1) if owner else []
        spelling = f"did you mean {close[0]!r}?" if close else "check the spelling (see config/examples)"
        return f"unknown field; {spelling}"
    if kind == "missing":
        return "required field is missing; add it (see config/examples)"
    if kind in ("enum", "literal_error"):
        return f"{err.get('input')!r} is not allowed; use {ctx.get('expected', msg)}"
    if kind in ("too_short", "too_long") and isinstance(err.get("input"), list):
        return msg.replace("List should", "the list must")
    hint = _hint(loc)
    return f"{msg}; {hint}" if hint else msg


def _read(name: str, path: Path, text: str | None) -> CommentedMap:
    try:
        source: str = text if text is not None else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(name, 0, "(file)", f"cannot read: {exc.strerror}")]) from None
    try:
        data = YAML(typ="rt").load(source)
    except DuplicateKeyError as exc:
        raise ConfigError([_duplicate_key(name, source, exc)]) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError([ConfigProblem(name, line, "(syntax)", str(exc.problem))]) from None
    if not isinstance(data, CommentedMap):
        raise ConfigError([ConfigProblem(name, 1, "(top level)", "expected a mapping of fields")])
    return data


def _duplicate_key(name: str, source: str, exc: DuplicateKeyError) -> ConfigProblem:
    """ruamel marks the second key and the start of the mapping; find the first key ourselves."""
    found = re.search(r'duplicate key "([^"]*)"', str(exc.problem))
    key = found.group(1) if found else "(syntax)"
    mark, start = exc.problem_mark, exc.context_mark
    if mark is None:
        return ConfigProblem(name, 0, key, "written twice; keep one")
    lines = source.splitlines()[start.line if start else 0 : mark.line]
    pattern = re.compile(rf"^(\s*-)?\s*{re.escape(key)}\s*:")
    first = next(
        (i for i, text in enumerate(lines)
         if pattern.match(text) and len(text) - len(text.lstrip(" -")) == mark.column),
        None,
    )
    where = f" (first at line {first + (start.line if start else 0) + 1})" if first is not None else ""
    return ConfigProblem(name, mark.line + 1, key, f"written twice{where}; keep one")


def _clash_problems(name: str, data: CommentedMap, clashes: list[Clash]) -> list[ConfigProblem]:
    out = []
    for c in clashes:
        where = f"line {_locate(data, c.first)} ({_field(c.first)})" if c.first else ""
        text = f"{c.what} is also used at {where}; {c.fix}" if where else f"{c.what}; {c.fix}"
        out.append(ConfigProblem(name, _locate(data, c.loc), _field(c.loc), text))
    return out


def load_yaml_model(path: Path, model: type[M], text: str | None = None) -> M:
    """Validate a YAML file; on any problem raise ConfigError listing all of them, sorted by line."""
    name = str(path)
    data = _read(name, path, text)
    rules = RULES.get(model)
    problems = _clash_problems(name, data, rules(data)) if rules else []
    try:
        result = model.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-"))
            if not loc and problems:
                continue  # a model validator's uniqueness check, already reported with its lines
            problems.append(ConfigProblem(name, _locate(data, loc), _field(loc), _message(err, model, loc)))
    else:
        if not problems:
            return result
    raise ConfigError(sorted(problems, key=lambda p: (p.line, p.field)))


def problems_at(path: Path, found: list[tuple[tuple[int | str, ...], str]]) -> list[ConfigProblem]:
    """Problems found outside the schema (``(field path, message)``), with their lines."""
    data = _read(str(path), path, None)
    return [ConfigProblem(str(path), _locate(data, loc), _field(loc), text) for loc, text in found]


def load_site(path: Path) -> Site:
    """The site with its security profile applied (explicit settings win)."""
    return effective(load_yaml_model(path, Site))


def load_raw_site(path: Path) -> Site:
    """The site exactly as written, without profile defaults."""
    return load_yaml_model(path, Site)


def load_receiver(path: Path) -> ReceiverConfig:
    return load_yaml_model(path, ReceiverConfig)
