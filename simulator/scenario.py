"""A scenario file: site overrides, then a timeline of actions, faults and expectations.

See docs/scenarios.md for the format. Loading checks the file against the site it runs on
(device ids, actions a device can do) so a typo fails before anything starts, with file and line.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from config.loader import ConfigError, ConfigProblem, load_yaml_model
from config.site import Site
from config.types import Duration, parse_duration
from protocol.mqtt import PanelMode
from simulator.devices import Verb, verbs_for

__all__ = [
    "DeviceStep",
    "ExpectStep",
    "FaultStep",
    "PanelStep",
    "Scenario",
    "Step",
    "WaitStep",
    "load_scenario",
    "site_for",
]

EXAMPLE_SITE = Path(__file__).resolve().parent.parent / "config" / "examples" / "site.yaml"


def _signed_duration(value: object) -> timedelta:
    """A duration that may be negative (``-5m``): the agent's clock behind the real time."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_duration(value.strip()[1:])
    return parse_duration(value)


SignedDuration = Annotated[timedelta, BeforeValidator(_signed_duration)]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    at: Duration | None = None  # from the start of the scenario; None: right after the previous step
    note: str = ""


class DeviceStep(_Step):
    device: str
    action: Verb
    hold: Duration | None = None  # press, keep pressed this long, release
    score: Annotated[float, Field(ge=0, le=1)] | None = None

    def describe(self) -> str:
        hold = f" for {_fmt(self.hold)}" if self.hold else ""
        return f"{self.device}: {self.action}{hold}"


class PanelStep(_Step):
    panel: Literal["arm_away", "arm_home", "arm_night", "disarm", "trigger"]
    code: str | None = None
    skip_delay: bool = False
    force: bool = False

    def describe(self) -> str:
        extra = " (skip delay)" if self.skip_delay else ""
        return f"panel {self.panel}{' with a code' if self.code else ''}{extra}"


FaultName = Literal["jam", "unjam", "broker_down", "broker_up", "receiver_down", "receiver_up",
                    "network_cut", "network_restore", "network_slow", "clock_skew"]


class FaultStep(_Step):
    fault: FaultName
    devices: list[str] = Field(default_factory=list)  # jam / unjam
    latency: Duration = timedelta(milliseconds=500)  # network_slow
    offset: SignedDuration = timedelta(0)  # clock_skew: agent clock = real time + offset

    def describe(self) -> str:
        if self.fault in ("jam", "unjam"):
            return f"fault {self.fault} {', '.join(self.devices)}"
        if self.fault == "clock_skew":
            return f"fault clock_skew {self.offset.total_seconds():+g}s"
        return f"fault {self.fault}"

    @model_validator(mode="after")
    def _needs_devices(self) -> Self:
        if self.fault in ("jam", "unjam") and not self.devices:
            raise ValueError(f"{self.fault} needs `devices: [...]`")
        return self


class ExpectStep(_Step):
    expect: Literal["event", "no_event", "panel", "order", "outbox_empty"]
    code: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] | None = None
    zone: int | None = None
    text: str | None = None
    count: Annotated[int, Field(ge=1)] | None = None  # exactly this many (event)
    state: PanelMode | None = None  # panel
    faults: list[str] = Field(default_factory=list)  # panel: these faults listed (device:fault)
    codes: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(default_factory=list)  # order
    within: Duration = timedelta(seconds=2)
    for_: Duration = Field(default=timedelta(seconds=1), alias="for")  # no_event: quiet this long

    def describe(self) -> str:
        what = _matcher(self)
        if self.expect == "event":
            n = f"{self.count} x " if self.count else ""
            return f"expect within {_fmt(self.within)}: alarm centre has {n}{what}"
        if self.expect == "no_event":
            return f"expect for {_fmt(self.for_)}: alarm centre has no {what}"
        if self.expect == "panel":
            faults = f" with faults {', '.join(self.faults)}" if self.faults else ""
            return f"expect within {_fmt(self.within)}: panel {self.state or '(any state)'}{faults}"
        if self.expect == "order":
            return f"expect within {_fmt(self.within)}: events in the order {' then '.join(self.codes)}"
        return f"expect within {_fmt(self.within)}: the agent's outbox is empty"

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.expect in ("event", "no_event") and not (self.code or self.zone is not None or self.text):
            raise ValueError(f"`expect: {self.expect}` needs code, zone or text to match")
        if self.expect == "panel" and self.state is None and not self.faults:
            raise ValueError("`expect: panel` needs state or faults")
        if self.expect == "order" and len(self.codes) < 2:
            raise ValueError("`expect: order` needs `codes:` with two or more SIA codes")
        return self


class WaitStep(_Step):
    wait: Duration


def _kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((k for k in ("device", "panel", "fault", "expect", "wait") if k in value), None)
    return next((k for k, cls in _STEP_TYPES.items() if isinstance(value, cls)), None)


Step = Annotated[
    Annotated[DeviceStep, Tag("device")] | Annotated[PanelStep, Tag("panel")]
    | Annotated[FaultStep, Tag("fault")] | Annotated[ExpectStep, Tag("expect")]
    | Annotated[WaitStep, Tag("wait")],
    Discriminator(_kind, custom_error_type="step_kind",
                  custom_error_message="a step has one of device, panel, fault, expect or wait"),
]
_STEP_TYPES: dict[str, type[_Step]] = {
    "device": DeviceStep, "panel": PanelStep, "fault": FaultStep, "expect": ExpectStep, "wait": WaitStep,
}


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    description: str = ""
    site: dict[str, Any] = Field(default_factory=dict)  # overrides merged into the site file
    wired: bool = True  # GPIO devices through the real driver on mock pins
    steps: Annotated[list[Step], Field(min_length=1)]
    # set by load_scenario
    path: Path = Path("<scenario>")
    lines: list[int] = Field(default_factory=list)
    site_line: int = 1

    def line(self, index: int) -> int:
        return self.lines[index] if index < len(self.lines) else 0


def _fmt(value: timedelta | None) -> str:
    return f"{value.total_seconds():g}s" if value is not None else "-"


def _matcher(step: ExpectStep) -> str:
    parts = [f"code {step.code}" if step.code else "an event"]
    if step.zone is not None:
        parts.append(f"zone {step.zone}")
    if step.text:
        parts.append(f"text {step.text!r}")
    return " ".join(parts)


def _merge(base: Any, override: Any) -> Any:
    """Deep merge. Lists of mappings merge item by item: by ``id`` when the items have one
    (devices; an unknown id adds a device), else by position (alarm centre paths)."""
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for key, value in override.items():
            out[key] = _merge(base[key], value) if key in base else value
        return out
    if isinstance(base, list) and isinstance(override, list) and all(isinstance(o, dict) for o in override):
        merged = list(base)
        index = {b.get("id"): i for i, b in enumerate(merged) if isinstance(b, dict) and "id" in b}
        for position, item in enumerate(override):
            at = index.get(item["id"]) if "id" in item else (position if position < len(merged) else None)
            if at is None:
                merged.append(item)
            else:
                merged[at] = _merge(merged[at], item)
        return merged
    return override


def _plain(node: Any) -> Any:
    if isinstance(node, dict):
        return {str(k): _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def site_for(scenario: Scenario, base: Path = EXAMPLE_SITE) -> Site:
    """The base site file with the scenario's overrides; problems name the scenario file."""
    data = _plain(YAML(typ="safe").load(base.read_text(encoding="utf-8")))
    merged = _merge(data, _plain(scenario.site))
    try:
        return Site.model_validate(merged)
    except ValueError as exc:
        problem = ConfigProblem(str(scenario.path), scenario.site_line, "site", str(exc))
        raise ConfigError([problem]) from None


def _check_against_site(scenario: Scenario, site: Site) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for i, step in enumerate(scenario.steps):
        where = (str(scenario.path), scenario.line(i), f"steps[{i}]")
        names = [step.device] if isinstance(step, DeviceStep) else (
            step.devices if isinstance(step, FaultStep) else [])
        for name in names:
            device = site.device(name)
            if device is None:
                known = ", ".join(d.id for d in site.devices)
                problems.append(ConfigProblem(*where, f"no device {name!r} in site {site.id} ({known})"))
            elif isinstance(step, DeviceStep) and step.action not in verbs_for(device):
                problems.append(ConfigProblem(
                    *where, f"{name} is a {device.type.value}: it cannot {step.action} "
                    f"(it can {', '.join(verbs_for(device))})"))
        if isinstance(step, DeviceStep) and step.hold is not None and step.action != "press":
            problems.append(ConfigProblem(*where, "`hold` goes with `action: press`"))
    return problems


def load_scenario(path: Path, base: Path = EXAMPLE_SITE) -> tuple[Scenario, Site]:
    """Parse, validate and check one file; ConfigError lists every problem with its line."""
    text = path.read_text(encoding="utf-8") if path.is_file() else None
    scenario = load_yaml_model(path, Scenario, text)
    raw = YAML(typ="rt").load(text or "")
    steps = raw.get("steps") if isinstance(raw, CommentedMap) else None
    lines = [steps.lc.item(i)[0] + 1 for i in range(len(steps))] if isinstance(steps, CommentedSeq) else []
    site_line = raw.lc.key("site")[0] + 1 if isinstance(raw, CommentedMap) and "site" in raw else 1
    scenario = scenario.model_copy(update={"path": path, "lines": lines, "site_line": site_line})
    site = site_for(scenario, base)
    problems = _check_against_site(scenario, site)
    if problems:
        raise ConfigError(problems)
    return scenario, site
