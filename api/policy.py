"""Who may do what: the one policy table. Routes name a permission; nothing else decides access.

Operators watch and acknowledge; dispatchers run incidents (assign, resolve, including distress);
officials read history and reports; admins manage users, zones and the registry — not alerts, so that
an account meant for configuration never closes a rescue; viewers (and drill observers) only read.
`tests/api/test_policy.py` checks every route against this table for every role and for no token.
"""

from __future__ import annotations

from api.users import ROLES, Role

ALL: frozenset[Role] = frozenset(ROLES)

POLICY: dict[str, frozenset[Role]] = {
    "read": ALL,  # live picture, alerts, vessels, zones, weather, metrics
    "self": ALL,  # one's own tokens: issue another, revoke the current one
    "alerts.ack": frozenset({"operator", "dispatcher"}),
    "alerts.note": frozenset({"operator", "dispatcher"}),
    "alerts.assign": frozenset({"dispatcher"}),
    "alerts.resolve": frozenset({"operator", "dispatcher"}),
    "alerts.resolve_distress": frozenset({"dispatcher"}),
    "weather.write": frozenset({"operator", "dispatcher", "admin"}),
    "history.read": frozenset({"official", "dispatcher", "operator", "admin"}),
    "zones.write": frozenset({"admin"}),
    "registry.write": frozenset({"admin"}),
    "users.manage": frozenset({"admin"}),
}


def allowed(permission: str, role: str) -> bool:
    return role in POLICY[permission]
