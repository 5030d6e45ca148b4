"""The drill report: for every scripted event, whether its alert was raised, how long detection took,
and when and by whom it was acknowledged.

Inputs: the run log (`simulators.runner.RunLog`: each event's wall-clock time, the identities involved
and the alert kinds expected) and the drill alerts with their audit trails, read from the seawatch API
with any token (a `viewer` — the drill observer — is enough). An event's alert is the earliest drill
alert of an expected kind that names one of the event's identities (vessel MMSI, terminal or name,
including a collision pair's second vessel and a beacon's MMSI) and was opened at or after the event
(`SLACK_S` earlier is tolerated: the service and the simulator may read slightly different clocks);
an event that involves no vessel (a weather warning) takes any alert of the kind.

Time to detect: alert `opened_at` − event time. Acknowledged: the first `ack`, `assign` or `resolve` by a
person (not `system`) in the alert's audit trail; time to acknowledge is measured from the event too.
Written as JSON (`drill-report.json`) and as a self-contained HTML page (`drill-report.html`).
"""

from __future__ import annotations

import html
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson

SLACK_S = 5.0
HUMAN_ACTIONS = ("ack", "assign", "resolve")
PAGE = 1000


@dataclass(frozen=True)
class Outcome:
    kind: str
    alert: dict[str, Any] | None
    detect_s: float | None
    ack: dict[str, Any] | None  # the audit entry
    ack_s: float | None

    def to_json(self) -> dict[str, Any]:
        alert = self.alert or {}
        return {
            "kind": self.kind,
            "raised": self.alert is not None,
            "alert_id": alert.get("id"),
            "severity": alert.get("severity"),
            "title": alert.get("title"),
            "state": alert.get("state"),
            "opened_at": alert.get("opened_at"),
            "detect_s": None if self.detect_s is None else round(self.detect_s, 3),
            "acknowledged_at": None if self.ack is None else _iso(self.ack.get("ts")),
            "ack_s": None if self.ack_s is None else round(self.ack_s, 3),
            "acknowledged_by": None
            if self.ack is None
            else {
                "name": self.ack.get("actor"),
                "role": self.ack.get("role"),
                "action": self.ack.get("action"),
            },
        }


def identities(alert: dict[str, Any]) -> set[str]:
    """Every identity an alert names, as text: MMSIs, terminal ids and vessel names."""
    found: set[str] = set()
    vessel = alert.get("vessel") or {}
    details = alert.get("details") or {}
    for source in (vessel, details, details.get("device") or {}, *(details.get("vessels") or [])):
        if isinstance(source, dict):
            for key in ("mmsi", "terminal", "name"):
                if source.get(key) not in (None, ""):
                    found.add(str(source[key]))
    return found


def event_identities(event: dict[str, Any]) -> set[str]:
    return {
        str(v[key]) for v in event.get("vessels", []) for key in ("mmsi", "terminal", "name") if v.get(key)
    }


def match(event: dict[str, Any], kind: str, alerts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The event's alert of `kind` among `alerts` (each with `opened_at` as ISO text), or None."""
    at = _time(event["time"])
    wanted = event_identities(event)
    candidates = [
        a
        for a in alerts
        if a.get("drill")
        and a.get("kind") == kind
        and _time(a["opened_at"]) >= at - timedelta(seconds=SLACK_S)
        and (not wanted or wanted & identities(a))
    ]
    return min(candidates, key=lambda a: (_time(a["opened_at"]), a["id"]), default=None)


def first_acknowledgement(audit: list[dict[str, Any]]) -> dict[str, Any] | None:
    people = [e for e in audit if e.get("action") in HUMAN_ACTIONS and e.get("actor") != "system"]
    return min(people, key=lambda e: _time(e["ts"]), default=None)


def build_report(
    run: dict[str, Any], alerts: list[dict[str, Any]], audits: dict[int, list[dict[str, Any]]]
) -> dict[str, Any]:
    """The report from a run log, the drill alerts, and the audit trail of each (by alert id)."""
    events = []
    used: set[int] = set()
    detects: list[float] = []
    acks: list[float] = []
    expected = raised = acknowledged = 0
    for event in run.get("events", []):
        at = _time(event["time"])
        outcomes = []
        for kind in event.get("expect", []):
            expected += 1
            alert = match(event, kind, alerts)
            detect = ack_s = None
            ack = None
            if alert is not None:
                raised += 1
                used.add(int(alert["id"]))
                detect = max(0.0, (_time(alert["opened_at"]) - at).total_seconds())
                detects.append(detect)
                ack = first_acknowledgement(audits.get(int(alert["id"]), []))
                if ack is not None:
                    acknowledged += 1
                    ack_s = (_time(ack["ts"]) - at).total_seconds()
                    acks.append(ack_s)
            outcomes.append(Outcome(kind, alert, detect, ack, ack_s).to_json())
        events.append(
            {
                **{k: event.get(k) for k in ("index", "action", "time", "at_s", "note")},
                "vessels": event.get("vessels", []),
                "expect": event.get("expect", []),
                "outcomes": outcomes,
            }
        )
    started = run.get("started")
    others = [
        a
        for a in alerts
        if a.get("drill")
        and int(a["id"]) not in used
        and (started is None or _time(a["opened_at"]) >= _time(started))
    ]
    return {
        "scenario": run.get("scenario"),
        "title": run.get("title"),
        "seed": run.get("seed"),
        "speed": run.get("speed"),
        "started": started,
        "ended": run.get("ended"),
        "generated_at": datetime.now(UTC).isoformat(),
        "summary": {
            "expected_alerts": expected,
            "raised": raised,
            "missed": expected - raised,
            "acknowledged": acknowledged,
            "median_detect_s": _median(detects),
            "max_detect_s": round(max(detects), 3) if detects else None,
            "median_ack_s": _median(acks),
        },
        "events": events,
        "other_drill_alerts": sorted(
            (
                {"id": a["id"], "kind": a["kind"], "title": a.get("title"), "opened_at": a["opened_at"]}
                for a in others
            ),
            key=lambda a: a["id"],
        ),
    }


async def fetch_drill_alerts(
    api: str, token: str, *, http: httpx.AsyncClient | None = None
) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """Every drill alert (newest first, all pages) and each one's audit trail, from the API."""
    own = http is None
    client = http or httpx.AsyncClient(timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    base = api.rstrip("/")
    try:
        alerts: list[dict[str, Any]] = []
        params: dict[str, Any] = {"drill": "true", "limit": PAGE}
        while True:
            answer = await client.get(f"{base}/api/alerts", params=params, headers=headers)
            answer.raise_for_status()
            page = answer.json()
            alerts += page["alerts"]
            if page.get("next_before_seq") is None:
                break
            params["before_seq"] = page["next_before_seq"]
        audits = {}
        for alert in alerts:
            answer = await client.get(f"{base}/api/alerts/{alert['id']}", headers=headers)
            answer.raise_for_status()
            audits[int(alert["id"])] = answer.json().get("audit", [])
        return alerts, audits
    finally:
        if own:
            await client.aclose()


async def report_from_api(run: dict[str, Any], api: str, token: str) -> dict[str, Any]:
    alerts, audits = await fetch_drill_alerts(api, token)
    return build_report(run, alerts, audits)


def write_report(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, html_path = folder / "drill-report.json", folder / "drill-report.html"
    json_path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    html_path.write_text(render_html(report), encoding="utf-8")
    return json_path, html_path


STYLE = """
body { font: 14px system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f2f2f2; }
.ok { background: #dff3df; }
.miss { background: #f8d7d7; font-weight: bold; }
.banner { background: #ffe08a; padding: 6px 10px; display: inline-block; font-weight: bold; }
"""
COLUMNS = (
    "event time",
    "event",
    "vessels",
    "expected alert",
    "raised",
    "time to detect",
    "time to acknowledge",
    "acknowledged by",
    "alert",
)


def render_html(report: dict[str, Any]) -> str:
    """A self-contained page (no scripts, no external files): it is archived with the drill's records."""
    e = html.escape
    rows = []
    for event in report["events"]:
        who = ", ".join(str(v.get("name") or v.get("mmsi") or v.get("terminal")) for v in event["vessels"])
        for outcome in event["outcomes"]:
            by = outcome.get("acknowledged_by")
            raised = bool(outcome.get("raised"))
            cells = [
                e(str(event.get("time") or "")),
                e(str(event["action"])),
                e(who or "—"),
                e(str(outcome["kind"])),
                "yes" if raised else "no",
                _seconds(outcome.get("detect_s")),
                _seconds(outcome.get("ack_s")),
                "—" if not by else f"{e(str(by.get('name')))} ({e(str(by.get('role')))})",
                e(str(outcome.get("title") or "")),
            ]
            status = "ok" if raised else "miss"
            tds = "".join(
                f'<td class="{status}">{c}</td>' if i == 4 else f"<td>{c}</td>" for i, c in enumerate(cells)
            )
            rows.append(f"<tr>{tds}</tr>")
    others = "".join(
        f"<li>{e(str(a['kind']))}: {e(str(a.get('title') or ''))} ({e(str(a['opened_at']))})</li>"
        for a in report.get("other_drill_alerts", [])
    )
    s = report["summary"]
    head = "".join(f"<th>{c}</th>" for c in COLUMNS)
    name = e(str(report.get("scenario")))
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>Drill report: {name}</title>'
        f"<style>{STYLE}</style></head><body>\n"
        '<p class="banner">DRILL — simulated traffic, not a real emergency</p>\n'
        f"<h1>Drill report: {e(str(report.get('title') or report.get('scenario')))}</h1>\n"
        f"<p>Scenario <code>{name}</code>, seed {e(str(report.get('seed')))},"
        f" speed ×{e(str(report.get('speed')))};"
        f" run {e(str(report.get('started')))} – {e(str(report.get('ended')))}.</p>\n"
        f"<p>Expected alerts: {s['expected_alerts']}; raised: {s['raised']}; missed: {s['missed']};"
        f" acknowledged: {s['acknowledged']}. Median time to detect: {_seconds(s['median_detect_s'])};"
        f" slowest: {_seconds(s['max_detect_s'])};"
        f" median time to acknowledge: {_seconds(s['median_ack_s'])}.</p>\n"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{chr(10).join(rows)}\n</tbody></table>\n"
        f"<h2>Other drill alerts during the run</h2><ul>{others or '<li>none</li>'}</ul>\n"
        f"<p>Generated {e(str(report.get('generated_at')))}.</p>\n</body></html>\n"
    )


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} s"


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 3) if values else None


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(value: Any) -> str | None:
    return None if value is None else _time(value).isoformat()
