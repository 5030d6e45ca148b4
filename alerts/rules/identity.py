"""`identity_mismatch`: a vessel's identities tell stories that cannot all be true.

`tracking.anomalies` finds them and sends each as an `identity_anomaly` record (source `identity`) for
the vessel concerned; this rule turns them into conditions, one per vessel and anomaly
(`identity_mismatch:vessel:<id>:<anomaly>`):

| anomaly            | severity | what it means                                                        |
|--------------------|----------|----------------------------------------------------------------------|
| `dark_departure`   | high     | the boat left harbour through a gate with no position from any source |
| `sources_disagree` | medium   | its AIS and its terminal place it kilometres apart                    |
| `gate_elsewhere`   | medium   | a gate read its tag while its track was somewhere else                |

`mmsi_two_places` is spoofing, not a mismatch: `SpoofingRule` takes it. An anomaly clears when it has
not been reported again for `QUIET_S` (an hour; there is no setting for it yet). The detector repeats
a persisting anomaly every few minutes, so a live mismatch stays open, and one that was a single event
(a dark departure) stays open long enough to be seen, and remains in the alert history after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.model import AlertKind, Condition, Position, Severity
from alerts.rules.base import Record, Rule, RuleContext, vessel_key
from tracking.fleet import VesselState

KIND: AlertKind = "identity_mismatch"
RECORD_KIND = "identity_anomaly"
QUIET_S = 3600.0
SEVERITY: dict[str, Severity] = {
    "dark_departure": "high",
    "sources_disagree": "medium",
    "gate_elsewhere": "medium",
}
TITLES = {
    "dark_departure": "Identity: left harbour without any position report",
    "sources_disagree": "Identity: AIS and terminal place the vessel apart",
    "gate_elsewhere": "Identity: tag read at a gate far from the vessel's track",
}
# Fields of the anomaly record that are not evidence (the record's framing, or in the condition already).
_FRAMING = frozenset({"kind", "source", "ts", "received_at", "anomaly", "vessel_id", "lon", "lat", "drill"})


class IdentityMismatchRule(Rule):
    name = KIND

    def __init__(self) -> None:
        self._last_seen: dict[tuple[int, str], datetime] = {}  # (vessel, anomaly) → last report

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        anomaly = str(record.get("anomaly") or "")
        if record.get("kind") != RECORD_KIND or anomaly == "mmsi_two_places" or not anomaly:
            return []
        self._last_seen[(current.vessel_id, anomaly)] = ctx.now
        lon, lat = record.get("lon"), record.get("lat")
        if lon is None or lat is None:
            lon, lat = current.lon, current.lat
        ts = record.get("ts")
        drill = bool(record.get("drill")) or current.drill
        details = {key: json_ready(value) for key, value in record.items() if key not in _FRAMING}
        return [
            Condition(
                kind=KIND,
                key=vessel_key(KIND, current.vessel_id, anomaly),
                # An anomaly the detector learns later is still worth a look: medium, not dropped.
                severity=SEVERITY.get(anomaly, "medium"),
                title=TITLES.get(anomaly, f"Identity: {anomaly.replace('_', ' ')}"),
                vessel_id=current.vessel_id,
                position=None if lon is None or lat is None else Position(float(lon), float(lat)),
                details={"anomaly": anomaly, "mmsi": current.mmsi, "terminal": current.terminal, **details},
                drill=drill,
                observed_at=ts if isinstance(ts, datetime) else ctx.now,
            )
        ]

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        quiet = [key for key, seen in self._last_seen.items() if (ctx.now - seen).total_seconds() >= QUIET_S]
        for key in quiet:
            del self._last_seen[key]
        return [Condition.cleared(KIND, vessel_key(KIND, *key), observed_at=ctx.now) for key in quiet]


def json_ready(value: Any) -> Any:
    """A record's value for `details`, which is sent as JSON: datetimes as ISO-8601 text, containers
    walked, anything else as it is."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    return value
