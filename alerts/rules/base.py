"""What every rule is given, and the shape of a rule.

A rule is a small object with two pure entry points:

- `on_record(ctx, previous, current, record)`: one record has just been folded into a vessel's state
  (`previous` is None for a vessel seen for the first time);
- `on_tick(ctx)`: the clock moved (about once a second), for conditions that arise from silence or from
  the fleet as a whole (lost contact, collision risk, encounters).

Both return `Condition`s. A rule may keep its own small state between calls (dwell timers, pairs at
risk): that state is an attribute of the rule and is changed only inside these two calls, so a test drives
a rule with a fake clock (`ctx.now`) and made-up records and sees everything it does. Rules read time only
from `ctx.now`, never from the system clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.model import Condition
from seawatch.settings import RulesSettings
from tracking.fleet import Fleet, VesselState
from tracking.zones import ZoneIndex

Record = dict[str, Any]


@dataclass(frozen=True)
class RuleContext:
    now: datetime  # aware UTC
    settings: RulesSettings
    zones: ZoneIndex
    fleet: Fleet


class Rule:
    """Base class: both entry points do nothing unless a rule overrides them."""

    name = "rule"

    def on_record(
        self, ctx: RuleContext, previous: VesselState | None, current: VesselState, record: Record
    ) -> list[Condition]:
        return []

    def on_tick(self, ctx: RuleContext) -> list[Condition]:
        return []


def vessel_key(kind: str, vessel_id: int, *parts: object) -> str:
    """The condition key for a situation of one vessel, e.g. `geofence:vessel:42:zone:islets-mpa`."""
    return ":".join([kind, "vessel", str(vessel_id), *(str(p) for p in parts)])


def pair_key(kind: str, a: int, b: int) -> str:
    """The condition key for a situation of two vessels, the same whichever comes first."""
    low, high = sorted((a, b))
    return f"{kind}:pair:{low}:{high}"
