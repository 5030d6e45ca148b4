"""What rules produce and what the alert engine keeps.

A rule returns `Condition`s: "this situation holds now" (active) or "it no longer holds" (cleared). The
engine turns conditions into `Alert`s: one alert per `key` while it is not resolved — a persistent
condition updates its alert, it never opens a second one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, get_args

Severity = Literal["critical", "high", "medium", "low", "info"]
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
SEVERITY_RANK: dict[str, int] = {
    name: rank for rank, name in enumerate(reversed(SEVERITIES))
}  # info 0 … critical 4

AlertKind = Literal[
    "distress",
    "geofence",
    "weather",
    "lost_contact",
    "collision_risk",
    "spoofing",
    "identity_mismatch",
    "not_under_command",
    "anchor_drag",
    "encounter",
    "loitering",
    "moratorium",
    "feed_outage",
]
ALERT_KINDS: tuple[AlertKind, ...] = get_args(AlertKind)

AlertState = Literal["open", "acknowledged", "assigned", "resolved"]

# Kinds a rule may never clear by itself: only a person closes them.
NEVER_AUTO_CLEARED: frozenset[str] = frozenset({"distress"})


@dataclass(frozen=True, slots=True)
class Position:
    lon: float
    lat: float


@dataclass(frozen=True)
class Condition:
    """One rule's finding about one situation.

    `key` names the situation so that repeated findings meet the same alert: e.g.
    `distress:vessel:42`, `geofence:vessel:42:zone:islets-mpa`, `collision_risk:pair:17:42`.
    """

    kind: AlertKind
    key: str
    active: bool = True
    severity: Severity = "medium"
    title: str = ""
    vessel_id: int | None = None
    position: Position | None = None
    details: dict[str, Any] = field(default_factory=dict)
    drill: bool = False
    observed_at: datetime | None = None

    @staticmethod
    def cleared(
        kind: AlertKind, key: str, *, observed_at: datetime | None = None, **details: Any
    ) -> Condition:
        return Condition(kind=kind, key=key, active=False, details=dict(details), observed_at=observed_at)


@dataclass(frozen=True)
class VesselRef:
    id: int | None
    mmsi: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class Alert:
    """An alert as stored and sent (DESIGN.md "Alerts")."""

    id: int
    seq: int
    kind: AlertKind
    severity: Severity
    state: AlertState
    key: str
    vessel: VesselRef
    position: Position | None
    opened_at: datetime
    updated_at: datetime
    title: str
    details: dict[str, Any]
    drill: bool
    assigned_to: str | None = None
    resolved_at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "seq": self.seq,
            "kind": self.kind,
            "severity": self.severity,
            "state": self.state,
            "vessel": {"id": self.vessel.id, "mmsi": self.vessel.mmsi, "name": self.vessel.name},
            "position": None
            if self.position is None
            else {"lon": self.position.lon, "lat": self.position.lat},
            "opened_at": self.opened_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
            "title": self.title,
            "details": self.details,
            "drill": self.drill,
            "assigned_to": self.assigned_to,
            "resolved_at": None if self.resolved_at is None else self.resolved_at.isoformat(),
        }
