"""The CAP typhoon warning the simulator sends is valid CAP 1.2 that the weather rule takes as a drill."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alerts.cap import parse_cap
from alerts.rules.weather import from_cap
from simulators.cap_out import typhoon_cap

SENT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
AREA = [(115.15, 22.35), (115.85, 22.35), (115.85, 22.62), (115.15, 22.62)]


def document(**changes: object) -> bytes:
    fields: dict[str, object] = {
        "identifier": "SIM-TYPHOON-1",
        "sent": SENT,
        "area": AREA,
        "onset": SENT + timedelta(hours=3),
        "expires": SENT + timedelta(hours=24),
        "deadline": SENT + timedelta(hours=2),
        "headline": "Typhoon <Haikui> warning & recall",
    }
    fields.update(changes)
    return typhoon_cap(**fields)  # type: ignore[arg-type]


def test_a_drill_warning_is_an_exercise_in_force_at_once_over_the_area() -> None:
    alert = parse_cap(document())
    assert (alert.status, alert.msg_type, alert.identifier) == ("Exercise", "Alert", "SIM-TYPHOON-1")
    (warning,) = from_cap(alert)  # Chinese and English infos are one warning
    assert warning.drill and warning.severity == "high"
    assert warning.start == SENT and warning.end == SENT + timedelta(hours=24)
    assert warning.contains(115.5, 22.5) and not warning.contains(115.5, 22.7)
    assert warning.headline == "Typhoon <Haikui> warning & recall"  # escaped in the XML, intact here


def test_the_deadline_is_in_the_instruction_and_a_parameter() -> None:
    alert = parse_cap(document())
    text = document().decode()
    # Sent 01:00 UTC, back in port within two hours: by 03:00 UTC, 11:00 Beijing time.
    assert all("11:00" in str(info.instruction) for info in alert.infos)
    assert "return_to_port_by" in text and "2026-11-02T11:00:00+08:00" in text


def test_a_real_warning_is_actual() -> None:
    assert parse_cap(document(drill=False)).status == "Actual"
