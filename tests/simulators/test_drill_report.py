"""The drill report from a run log and the alerts: matching, times, who acknowledged, JSON and HTML."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from simulators.drill_report import build_report, render_html, write_report

RUN = {
    "scenario": "mixed",
    "title": "Mixed <drill>",
    "seed": 1,
    "speed": 1.0,
    "started": "2026-11-02T01:00:00+00:00",
    "ended": "2026-11-02T01:20:00+00:00",
    "events": [
        {
            "index": 0,
            "action": "emergency_button",
            "time": "2026-11-02T01:01:00+00:00",
            "vessels": [{"name": "YUE HAI 8", "mmsi": None, "terminal": "014129900000"}],
            "expect": ["distress"],
        },
        {
            "index": 1,
            "action": "collision_course",
            "time": "2026-11-02T01:05:00+00:00",
            "vessels": [{"name": "A", "mmsi": 412990001}, {"name": "B", "mmsi": 412990002}],
            "expect": ["collision_risk"],
        },
        {
            "index": 2,
            "action": "typhoon_warning",
            "time": "2026-11-02T01:06:00+00:00",
            "vessels": [],
            "expect": ["weather"],
        },
        {
            "index": 3,
            "action": "go_dark",
            "time": "2026-11-02T01:07:00+00:00",
            "vessels": [{"name": "C", "mmsi": 412990003}],
            "expect": ["lost_contact"],
        },
    ],
}


def alert(id_: int, kind: str, opened: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": id_,
        "kind": kind,
        "opened_at": opened,
        "drill": True,
        "title": f"{kind} {id_}",
        "severity": "high",
        "state": "open",
        "vessel": {},
        "details": {},
        **fields,
    }


ALERTS = [
    # The same kind for another vessel, before and after: not the event's.
    alert(1, "distress", "2026-11-02T01:00:30+00:00", details={"terminal": "014129900000"}),
    alert(2, "distress", "2026-11-02T01:01:00.800000+00:00", details={"terminal": "014129900000"}),
    alert(
        3,
        "collision_risk",
        "2026-11-02T01:05:02+00:00",
        vessel={"mmsi": 412990009},
        details={"vessels": [{"mmsi": 412990009}, {"mmsi": 412990002}]},
    ),
    alert(4, "weather", "2026-11-02T01:06:01+00:00", vessel={"mmsi": 412990077}),
    alert(5, "spoofing", "2026-11-02T01:08:00+00:00", vessel={"mmsi": 412990005}),
    alert(6, "distress", "2026-11-02T01:01:00+00:00", drill=False, details={"terminal": "014129900000"}),
]
AUDITS = {
    2: [
        {"ts": "2026-11-02T01:01:00.800000+00:00", "actor": "system", "role": "system", "action": "open"},
        {"ts": "2026-11-02T01:01:30+00:00", "actor": "duty-officer", "role": "dispatcher", "action": "ack"},
        {
            "ts": "2026-11-02T01:03:00+00:00",
            "actor": "duty-officer",
            "role": "dispatcher",
            "action": "resolve",
        },
    ],
    3: [{"ts": "2026-11-02T01:05:02+00:00", "actor": "system", "role": "system", "action": "open"}],
}


def test_each_event_is_matched_to_its_own_drill_alert_with_times_and_acknowledgement() -> None:
    report = build_report(RUN, ALERTS, AUDITS)
    distress, collision, weather, dark = (e["outcomes"][0] for e in report["events"])
    assert distress["alert_id"] == 2 and distress["detect_s"] == 0.8
    assert distress["ack_s"] == 30.0
    assert distress["acknowledged_by"] == {"name": "duty-officer", "role": "dispatcher", "action": "ack"}
    assert collision["alert_id"] == 3 and collision["detect_s"] == 2.0  # the second vessel of the pair
    assert collision["acknowledged_by"] is None and collision["ack_s"] is None
    assert weather["alert_id"] == 4  # a warning concerns whoever is at sea in the area
    assert dark == {**dark, "raised": False, "alert_id": None, "detect_s": None}
    assert report["summary"] == {
        "expected_alerts": 4,
        "raised": 3,
        "missed": 1,
        "acknowledged": 1,
        "median_detect_s": 1.0,
        "max_detect_s": 2.0,
        "median_ack_s": 30.0,
    }
    # Drill alerts of the run that no event accounts for; the real one (6) is no drill alert at all.
    assert [a["id"] for a in report["other_drill_alerts"]] == [1, 5]


def test_json_and_html_are_written_and_the_page_escapes_what_it_shows(tmp_path: Path) -> None:
    report = build_report(RUN, ALERTS, AUDITS)
    json_path, html_path = write_report(report, tmp_path / "out")
    assert orjson.loads(json_path.read_bytes())["summary"]["raised"] == 3
    page = html_path.read_text()
    assert "Mixed &lt;drill&gt;" in page and "<drill>" not in page
    assert "DRILL" in page and "duty-officer (dispatcher)" in page and "30.0 s" in page
    assert page == render_html(report)
