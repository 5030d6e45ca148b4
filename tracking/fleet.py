"""The live picture of the fleet: the latest state of every vessel, in memory.

`Fleet.update` folds one record into its vessel's state and returns the state before and after, which is
what record rules look at. `Fleet.arrays()` gives the same states as numpy columns so that rules over
the whole fleet (lost contact, collision risk, weather areas) run in bulk. Restarting loses nothing:
`load_fleet` rebuilds the picture from the latest stored position of each vessel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from tracking.db import Pool

Record = dict[str, Any]
AisClass = Literal["A", "B"]
FISHING_SHIP_TYPE = 30

# AIS message types by transponder class: 18, 19 and 24 come from class B.
CLASS_B_TYPES = frozenset({18, 19, 24})
POSITION_KINDS = frozenset({"position"})


@dataclass(frozen=True, slots=True)
class VesselState:
    vessel_id: int
    mmsi: int | None = None
    terminal: str | None = None
    name: str | None = None
    ship_type: int | None = None
    is_fishing: bool = False
    licensed_area: str | None = None
    lon: float | None = None
    lat: float | None = None
    speed: float | None = None  # knots
    course: float | None = None  # degrees
    heading: float | None = None  # degrees
    status: int | None = None  # AIS navigational status
    ts: datetime | None = None  # time of the latest position
    source: str | None = None  # where the latest position came from: ais, jt808, terminal_json
    ais_class: AisClass | None = None
    feed: str | None = None
    drill: bool = False
    last_seen: dict[str, datetime] = field(default_factory=dict)  # latest report time per source

    @property
    def has_position(self) -> bool:
        return self.lon is not None and self.lat is not None


def _is_fishing(ship_type: int | None, registered: bool) -> bool:
    return registered or ship_type == FISHING_SHIP_TYPE


def fold(state: VesselState, record: Record) -> VesselState:
    """The vessel's state after `record`. Pure; a position older than the current one updates nothing
    but `last_seen` (late batch uploads must not move the live picture backwards)."""
    ts = record.get("ts") or record.get("received_at")
    source = str(record.get("source") or "")
    seen = dict(state.last_seen)
    if isinstance(ts, datetime) and (source not in seen or ts > seen[source]):
        seen[source] = ts
    changes: dict[str, Any] = {"last_seen": seen}
    if record.get("mmsi") is not None and record.get("source") == "ais":
        changes["mmsi"] = int(record["mmsi"])
    if record.get("terminal"):
        changes["terminal"] = str(record["terminal"])
    if record.get("drill"):
        changes["drill"] = True
    kind = record.get("kind")
    if kind == "static":
        if record.get("shipname") and not state.name:
            changes["name"] = record["shipname"]
        if record.get("ship_type") is not None:
            changes["ship_type"] = int(record["ship_type"])
            changes["is_fishing"] = _is_fishing(int(record["ship_type"]), state.is_fishing)
    # A terminal without a GNSS fix reports 0, 0: that is no position, only a sign of life.
    located = (
        record.get("lon") is not None and record.get("lat") is not None and record.get("fix") is not False
    )
    if kind in POSITION_KINDS and located:
        newer = state.ts is None or not isinstance(ts, datetime) or ts >= state.ts
        if newer:
            changes.update(
                lon=float(record["lon"]),
                lat=float(record["lat"]),
                speed=_optional(record.get("speed")),
                course=_optional(record.get("course")),
                heading=_optional(record.get("heading")),
                ts=ts if isinstance(ts, datetime) else state.ts,
                source=source,
                feed=record.get("feed"),
            )
            if source == "ais":
                changes["status"] = record.get("status")
                changes["ais_class"] = "B" if record.get("msg_type") in CLASS_B_TYPES else "A"
    return replace(state, **changes)


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


@dataclass
class FleetArrays:
    """Column view of the vessels that have a position (row i is the same vessel in every column)."""

    vessel_ids: npt.NDArray[np.int64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    speed: npt.NDArray[np.float64]  # NaN when unknown
    course: npt.NDArray[np.float64]  # NaN when unknown
    ts: npt.NDArray[np.float64]  # unix seconds of the latest position

    def __len__(self) -> int:
        return len(self.vessel_ids)


class Fleet:
    def __init__(self) -> None:
        self._states: dict[int, VesselState] = {}
        self._arrays: FleetArrays | None = None

    def __len__(self) -> int:
        return len(self._states)

    def __contains__(self, vessel_id: int) -> bool:
        return vessel_id in self._states

    def get(self, vessel_id: int) -> VesselState | None:
        return self._states.get(vessel_id)

    def states(self) -> list[VesselState]:
        return list(self._states.values())

    def put(self, state: VesselState) -> None:
        self._states[state.vessel_id] = state
        self._arrays = None

    def update(self, vessel_id: int, record: Record) -> tuple[VesselState | None, VesselState]:
        previous = self._states.get(vessel_id)
        current = fold(previous or VesselState(vessel_id=vessel_id), record)
        self.put(current)
        return previous, current

    def arrays(self) -> FleetArrays:
        """Columns of the vessels with a position; rebuilt only after a change."""
        if self._arrays is None:
            placed = [s for s in self._states.values() if s.has_position]
            self._arrays = FleetArrays(
                vessel_ids=np.array([s.vessel_id for s in placed], dtype=np.int64),
                lon=np.array([s.lon for s in placed], dtype=np.float64),
                lat=np.array([s.lat for s in placed], dtype=np.float64),
                speed=np.array([math.nan if s.speed is None else s.speed for s in placed], dtype=np.float64),
                course=np.array(
                    [math.nan if s.course is None else s.course for s in placed], dtype=np.float64
                ),
                ts=np.array([s.ts.timestamp() if s.ts else math.nan for s in placed], dtype=np.float64),
            )
        return self._arrays

    def in_bbox(self, lon1: float, lat1: float, lon2: float, lat2: float) -> list[VesselState]:
        cols = self.arrays()
        inside = (cols.lon >= min(lon1, lon2)) & (cols.lon <= max(lon1, lon2))
        inside &= (cols.lat >= min(lat1, lat2)) & (cols.lat <= max(lat1, lat2))
        return [self._states[int(i)] for i in cols.vessel_ids[inside]]


async def load_fleet(pool: Pool) -> Fleet:
    """The fleet as the database last saw it: registry data and each vessel's latest position."""
    fleet = Fleet()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT v.id, v.name, v.is_fishing, v.licensed_area,"
            " (SELECT value FROM vessel_identities i WHERE i.vessel_id = v.id AND i.kind = 'mmsi'"
            "   ORDER BY valid_to DESC LIMIT 1),"
            " (SELECT value FROM vessel_identities i WHERE i.vessel_id = v.id AND i.kind = 'terminal'"
            "   ORDER BY valid_to DESC LIMIT 1),"
            " p.ts, p.source, p.lon, p.lat, p.speed, p.course, p.heading, p.status"
            " FROM vessels v LEFT JOIN LATERAL ("
            "   SELECT ts, source, lon, lat, speed, course, heading, status FROM positions"
            "   WHERE vessel_id = v.id ORDER BY ts DESC LIMIT 1) p ON true"
        )
        for row in await cur.fetchall():
            (
                vessel_id,
                name,
                is_fishing,
                area,
                mmsi,
                terminal,
                ts,
                source,
                lon,
                lat,
                speed,
                course,
                heading,
                status,
            ) = row
            fleet.put(
                VesselState(
                    vessel_id=int(vessel_id),
                    name=name,
                    is_fishing=bool(is_fishing),
                    licensed_area=area,
                    mmsi=int(mmsi) if mmsi and str(mmsi).isdigit() else None,
                    terminal=terminal,
                    lon=lon,
                    lat=lat,
                    speed=speed,
                    course=course,
                    heading=heading,
                    status=status,
                    ts=ts.astimezone(UTC) if ts else None,
                    source=source,
                    last_seen={source: ts.astimezone(UTC)} if ts and source else {},
                )
            )
    return fleet
