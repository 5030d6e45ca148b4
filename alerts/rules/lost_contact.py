"""`lost_contact`: a vessel at sea that has not been heard for longer than its equipment allows.

Each source a vessel has been heard on has an expected interval: AIS class A `after_s`, class B
`class_b_after_s`, BeiDou / JT/T 808 and JSON terminals `terminal_after_s`; any other source (a gate tag
read) the longest of the three. A vessel is lost when *every* source it has been heard on is overdue:
one heard on any source within that source's interval is not lost. For a vessel with one source this
is "silent longer than its source's interval"; for a boat with AIS and a terminal it waits for the
terminal's interval before raising, since the terminal may simply not have reported yet.

Only vessels whose last known position is at sea (outside harbours and shelters): a boat moored in
port for the night is silent, not lost. Stations that are not boats (buoys, beacons) are skipped.

One condition per vessel, key `lost_contact:vessel:<id>`: high, critical once the silence reaches
`escalate_after_s`; cleared when the vessel is heard again. Conditions are emitted when they change
(raised, escalated, cleared), not on every tick.

Feeds (`alerts.rules.feed_outage`): a vessel whose feed is out raises no lost contact — the one
`feed_outage` alert covers it. When the feed comes back, silence is counted from its return, so the
vessels it carries get their usual interval to be heard again instead of all being lost at once. A
vessel already lost before its feed went out stays lost.

The work per tick is bulk: the fleet's position times (numpy) rule out every vessel heard within the
shortest interval, and only the rest are looked at one by one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from alerts.model import AlertKind, Condition, Position, Severity
from alerts.rules.base import Rule, RuleContext, vessel_key
from alerts.rules.geofence import in_port_mask, is_boat, vessel_label
from seawatch.settings import LostContactRules
from tracking.fleet import VesselState

KIND: AlertKind = "lost_contact"
TERMINAL_SOURCES = frozenset({"jt808", "terminal_json"})


class FeedHealth(Protocol):
    """What the lost-contact rule needs to know about feeds (`FeedOutageRule` provides it)."""

    def feed_is_out(self, feed: str) -> bool: ...

    def feed_restored_at(self, feed: str) -> datetime | None: ...


def expected_interval_s(settings: LostContactRules, state: VesselState, source: str) -> float:
    if source == "ais":
        return settings.class_b_after_s if state.ais_class == "B" else settings.after_s
    if source in TERMINAL_SOURCES:
        return settings.terminal_after_s
    return max(settings.after_s, settings.class_b_after_s, settings.terminal_after_s)


@dataclass(frozen=True)
class Silence:
    last_heard: datetime  # the latest report on any source
    source: str  # the source of that report
    counted_from: datetime  # last_heard, or a later feed restoration
    lost: bool


def silence(
    settings: LostContactRules, state: VesselState, now: datetime, restored: datetime | None = None
) -> Silence | None:
    """How long the vessel has been silent and whether that makes it lost; None if never heard."""
    heard = dict(state.last_seen)
    if not heard and state.ts is not None and state.source:
        heard[state.source] = state.ts
    if not heard:
        return None
    source, last = max(heard.items(), key=lambda item: item[1])
    floor = restored or last
    lost = all(
        (now - max(when, floor)).total_seconds() > expected_interval_s(settings, state, src)
        for src, when in heard.items()
    )
    return Silence(last_heard=last, source=source, counted_from=max(last, floor), lost=lost)


class LostContactRule(Rule):
    name = KIND

    def __init__(self, feeds: FeedHealth | None = None) -> None:
        self.feeds = feeds
        self._lost: dict[int, Severity] = {}

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        settings = ctx.settings.lost_contact
        cols = ctx.fleet.arrays()
        shortest = min(settings.after_s, settings.class_b_after_s, settings.terminal_after_s)
        # A position newer than the shortest interval means heard recently on some source.
        quiet = ~(ctx.now.timestamp() - cols.ts <= shortest)
        quiet[quiet] &= ~in_port_mask(ctx.zones, cols.lon[quiet], cols.lat[quiet])
        out: list[Condition] = []
        still_lost: set[int] = set()
        for vessel_id in cols.vessel_ids[quiet].tolist():
            state = ctx.fleet.get(vessel_id)
            if state is None or not is_boat(state):
                continue
            judged = self._judge(ctx, state)
            if judged is None:
                continue
            severity = _severity(ctx, judged)
            still_lost.add(vessel_id)
            if self._lost.get(vessel_id) != severity:
                self._lost[vessel_id] = severity
                out.append(_raised(ctx, state, judged, severity))
        for vessel_id in sorted(set(self._lost) - still_lost):
            del self._lost[vessel_id]
            out.append(Condition.cleared(KIND, vessel_key(KIND, vessel_id), observed_at=ctx.now))
        return out

    def _judge(self, ctx: RuleContext, state: VesselState) -> Silence | None:
        """The vessel's silence if it is lost now, else None."""
        restored = None
        if self.feeds is not None and state.feed:
            if self.feeds.feed_is_out(state.feed) and state.vessel_id not in self._lost:
                return None
            restored = self.feeds.feed_restored_at(state.feed)
        judged = silence(ctx.settings.lost_contact, state, ctx.now, restored)
        return judged if judged is not None and judged.lost else None


def _severity(ctx: RuleContext, judged: Silence) -> Severity:
    silent_s = (ctx.now - judged.counted_from).total_seconds()
    return "critical" if silent_s >= ctx.settings.lost_contact.escalate_after_s else "high"


def _raised(ctx: RuleContext, state: VesselState, judged: Silence, severity: Severity) -> Condition:
    position = None if state.lon is None or state.lat is None else Position(state.lon, state.lat)
    heard = judged.last_heard.astimezone(UTC).strftime("%H:%M UTC")
    return Condition(
        kind=KIND,
        key=vessel_key(KIND, state.vessel_id),
        severity=severity,
        title=f"Lost contact: {vessel_label(state)} silent at sea since {heard}",
        vessel_id=state.vessel_id,
        position=position,
        details={
            "last_heard": judged.last_heard.isoformat(),
            "last_source": judged.source,
            "sources": sorted(state.last_seen),
            "feed": state.feed,
            "last_position_ts": None if state.ts is None else state.ts.isoformat(),
            "speed": state.speed,
            "course": state.course,
            "escalated": severity == "critical",
            "escalate_after": (
                judged.counted_from + _seconds(ctx.settings.lost_contact.escalate_after_s)
            ).isoformat(),
        },
        drill=state.drill,
        observed_at=ctx.now,
    )


def _seconds(n: float) -> timedelta:
    return timedelta(seconds=n)
