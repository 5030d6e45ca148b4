"""`spoofing`: positions or identities that cannot be true.

Four reasons, each its own condition `spoofing:vessel:<id>:<reason>`:

- `implied_speed` (medium) — two positions of the vessel *from the same source* (JT/T 808, terminal
  JSON) imply a speed above `spoofing.max_speed_kn`. The same test on AIS positions is what
  `tracking.anomalies` reports as "one MMSI in two places", so for AIS the finding goes under that
  reason instead and one jump stays one alert whoever finds it first.
- `mmsi_two_places` (high) — the AIS jump above, or an `identity_anomaly` record saying so.
- `on_land` (medium) — the position is more than `spoofing.on_land_margin_m` inland (`tracking.coast`).
- `invalid_mid` (medium) — a ship-station MMSI whose Maritime Identification Digits are not allocated,
  or a number that is no MMSI format at all (`mmsi_problem`).

Implied speed is (distance − `POSITION_SLACK_M`) / max(|Δt|, `MIN_INTERVAL_S`) against the fixes just
before and just after the new one in time, from a short history per vessel and source: a late (out of
order) report is compared with its true neighbours, a copy of a fix already seen (a second receiver,
stamped up to `DUPLICATE_WINDOW_S` later) is recognised by its identical position and ignored, a vessel
lying still repeats its position and only moves its latest fix on in time, the first report has nothing
to compare with, and a zero or tiny Δt cannot divide by nothing. SAR aircraft (type 9) fly; they are not
checked.

A reason clears when it has not recurred for `QUIET_S` (half an hour; there is no setting for it yet):
spoofing comes and goes with the spoofer, and a single glitch should not stay open for ever. While it
recurs it is re-sent at most every `REFRESH_S`, so a boat with a bad MMSI is not an update per report.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from alerts.model import AlertKind, Condition, Position, Severity
from alerts.rules.base import Record, Rule, RuleContext, vessel_key
from alerts.rules.identity import json_ready
from tracking.coast import Land
from tracking.fleet import VesselState
from tracking.geo import KNOT_MS, haversine_m

KIND: AlertKind = "spoofing"
QUIET_S = 1800.0
# GNSS scatter plus AIS position resolution (type 27 long-range reports are rounded to about 185 m).
POSITION_SLACK_M = 250.0
# AIS times have one-second resolution and each receiver stamps its copy itself.
MIN_INTERVAL_S = 2.0
# A copy of a transmission from a slower feed, stamped on arrival, can come this late and still be
# known for a copy; later ones are compared like any report. At most MAX_FIXES fixes are held.
DUPLICATE_WINDOW_S = 60.0
MAX_FIXES = 40  # a class A vessel under way reports every 2 s: 30 fixes a minute
HISTORY_S = 3600.0  # fixes older than this are forgotten (checked every PRUNE_EVERY_S)
PRUNE_EVERY_S = 300.0
# A reason that keeps recurring (every report of a bad MMSI) is re-sent at most this often.
REFRESH_S = 60.0
SAME_POSITION_DEG = 1e-7  # about a centimetre: copies of one transmission decode to the same numbers
AIRCRAFT_MSG_TYPES = frozenset({9})
SEVERITY: dict[str, Severity] = {
    "implied_speed": "medium",
    "mmsi_two_places": "high",
    "on_land": "medium",
    "invalid_mid": "medium",
}
TITLES = {
    "implied_speed": "Spoofing suspected: impossible jump in position",
    "mmsi_two_places": "Spoofing suspected: one MMSI in two places",
    "on_land": "Spoofing suspected: position on land",
    "invalid_mid": "Spoofing suspected: MMSI with no valid country code",
}


# --- MMSI formats (ITU-R M.585) ----------------------------------------------------------------------

# Maritime Identification Digits allocated by the ITU (the MID table of the ITU's MARS database,
# https://www.itu.int/en/ITU-R/terrestrial/fmd/Pages/mid.aspx, as it stood in 2023), written down here by
# hand as runs of consecutive allocated numbers; everything in 201-775 outside them is unallocated, e.g.
# 217, 221-223, 260, 280-300, 302, 402, 404. Check a disputed number against that page: a MID newly
# allocated since would show here as a false "invalid_mid" until it is added.
_MID_RUNS: tuple[tuple[int, int], ...] = (
    # Europe
    (201, 216), (218, 220), (224, 259), (261, 279),
    # North and Central America, the Caribbean
    (301, 301), (303, 312), (314, 314), (316, 316), (319, 319), (321, 321), (323, 323), (325, 325),
    (327, 327), (329, 332), (334, 334), (336, 336), (338, 339), (341, 341), (343, 343), (345, 345),
    (347, 348), (350, 359), (361, 362), (364, 364), (366, 379),
    # Asia
    (401, 401), (403, 403), (405, 405), (408, 408), (410, 410), (412, 414), (416, 417), (419, 419),
    (422, 423), (425, 425), (428, 428), (431, 432), (434, 434), (436, 438), (440, 441), (443, 443),
    (445, 445), (447, 447), (450, 451), (453, 453), (455, 455), (457, 457), (459, 459), (461, 461),
    (463, 463), (466, 466), (468, 468), (470, 473), (475, 475), (477, 478),
    # Oceania
    (501, 501), (503, 503), (506, 506), (508, 508), (510, 512), (514, 516), (518, 518), (520, 520),
    (523, 523), (525, 525), (529, 529), (531, 531), (533, 533), (536, 536), (538, 538), (540, 540),
    (542, 542), (544, 544), (546, 546), (548, 548), (550, 550), (553, 553), (555, 555), (557, 557),
    (559, 559), (561, 561), (563, 567), (570, 570), (572, 572), (574, 574), (576, 578),
    # Africa
    (601, 601), (603, 603), (605, 605), (607, 613), (615, 622), (624, 627), (629, 638), (642, 642),
    (644, 645), (647, 647), (649, 650), (654, 657), (659, 672), (674, 679),
    # South America
    (701, 701), (710, 710), (720, 720), (725, 725), (730, 730), (735, 735), (740, 740), (745, 745),
    (750, 750), (755, 755), (760, 760), (765, 765), (770, 770), (775, 775),
)  # fmt: skip
ALLOCATED_MIDS: frozenset[int] = frozenset(mid for low, high in _MID_RUNS for mid in range(low, high + 1))

MmsiCategory = Literal[
    "ship", "group", "coast", "sar_aircraft", "handheld", "craft", "aton", "sart", "mob", "epirb", "invalid"
]
_PREFIXES: tuple[tuple[str, MmsiCategory], ...] = (
    ("970", "sart"),  # 970xxyyyy AIS-SART
    ("972", "mob"),  # 972xxyyyy man-overboard device
    ("974", "epirb"),  # 974xxyyyy EPIRB-AIS
    ("111", "sar_aircraft"),  # 111MIDxxx
    ("98", "craft"),  # 98MIDxxxx craft associated with a parent ship
    ("99", "aton"),  # 99MIDxxxx aid to navigation
    ("00", "coast"),  # 00MIDxxxx coast station
    ("0", "group"),  # 0MIDxxxxx group of ship stations
    ("8", "handheld"),  # 8MIDxxxxx handheld VHF with DSC and GNSS
)


def mmsi_category(mmsi: int) -> MmsiCategory:
    """What kind of station an MMSI names, by its format; "invalid" if it fits none."""
    if not 0 < mmsi <= 999_999_999:
        return "invalid"
    digits = f"{mmsi:09d}"
    for prefix, category in _PREFIXES:
        if digits.startswith(prefix):
            return category
    return "ship" if digits[0] in "234567" else "invalid"


def mmsi_problem(mmsi: int) -> str | None:
    """Why an MMSI cannot be a real one, or None. Special formats (SART, AtoN, coast…) are not
    checked further: their MIDs are another rule's business and their holders are not ships."""
    category = mmsi_category(mmsi)
    if category == "invalid":
        return f"{mmsi} is not an MMSI format (ITU-R M.585)"
    if category == "ship" and mmsi // 1_000_000 not in ALLOCATED_MIDS:
        return f"MID {mmsi // 1_000_000} is not allocated to any country"
    return None


def is_vessel_mmsi(mmsi: int | None) -> bool:
    """False for identities that are not boats: buoys and beacons, rescue devices, aircraft, shore
    stations. A terminal-only vessel (no MMSI) or a boat with a malformed MMSI is still a boat."""
    return mmsi is None or mmsi_category(mmsi) in ("ship", "handheld", "craft", "invalid")


@dataclass(frozen=True, slots=True)
class _Fix:
    t: float  # unix seconds
    lon: float
    lat: float


class SpoofingRule(Rule):
    """`land` defaults to the shipped Shanwei coast; pass `Land([])` to switch the on-land test off."""

    name = KIND

    def __init__(self, land: Land | None = None) -> None:
        self.land = land if land is not None else Land.shanwei()
        self._fixes: dict[tuple[int, str], list[_Fix]] = {}  # (vessel, source) → fixes by time
        self._last_seen: dict[tuple[int, str], datetime] = {}  # (vessel, reason) → last occurrence
        self._sent: dict[tuple[int, str], datetime] = {}  # (vessel, reason) → last sent
        self._pruned_at: datetime | None = None

    def suspected(self, vessel_id: int) -> list[str]:
        """The reasons this vessel is currently suspected of (for the distress rule's `unverified`)."""
        return sorted(reason for vessel, reason in self._last_seen if vessel == vessel_id)

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        vessel = current.vessel_id
        found: list[tuple[str, dict[str, Any]]] = []
        kind = record.get("kind")
        if kind == "identity_anomaly" and record.get("anomaly") == "mmsi_two_places":
            found.append(("mmsi_two_places", {"evidence": json_ready(record.get("evidence"))}))
        if (
            kind in ("position", "static")
            and record.get("source") == "ais"
            and record.get("mmsi") is not None
        ):
            problem = mmsi_problem(int(record["mmsi"]))
            if problem is not None:
                found.append(("invalid_mid", {"mmsi": int(record["mmsi"]), "problem": problem}))
        lon, lat = record.get("lon"), record.get("lat")
        # A terminal without a GNSS fix reports 0, 0 or its last fix: no evidence of anything.
        if kind == "position" and lon is not None and lat is not None and record.get("fix") is not False:
            margin = ctx.settings.spoofing.on_land_margin_m
            if self.land.on_land(float(lon), float(lat), margin):
                found.append(("on_land", {"margin_m": margin}))
            found += self._jump(ctx, vessel, record, float(lon), float(lat))
        out = []
        for reason, details in found:
            key = (vessel, reason)
            self._last_seen[key] = ctx.now
            sent = self._sent.get(key)
            if sent is None or (ctx.now - sent).total_seconds() >= REFRESH_S:
                self._sent[key] = ctx.now
                out.append(self._condition(ctx, current, record, reason, details))
        return out

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        quiet = [key for key, seen in self._last_seen.items() if (ctx.now - seen).total_seconds() >= QUIET_S]
        cleared = []
        for vessel, reason in quiet:
            del self._last_seen[(vessel, reason)]
            self._sent.pop((vessel, reason), None)
            cleared.append(Condition.cleared(KIND, vessel_key(KIND, vessel, reason), observed_at=ctx.now))
        if self._pruned_at is None or (ctx.now - self._pruned_at).total_seconds() >= PRUNE_EVERY_S:
            self._pruned_at = ctx.now
            horizon = ctx.now.timestamp() - HISTORY_S
            self._fixes = {key: fixes for key, fixes in self._fixes.items() if fixes[-1].t >= horizon}
        return cleared

    # --- implied speed ---------------------------------------------------------------------------

    def _jump(
        self, ctx: RuleContext, vessel: int, record: Record, lon: float, lat: float
    ) -> list[tuple[str, dict[str, Any]]]:
        ts = record.get("ts")
        source = str(record.get("source") or "")
        if not isinstance(ts, datetime) or record.get("msg_type") in AIRCRAFT_MSG_TYPES:
            return []
        fixes = self._fixes.setdefault((vessel, source), [])
        fix = _Fix(ts.timestamp(), lon, lat)
        for i, seen in enumerate(fixes):
            if abs(seen.lon - lon) <= SAME_POSITION_DEG and abs(seen.lat - lat) <= SAME_POSITION_DEG:
                if i == len(fixes) - 1 and fix.t > seen.t:
                    fixes[i] = fix  # a vessel lying still: the same position, later
                return []  # else a copy of a fix already compared (another receiver, a repeat)
        at = bisect.bisect([f.t for f in fixes], fix.t)
        neighbours = fixes[max(at - 1, 0) : at + 1]
        fixes.insert(at, fix)
        cutoff = fixes[-1].t - DUPLICATE_WINDOW_S
        fixes[:] = [f for f in fixes[-MAX_FIXES:] if f.t >= cutoff]
        worst = max((_implied(other, fix) for other in neighbours), default=None)
        if worst is None or worst[0] <= ctx.settings.spoofing.max_speed_kn:
            return []
        speed, distance, interval = worst
        reason = "mmsi_two_places" if source == "ais" else "implied_speed"
        return [
            (
                reason,
                {
                    "source": source,
                    "implied_speed_kn": round(speed, 1),
                    "distance_m": round(distance, 1),
                    "interval_s": round(interval, 3),
                    "max_speed_kn": ctx.settings.spoofing.max_speed_kn,
                },
            )
        ]

    # --- conditions ------------------------------------------------------------------------------

    def _condition(
        self, ctx: RuleContext, state: VesselState, record: Record, reason: str, details: dict[str, Any]
    ) -> Condition:
        ts = record.get("ts")
        lon, lat = record.get("lon"), record.get("lat")
        if lon is None or lat is None:
            lon, lat = state.lon, state.lat
        return Condition(
            kind=KIND,
            key=vessel_key(KIND, state.vessel_id, reason),
            severity=SEVERITY[reason],
            title=TITLES[reason],
            vessel_id=state.vessel_id,
            position=None if lon is None or lat is None else Position(float(lon), float(lat)),
            details={"reason": reason, "mmsi": state.mmsi, "terminal": state.terminal, **details},
            drill=bool(record.get("drill")) or state.drill,
            observed_at=ts if isinstance(ts, datetime) else ctx.now,
        )


def _implied(a: _Fix, b: _Fix) -> tuple[float, float, float]:
    """(implied speed in knots, distance in metres, interval in seconds) between two fixes."""
    distance = haversine_m(a.lon, a.lat, b.lon, b.lat)
    interval = abs(b.t - a.t)
    return max(0.0, distance - POSITION_SLACK_M) / max(interval, MIN_INTERVAL_S) / KNOT_MS, distance, interval
