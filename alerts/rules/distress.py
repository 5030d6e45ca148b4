"""`distress`: someone may be in danger. One incident per vessel fuses every source that says so.

Sources (`details.sources[].source`):

| source            | raised by                                                                       |
|-------------------|---------------------------------------------------------------------------------|
| `ais_sart`        | a position from an AIS-SART (MMSI 970xxyyyy)                                    |
| `ais_mob`         | a position from an AIS man-overboard device (972xxyyyy)                         |
| `ais_epirb`       | a position from an EPIRB-AIS (974xxyyyy)                                        |
| `ais_status_14`   | navigational status 14 ("AIS-SART active") from any other station               |
| `ais_safety_text` | safety text (types 12/14): SART/MOB/EPIRB ACTIVE or TEST, MAYDAY, PAN PAN        |
| `jt808_emergency` | JT/T 808 alarm bit 0, the BeiDou terminal's emergency button                    |
| `terminal_sos`    | the same bit (`alarms: ["emergency"]`) in terminal JSON from a gateway          |

A rescue device transmits status 14 when active and 15 when tested (IEC 61097-14); a test, or a
safety text with the word TEST, is `test: true` and, while nothing but tests has been heard, the
incident's severity is info. Status 15 from an ordinary vessel means "not defined" and is ignored.
For 970/972/974 devices the vessel is the device itself (the identity registry gives it its own
provisional vessel), and `details.device` says what it is.

Nothing suppresses a distress (drill, spoofing, rates): a doubtful one is raised with
`details.unverified: true` and `details.doubts` saying why. The rule never clears one — only a person
does (`NEVER_AUTO_CLEARED`); it forgets an incident's sources `FORGET_AFTER_S` after its last signal, so
a later, new incident of the same vessel starts its own list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from alerts.model import AlertKind, Condition, Position
from alerts.rules.base import Record, Rule, RuleContext, vessel_key
from alerts.rules.spoofing import mmsi_category, mmsi_problem
from tracking.fleet import VesselState

KIND: AlertKind = "distress"
FORGET_AFTER_S = 12 * 3600.0  # an AIS-SART transmits for at least 96 h; 12 h of silence is a new story
EMERGENCY_BIT = 1 << 0  # JT/T 808 alarm bit 0, 紧急报警

DEVICES = {
    "sart": ("ais_sart", "AIS-SART"),
    "mob": ("ais_mob", "AIS MOB (man overboard) device"),
    "epirb": ("ais_epirb", "EPIRB-AIS"),
}
# Title words per source, most telling first: the incident's title comes from the first active one.
TITLES = {
    "jt808_emergency": "emergency button (BeiDou terminal)",
    "terminal_sos": "SOS from a safety terminal",
    "ais_sart": "AIS-SART active",
    "ais_mob": "man overboard (AIS MOB device)",
    "ais_epirb": "EPIRB-AIS active",
    "ais_status_14": "AIS status 'SART active' from the vessel",
    "ais_safety_text": "AIS safety message",
}
DISTRESS_TEXT = re.compile(r"\b(?:(?:AIS[\s-]?)?(?:SART|MOB|EPIRB)\s+(?:ACTIVE|TEST)|MAYDAY|PAN[\s-]*PAN)\b")
TEST_TEXT = re.compile(r"\bTEST\b")


class Suspicions(Protocol):
    """What another rule suspects a vessel of (the spoofing rule's `suspected`)."""

    def suspected(self, vessel_id: int) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class Signal:
    source: str
    test: bool
    doubt: str | None = None


@dataclass
class _Seen:
    first: datetime
    last: datetime
    count: int = 1


@dataclass
class _Incident:
    sources: dict[tuple[str, bool], _Seen] = field(default_factory=dict)
    doubts: set[str] = field(default_factory=set)  # doubts a signal itself raised (they stay)
    text: str | None = None
    last: datetime | None = None


def signals(record: Record) -> list[Signal]:
    """The distress signals one record carries (pure; no state)."""
    source, kind = record.get("source"), record.get("kind")
    found: list[Signal] = []
    if source == "ais":
        mmsi = record.get("mmsi")
        device = DEVICES.get(mmsi_category(int(mmsi))) if mmsi is not None else None
        status = record.get("status")
        if kind == "position" and device is not None:
            unusual = None if status in (14, 15) else f"the device sent navigational status {status}"
            found.append(Signal(device[0], test=status == 15, doubt=unusual))
        elif kind == "position" and status == 14:
            found.append(Signal("ais_status_14", test=False))
        text = str(record.get("text") or "").upper()
        if kind == "safety" and DISTRESS_TEXT.search(text):
            found.append(Signal("ais_safety_text", test=bool(TEST_TEXT.search(text))))
    elif _emergency(record):
        doubt = "the terminal has not authenticated" if record.get("unauthenticated") else None
        found.append(Signal("jt808_emergency" if source == "jt808" else "terminal_sos", False, doubt))
    return found


def _emergency(record: Record) -> bool:
    bits = record.get("alarm_bits")
    alarms = record.get("alarms") or ()
    return (isinstance(bits, int) and bool(bits & EMERGENCY_BIT)) or "emergency" in alarms


class DistressRule(Rule):
    """`spoofing` (optional) says which vessels are suspected of spoofing: their distress is unverified."""

    name = KIND

    def __init__(self, spoofing: Suspicions | None = None) -> None:
        self.spoofing = spoofing
        self._incidents: dict[int, _Incident] = {}

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        found = signals(record)
        if not found:
            return []
        ts = record.get("ts")
        at = ts if isinstance(ts, datetime) else ctx.now
        incident = self._incidents.setdefault(current.vessel_id, _Incident())
        for signal in found:
            seen = incident.sources.get((signal.source, signal.test))
            if seen is None:
                incident.sources[(signal.source, signal.test)] = _Seen(at, at)
            else:
                seen.first, seen.last, seen.count = min(seen.first, at), max(seen.last, at), seen.count + 1
            if signal.doubt:
                incident.doubts.add(signal.doubt)
        if record.get("kind") == "safety":
            incident.text = str(record.get("text") or "")
        incident.last = max(incident.last or at, at)
        return [self._condition(previous, current, record, incident, at)]

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        stale = [
            vessel
            for vessel, incident in self._incidents.items()
            if incident.last is not None and (ctx.now - incident.last).total_seconds() > FORGET_AFTER_S
        ]
        for vessel in stale:
            del self._incidents[vessel]
        return []  # never a clear: only a person closes a distress

    def _condition(
        self,
        previous: VesselState | None,
        state: VesselState,
        record: Record,
        incident: _Incident,
        at: datetime,
    ) -> Condition:
        lon, lat = record.get("lon"), record.get("lat")
        doubts = sorted(incident.doubts)
        known = state
        if record.get("fix") is False:
            # The button pressed without a GNSS fix: the report's 0, 0 (or stale numbers) were folded
            # into the live state too, so the last known position is the one before this report.
            lon = lat = None
            known = previous if previous is not None else VesselState(vessel_id=state.vessel_id)
            doubts.append("the terminal had no GNSS fix")
        if lon is None or lat is None:
            lon, lat = known.lon, known.lat  # e.g. a safety text, which carries no position
        if lon is None or lat is None:
            doubts.append("no position known")
        if self.spoofing is not None:
            doubts += [
                f"suspected of spoofing: {reason}" for reason in self.spoofing.suspected(state.vessel_id)
            ]
        mmsi = state.mmsi if state.mmsi is not None else record.get("mmsi")
        problem = mmsi_problem(int(mmsi)) if mmsi is not None else None
        if problem is not None:
            doubts.append(problem)
        active = sorted(
            (entry for entry in incident.sources.items() if not entry[0][1]),
            key=lambda entry: list(TITLES).index(entry[0][0]),
        )
        drill = bool(record.get("drill")) or state.drill
        device = DEVICES.get(mmsi_category(int(mmsi))) if mmsi is not None else None
        details: dict[str, Any] = {
            "sources": [
                {
                    "source": source,
                    "test": test,
                    "first_seen": seen.first.isoformat(),
                    "last_seen": seen.last.isoformat(),
                    "count": seen.count,
                }
                for (source, test), seen in sorted(incident.sources.items(), key=lambda e: e[1].first)
            ],
            "unverified": bool(doubts),
            "doubts": doubts,
            "drill": drill,
            "test": not active,
            "mmsi": mmsi,
            "terminal": state.terminal,
            "name": state.name,
        }
        if device is not None:
            details["device"] = {"type": device[1], "mmsi": mmsi}
        if incident.text is not None:
            details["text"] = incident.text
        return Condition(
            kind=KIND,
            key=vessel_key(KIND, state.vessel_id),
            severity="critical" if active else "info",
            title=_title(incident, [source for (source, _), _ in active], device),
            vessel_id=state.vessel_id,
            position=None if lon is None or lat is None else Position(float(lon), float(lat)),
            details=details,
            drill=drill,
            observed_at=at,
        )


def _title(incident: _Incident, active: list[str], device: tuple[str, str] | None) -> str:
    if not active:
        what = device[1] if device is not None else "distress signal"
        text = f" “{incident.text}”" if incident.text else ""
        return f"Test of {what}{text} (no distress)"
    words = TITLES[active[0]]
    if active[0] == "ais_safety_text" and incident.text:
        words = f"AIS safety message “{incident.text}”"
    others = len(active) - 1
    return f"Distress: {words}" + (f", and {others} other signal{'s' * (others > 1)}" if others else "")
