"""Load a YAML config into its schema; every problem names file, line, field and a fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from config.receiver import ReceiverConfig
from config.site import Site

__all__ = ["ConfigError", "ConfigProblem", "load_receiver", "load_site", "load_yaml_model"]

M = TypeVar("M", bound=BaseModel)


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


def _message(err: Any) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field; check the spelling (see config/examples)"
    if err["type"] == "missing":
        return "required field is missing; add it"
    if err["type"] == "enum" or err["type"] == "literal_error":
        return msg.replace("Input should be", "must be")
    return msg


def load_yaml_model(path: Path, model: type[M], text: str | None = None) -> M:
    name = str(path)
    try:
        source = text if text is not None else path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem(name, 0, "(file)", f"cannot read: {exc.strerror}")]) from None
    try:
        data = YAML(typ="rt").load(source)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        raise ConfigError([ConfigProblem(name, line, "(syntax)", str(exc.problem))]) from None
    if not isinstance(data, CommentedMap):
        raise ConfigError([ConfigProblem(name, 1, "(top level)", "expected a mapping of fields")])
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if not isinstance(p, str) or not p.startswith("function-"))
            # enum/literal unions add the variant tag to loc; keep only keys that exist in YAML
            problems.append(ConfigProblem(name, _locate(data, loc), _field(loc), _message(err)))
        raise ConfigError(problems) from None


def load_site(path: Path) -> Site:
    return load_yaml_model(path, Site)


def load_receiver(path: Path) -> ReceiverConfig:
    return load_yaml_model(path, ReceiverConfig)
