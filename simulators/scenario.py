"""Scenarios: a fleet, a few named vessels, and a timeline of scripted events, written in YAML.

```yaml
title: AIS-SART activation after a capsize
seed: 7
start: "09:00"          # local time (GMT+8) the simulated day starts at; "now" (default) or ISO-8601
duration: 10m           # simulated time; 90s, 10m, 2h or plain seconds
fleet: {fishing: 0, cargo: 0}            # the background fleet (`FleetSpec` fields)
zones: []               # GeoJSON zone features the scenario needs (installed before the service starts)
vessels:
  - {id: victim, kind: trawler, ais: A, terminal: true, at: [115.45, 22.55], activity: fishing}
events:
  - {at: 1m, action: sart, vessel: victim, expect: [distress]}
```

Every event names the alert kinds it must raise (`expect`): the drill report looks for them, and the
scenario tests check that a run raises exactly those. `load_scenario` takes a shipped scenario's name
(`simulators/scenarios/NAME.yaml`) or a path; everything is validated here, so a typo stops the run
before any traffic is sent.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from alerts.model import ALERT_KINDS
from simulators.fleet import LOCAL, FleetSpec
from tracking.zones import ZoneError, check_feature

DEFAULT_SCENARIO = "demo"

Action = Literal[
    "sart",  # an AIS-SART is activated next to the vessel (it sank or is sinking)
    "man_overboard",  # a crew member's AIS MOB beacon goes off; the boat turns back to search
    "emergency_button",  # the BeiDou terminal's SOS (JT/T 808 alarm bit 0)
    "go_dark",  # every transmitter on board falls silent; the boat carries on
    "engine_failure",  # AIS status "not under command", drifting with the current
    "collision_course",  # `vessel` and `other` steer to meet `meet_in` later
    "enter_zone",  # the vessel heads into `zone` (e.g. a protected area)
    "fishing_in_closure",  # the vessel goes fishing inside closure `zone` while it is in force
    "typhoon_warning",  # a CAP typhoon warning with a return-to-port deadline; boats head home
    "share_mmsi",  # a second transmitter elsewhere uses the vessel's MMSI
    "position_jump",  # the vessel's AIS reports jump `distance_m` away for a few reports
    "return_to_port",  # the vessel heads home (no alert expected)
    "lose_coverage",  # the terminal is out of coverage `for` (default 15m), then uploads what it stored
]
VesselKind = Literal["trawler", "gillnetter", "cargo"]
StartActivity = Literal["in_port", "fishing", "transit", "drifting", "passage"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|min|h)?\s*$")
_UNITS = {None: 1.0, "s": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


def parse_duration(value: Any) -> float:
    """Seconds from `90`, `"90s"`, `"15m"` or `"2h"`."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(f"not a duration: {value!r} (write 90s, 15m or 2h)")
        seconds = float(match[1]) * _UNITS[match[2]]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Seconds = Annotated[float, BeforeValidator(parse_duration)]
LonLatField = tuple[float, float]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FleetModel(_Model):
    fishing: int = Field(0, ge=0, le=5000)
    cargo: int = Field(0, ge=0, le=500)
    gillnet_fraction: float = Field(0.35, ge=0, le=1)
    class_b_fraction: float = Field(0.6, ge=0, le=1)
    terminal_fraction: float = Field(0.3, ge=0, le=1)
    terminal_only_fraction: float = Field(0.05, ge=0, le=1)
    tag_fraction: float = Field(0.6, ge=0, le=1)
    rest_fraction: float = Field(0.12, ge=0, le=1)
    terminal_json_fraction: float = Field(0.2, ge=0, le=1)
    terminal_gap_fraction: float = Field(0.2, ge=0, le=1)

    def spec(self) -> FleetSpec:
        return FleetSpec(**self.model_dump())


class VesselModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9_-]{1,32}$")
    name: str | None = Field(None, max_length=20)
    kind: VesselKind = "trawler"
    ais: Literal["A", "B", "none"] = "A"
    terminal: bool = False
    terminal_json: bool = False  # the terminal reports as JSON over MQTT (through a gateway)
    tag: bool = False
    home: str | None = None  # harbour id; default: the nearest
    at: LonLatField | None = None  # required unless in port
    activity: StartActivity = "fishing"
    to: LonLatField | None = None  # transit destination
    course: float | None = Field(None, ge=0, lt=360)
    speed: float | None = Field(None, ge=0, le=30)

    @model_validator(mode="after")
    def _placed(self) -> VesselModel:
        if self.activity != "in_port" and self.at is None:
            raise ValueError(f"vessel {self.id}: `at` is needed unless it starts in port")
        if self.activity == "transit" and self.to is None:
            raise ValueError(f"vessel {self.id}: a transit needs `to`")
        if self.terminal_json and not self.terminal:
            raise ValueError(f"vessel {self.id}: terminal_json needs terminal: true")
        if self.ais == "none" and not self.terminal:
            raise ValueError(f"vessel {self.id}: with no AIS it needs a terminal to be seen at all")
        return self


class EventModel(_Model):
    at: Seconds
    action: Action
    vessel: str | None = None
    other: str | None = None
    zone: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    expect: list[str] = Field(default_factory=list)
    note: str | None = None

    @model_validator(mode="after")
    def _kinds(self) -> EventModel:
        unknown = [k for k in self.expect if k not in ALERT_KINDS]
        if unknown:
            raise ValueError(f"unknown alert kind(s) {unknown}; kinds are {', '.join(ALERT_KINDS)}")
        needs_vessel = self.action != "typhoon_warning"
        if needs_vessel and self.vessel is None:
            raise ValueError(f"action {self.action} needs `vessel`")
        if self.action == "collision_course" and self.other is None:
            raise ValueError("collision_course needs `other`")
        if self.action in ("enter_zone", "fishing_in_closure") and self.zone is None:
            raise ValueError(f"action {self.action} needs `zone`")
        return self


class Scenario(_Model):
    name: str = ""
    title: str = ""
    description: str = ""
    seed: int = 1
    start: str = "now"
    duration: Seconds = 600.0
    fleet: FleetModel = FleetModel()
    zones: list[dict[str, Any]] = Field(default_factory=list)
    vessels: list[VesselModel] = Field(default_factory=list)
    events: list[EventModel] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        ids = [v.id for v in self.vessels]
        if len(set(ids)) != len(ids):
            raise ValueError("vessel ids must be unique")
        for feature in self.zones:
            try:
                check_feature(feature)
            except ZoneError as exc:
                raise ValueError(f"zone {feature.get('properties', {}).get('id')!r}: {exc}") from exc
        for event in self.events:
            for ref in (event.vessel, event.other):
                if ref is not None and ref not in ids:
                    raise ValueError(f"event at {event.at:.0f} s names unknown vessel {ref!r}")
            if event.at > self.duration:
                raise ValueError(f"event at {event.at:.0f} s is after the end ({self.duration:.0f} s)")
        self.start_time(datetime(2000, 1, 1, tzinfo=UTC))  # refuses a malformed start now
        return self

    def start_time(self, now: datetime) -> datetime:
        """When the simulated day starts: `now`, a local time of day today, or an ISO-8601 instant."""
        if self.start == "now":
            return now
        if re.fullmatch(r"\d{1,2}:\d{2}", self.start):
            local = now.astimezone(LOCAL)
            clock = time.fromisoformat(self.start.zfill(5))
            return datetime.combine(local.date(), clock, tzinfo=LOCAL).astimezone(UTC)
        try:
            parsed = datetime.fromisoformat(self.start)
        except ValueError as exc:
            raise ValueError(f"start {self.start!r} is not 'now', HH:MM or ISO-8601") from exc
        if parsed.tzinfo is None:
            raise ValueError(f"start {self.start!r} needs a UTC offset")
        return parsed.astimezone(UTC)

    def expected_kinds(self) -> set[str]:
        return {kind for event in self.events for kind in event.expect}


class ScenarioError(ValueError):
    """A scenario that cannot be found or read; the message says where and why."""


def shipped_scenarios() -> list[str]:
    """Names of the scenarios shipped in `simulators/scenarios/`."""
    folder = resources.files("simulators") / "scenarios"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name, or a YAML file by path."""
    text: str
    name: str
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ScenarioError(f"cannot read scenario {path}: {exc}") from exc
        name = path.stem
    else:
        shipped = resources.files("simulators") / "scenarios" / f"{name_or_path}.yaml"
        if not shipped.is_file():
            raise ScenarioError(
                f"no scenario {name_or_path!r}; shipped ones: {', '.join(shipped_scenarios())}"
            )
        text = shipped.read_text(encoding="utf-8")
        name = str(name_or_path)
    return parse_scenario(text, name)


def parse_scenario(text: str, name: str = "") -> Scenario:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"scenario {name}: not YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ScenarioError(f"scenario {name}: expected a mapping at the top")
    data.setdefault("name", name)
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'scenario'}: {e['msg']}" for e in exc.errors()[:5]
        )
        raise ScenarioError(f"scenario {name}: {problems}") from None
