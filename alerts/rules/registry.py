"""The rules a rules worker runs, in the order they run.

Order matters twice: spoofing runs before distress, so that a distress from a vessel suspected of
spoofing is raised marked unverified (never suppressed); the feed-outage rule runs before lost contact,
so that a receiver going quiet raises one feed_outage alert instead of a lost contact per vessel.
"""

from __future__ import annotations

from dataclasses import dataclass

from alerts.rules.base import Rule
from alerts.rules.behaviour import AnchorDragRule, EncounterRule, LoiteringRule, NotUnderCommandRule
from alerts.rules.collision import CollisionRule
from alerts.rules.distress import DistressRule
from alerts.rules.feed_outage import FeedOutageRule
from alerts.rules.geofence import GeofenceRule
from alerts.rules.identity import IdentityMismatchRule
from alerts.rules.lost_contact import LostContactRule
from alerts.rules.moratorium import MoratoriumRule
from alerts.rules.spoofing import SpoofingRule
from alerts.rules.weather import WeatherRule


@dataclass
class RuleSet:
    rules: list[Rule]
    weather: WeatherRule  # the CAP warnings in force are handed to it


def default_rules() -> RuleSet:
    spoofing = SpoofingRule()
    feeds = FeedOutageRule()
    weather = WeatherRule()
    rules: list[Rule] = [
        spoofing,
        DistressRule(spoofing=spoofing),
        IdentityMismatchRule(),
        GeofenceRule(),
        MoratoriumRule(),
        weather,
        feeds,
        LostContactRule(feeds=feeds),
        CollisionRule(),
        NotUnderCommandRule(),
        AnchorDragRule(),
        EncounterRule(),
        LoiteringRule(),
    ]
    return RuleSet(rules=rules, weather=weather)
