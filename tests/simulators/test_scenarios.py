"""Every shipped scenario, run fast against the real service (`seawatch run`), raises exactly the alert
kinds it expects, all marked drill; the drill report finds each one; drill alerts reach only drill
channels; and `seawatch simulate` itself drives a service and writes the report."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
import orjson
import pytest

from seawatch.bus import MqttAddress
from simulators.drill_report import report_from_api
from simulators.scenario import load_scenario, shipped_scenarios
from tests.seawatch.helpers import run_seawatch, seawatch_env
from tests.simulators.support import drill_service, run_until_expected

# The demo scenario is the demo's (200+ vessels): its events are the ones below, combined.
SCENARIOS = [name for name in shipped_scenarios() if name != "demo"]


def speed_for(duration_s: float) -> float:
    """Fast enough that a run takes about eight seconds, never slower than 30× or faster than 240×."""
    return min(max(duration_s / 8.0, 30.0), 240.0)


@pytest.mark.parametrize("name", SCENARIOS)
async def test_each_scenario_raises_exactly_its_expected_alerts_as_drill(
    name: str, database_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    scenario = load_scenario(name)
    speed = speed_for(scenario.duration)
    async with drill_service(database_url, mqtt_url, tmp_path, scenario, speed=speed) as service:
        log, alerts = await run_until_expected(service, scenario, speed=speed)
        report = await report_from_api(log.to_json(), service.api, service.token)
    kinds = {a["kind"] for a in alerts}
    assert kinds == scenario.expected_kinds(), [(a["kind"], a["title"]) for a in alerts]
    assert all(a["drill"] for a in alerts)
    outcomes = [o for event in report["events"] for o in event["outcomes"]]
    assert outcomes and all(o["raised"] for o in outcomes), report["events"]
    assert all(o["detect_s"] is not None and o["detect_s"] >= 0 for o in outcomes)
    assert len(log.events) == len(scenario.events)


class Webhooks(BaseHTTPRequestHandler):
    calls: list[tuple[str, dict[str, Any]]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.calls.append((self.path, json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhooks() -> Iterator[tuple[str, list[tuple[str, dict[str, Any]]]]]:
    calls: list[tuple[str, dict[str, Any]]] = []
    handler = type("Handler", (Webhooks,), {"calls": calls})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", calls
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


async def test_drill_alerts_reach_only_drill_channels_and_the_report_says_who_acknowledged(
    database_url: str,
    mqtt_url: str,
    tmp_path: Path,
    webhooks: tuple[str, list[tuple[str, dict[str, Any]]]],
) -> None:
    hooks, calls = webhooks
    scenario = load_scenario("emergency-button")
    speed = 30.0
    targets = [
        {"url": f"{hooks}/responders", "secret": "s" * 16, "min_severity": "info", "drill": False},
        {"url": f"{hooks}/drill", "secret": "d" * 16, "min_severity": "info", "drill": True},
    ]
    extra = {"SEAWATCH_DELIVERY__WEBHOOKS": orjson.dumps(targets).decode()}
    async with drill_service(
        database_url, mqtt_url, tmp_path, scenario, speed=speed, extra_env=extra
    ) as service:
        address = MqttAddress.parse(mqtt_url)
        seen: dict[str, list[str]] = {"real": [], "drill": []}
        async with aiomqtt.Client(address.host, address.port, identifier=f"watch-{service.http}") as watch:
            await watch.subscribe(f"{service.prefix}/alerts/#", qos=1)
            await watch.subscribe(f"{service.prefix}/drill/alerts/#", qos=1)

            async def listen() -> None:
                async for message in watch.messages:
                    topic = str(message.topic)
                    seen["drill" if topic.startswith(f"{service.prefix}/drill/") else "real"].append(topic)

            listener = asyncio.create_task(listen())
            log, alerts = await run_until_expected(service, scenario, speed=speed)
            await asyncio.sleep(1.0)
            listener.cancel()
        (distress,) = [a for a in alerts if a["kind"] == "distress"]
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.post(
                f"{service.api}/api/alerts/{distress['id']}/ack",
                json={"note": "drill: seen, calling the skipper"},
                headers={"Authorization": f"Bearer {service.token}"},
            )
            assert answer.status_code == 200, answer.text
        report = await report_from_api(log.to_json(), service.api, service.token)
    assert seen["real"] == [] and any(t.endswith("/critical/distress") for t in seen["drill"])
    assert [path for path, _ in calls if path == "/responders"] == []
    assert any(path == "/drill" and call["alert"]["kind"] == "distress" for path, call in calls)
    (outcome,) = report["events"][0]["outcomes"]
    assert outcome["raised"] and outcome["acknowledged_by"] == {
        "name": "drill-operator",
        "role": "operator",
        "action": "ack",
    }
    assert outcome["ack_s"] >= outcome["detect_s"]


async def test_seawatch_simulate_drives_a_service_and_writes_the_drill_report(
    database_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    scenario = load_scenario("engine-failure")
    speed = 60.0
    async with drill_service(database_url, mqtt_url, tmp_path, scenario, speed=speed) as service:
        result = await asyncio.to_thread(
            run_seawatch,
            "simulate",
            "--scenario",
            "engine-failure",
            "--speed",
            str(speed),
            "--ais",
            f"tcp://127.0.0.1:{service.ais}",
            "--api",
            service.api,
            f"--token={service.token}",  # a token may start with "-"
            "--log",
            str(tmp_path / "run.json"),
            "--report",
            str(tmp_path / "report"),
            "--report-wait",
            "2",
            env=seawatch_env(),
            timeout=60,
        )
        assert result.returncode == 0, result.stderr.decode()[-3000:]
    run = orjson.loads((tmp_path / "run.json").read_bytes())
    assert [e["action"] for e in run["events"]] == ["engine_failure"]
    report = orjson.loads((tmp_path / "report" / "drill-report.json").read_bytes())
    assert report["summary"]["raised"] == report["summary"]["expected_alerts"] == 1
    page = (tmp_path / "report" / "drill-report.html").read_text()
    assert "DRILL" in page and "not_under_command" in page


def test_a_missing_scenario_is_a_one_line_error() -> None:
    result = run_seawatch("simulate", "--scenario", "no-such-scenario", "--ais", "tcp://127.0.0.1:9")
    assert result.returncode == 1
    assert b"no scenario 'no-such-scenario'" in result.stderr
