"""`feed_outage`: a receiver or feed that fell quiet, as one alert instead of a flood of lost contacts.

A feed is out when its newest report is older than `lost_contact.feed_silence_s` and it was busy up to
that moment: at least `min_vessels` (3 by default) different vessels were heard through it in the
`feed_silence_s` before its last report. The busy test is what tells a dead receiver from a quiet
one: a coastal station whose last boat sailed out of range an hour ago stopped for a reason that is not
the station, and the boats are then each lost contacts in their own right. Three is the smallest
number that is still "vessels went quiet together" rather than one boat and its neighbour.

One condition per feed, key `feed_outage:feed:<feed>`, severity high, cleared by the first report
through the feed again. `LostContactRule` asks this rule (`feed_is_out`, `feed_restored_at`, the
`FeedHealth` protocol) so that it raises no lost contact for a vessel whose feed is out, and gives the
vessels of a feed that just came back their usual interval to be heard again.

The feed of a vessel is the feed of its latest report, whatever its kind; "heard" is the record's
`received_at` (the ingest stamp, which is what goes quiet when a receiver dies), else the engine's
clock. The rule learns everything from records, so every record must reach its `on_record`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.model import AlertKind, Condition
from alerts.rules.base import Record, Rule, RuleContext
from tracking.fleet import VesselState

KIND: AlertKind = "feed_outage"
MIN_VESSELS = 3


@dataclass
class _Feed:
    newest: datetime
    vessels: set[int] = field(default_factory=set)  # vessels whose latest report came through it
    out_since: datetime | None = None
    restored_at: datetime | None = None
    judged_quiet_at: datetime | None = None  # `newest` when last found silent but not busy


def feed_key(feed: str) -> str:
    return f"{KIND}:feed:{feed}"


class FeedOutageRule(Rule):
    name = KIND

    def __init__(self, min_vessels: int = MIN_VESSELS) -> None:
        if min_vessels < 1:
            raise ValueError("min_vessels must be at least 1")
        self.min_vessels = min_vessels
        self._feeds: dict[str, _Feed] = {}
        self._heard: dict[int, tuple[str, datetime]] = {}  # vessel → (feed, when) of its latest report

    def feed_is_out(self, feed: str) -> bool:
        known = self._feeds.get(feed)
        return known is not None and known.out_since is not None

    def feed_restored_at(self, feed: str) -> datetime | None:
        """When the feed came back after its latest outage (None if it never was out)."""
        known = self._feeds.get(feed)
        return None if known is None else known.restored_at

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        feed = record.get("feed")
        if not feed:
            return []
        feed = str(feed)
        received = record.get("received_at")
        heard = received if isinstance(received, datetime) else ctx.now
        vessel = current.vessel_id
        state = self._feeds.setdefault(feed, _Feed(newest=heard))
        before = self._heard.get(vessel)
        if before is None or heard >= before[1]:  # a late copy from another feed does not move it
            if before is not None and before[0] != feed:
                self._feeds[before[0]].vessels.discard(vessel)
            self._heard[vessel] = (feed, heard)
            state.vessels.add(vessel)
        state.newest = max(state.newest, heard)
        if state.out_since is None:
            return []
        state.out_since, state.restored_at = None, heard
        return [
            Condition.cleared(
                KIND, feed_key(feed), observed_at=ctx.now, feed=feed, restored_at=heard.isoformat()
            )
        ]

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        silence = timedelta(seconds=ctx.settings.lost_contact.feed_silence_s)
        out = []
        for feed, state in self._feeds.items():
            if state.out_since is not None or ctx.now - state.newest <= silence:
                continue
            if state.judged_quiet_at == state.newest:
                continue  # already found not busy; nothing heard since
            busy_from = state.newest - silence
            recent = [v for v in state.vessels if self._heard[v][1] >= busy_from]
            if len(recent) < self.min_vessels:
                state.judged_quiet_at = state.newest
                continue
            state.out_since = ctx.now
            out.append(
                Condition(
                    kind=KIND,
                    key=feed_key(feed),
                    severity="high",
                    title=f"Feed {feed} silent: {len(state.vessels)} vessels unheard since its last report",
                    details={
                        "feed": feed,
                        "last_report": state.newest.isoformat(),
                        "vessels": len(state.vessels),
                        "vessels_active_before": len(recent),
                        "silence_threshold_s": silence.total_seconds(),
                    },
                    observed_at=ctx.now,
                )
            )
        return out
