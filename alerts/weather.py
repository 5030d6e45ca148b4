"""CAP weather warnings: received (HTTP, a watched folder, MQTT), kept, and handed to the weather rule.

Every document accepted is stored whole in `weather_warnings` before the rule sees it, so the
warnings in force are rebuilt after a restart by applying the stored documents again in `sent` order
(Updates replace, Cancels remove, exactly as when they arrived). A document already stored is
accepted again without effect: gateways resend.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import shapely.geometry
from psycopg.types.json import Jsonb

from alerts.cap import CapAlert, CapError, areas_geojson, parse_cap
from alerts.rules.base import RuleContext
from alerts.rules.weather import WeatherRule, WeatherWarning, return_to_port_board
from tracking.db import Pool

log = logging.getLogger(__name__)

# Documents older than this are not replayed at start (a warning lasts hours to days).
REPLAY_DAYS = 14


class WeatherService:
    def __init__(self, pool: Pool, rule: WeatherRule) -> None:
        self.pool = pool
        self.rule = rule

    async def load(self) -> int:
        since = datetime.now(UTC) - timedelta(days=REPLAY_DAYS)
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT document FROM weather_warnings WHERE sent >= %s ORDER BY sent, id", (since,)
            )
            rows = await cur.fetchall()
        for (document,) in rows:
            try:
                self.rule.apply(parse_cap(document.encode()))
            except CapError as exc:  # stored by an older version with other rules: skip, say so
                log.warning("stored CAP document no longer parses: %s", exc)
        return len(rows)

    async def receive(self, document: bytes) -> tuple[CapAlert, bool]:
        """Parse, store and apply one CAP document; returns (alert, whether it was new). Raises CapError."""
        alert = parse_cap(document)
        first = alert.infos[0] if alert.infos else None
        async with self.pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO weather_warnings (identifier, sender, sent, msg_type, status, event, severity,"
                " urgency, certainty, headline, onset, expires, areas, references_ids, document)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (sender, identifier, sent) DO NOTHING RETURNING id",
                (
                    alert.identifier,
                    alert.sender,
                    alert.sent,
                    alert.msg_type,
                    alert.status,
                    first.event if first else None,
                    first.severity if first else None,
                    first.urgency if first else None,
                    first.certainty if first else None,
                    first.headline if first else None,
                    first.onset if first else None,
                    first.expires if first else None,
                    Jsonb(areas_geojson(alert)),
                    [f"{r.sender},{r.identifier}" for r in alert.references],
                    document.decode("utf-8", "replace"),
                ),
            )
            new = await cur.fetchone() is not None
        if new:
            self.rule.apply(alert)
            log.info("CAP %s %s from %s applied", alert.msg_type, alert.identifier, alert.sender)
        return alert, new

    def in_force(self, when: datetime) -> list[WeatherWarning]:
        return self.rule.active_warnings(when)

    def board(self, ctx: RuleContext) -> list[dict[str, Any]]:
        """Each warning in force with the vessels still at sea in its area: distance and ETA to port."""
        out = []
        for warning in self.rule.active_warnings(ctx.now):
            rows = return_to_port_board(ctx, warning)
            out.append(
                {
                    "warning": warning_json(warning),
                    "vessels_at_sea": [
                        {
                            "vessel_id": r.vessel_id,
                            "mmsi": r.mmsi,
                            "name": r.name,
                            "lon": r.lon,
                            "lat": r.lat,
                            "speed_kn": r.speed_kn,
                            "nearest_port": r.port_name,
                            "nearest_port_id": r.port_id,
                            "distance_nm": r.distance_nm,
                            "eta_s": r.eta_s,
                            "eta": r.eta.isoformat() if r.eta else None,
                        }
                        for r in rows
                    ],
                }
            )
        return out


def warning_json(warning: WeatherWarning) -> dict[str, Any]:
    return {
        "id": warning.id,
        "identifier": warning.identifier,
        "sender": warning.sender,
        "event": warning.event,
        "headline": warning.headline,
        "severity": warning.severity,
        "start": warning.start.isoformat(),
        "end": warning.end.isoformat() if warning.end else None,
        "drill": warning.drill,
        # Where it applies, for the map (GeoJSON, lon/lat): the area a gale warning covers is what an
        # operator compares with the boats still out.
        "area": shapely.geometry.mapping(warning.geometry),
    }
