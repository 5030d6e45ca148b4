"""The simulator's terminals through the real service (`seawatch run`): a JT/T 808 terminal that lost
coverage uploads what it stored as 0x0704 batches, a gateway terminal reports as JSON over the real
broker; every report is stored once, in order, and the backfilled points are in the vessel's track."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import psycopg

from simulators.runner import Runner
from simulators.scenario import parse_scenario
from tests.simulators.support import drill_service

SPEED = 60.0
SCENARIO = parse_scenario(
    """
duration: 12m
vessels:
  - {id: far, kind: trawler, ais: none, terminal: true, at: [115.45, 22.56], activity: fishing}
  - {id: gw, kind: trawler, ais: none, terminal: true, terminal_json: true, at: [115.60, 22.56]}
events:
  - {at: 1m, action: lose_coverage, vessel: far, params: {for: 8m}}
""",
    "terminal-feeds",
)


async def stored_times(dsn: str, terminal: str, sent: int) -> tuple[int, list[datetime]]:
    """The vessel and its stored report times in the order received, once all `sent` are stored (the
    last ones may still be on their way when the run ends) or after 20 s."""
    for _ in range(100):
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            cur = await conn.execute(
                "SELECT p.vessel_id, p.ts FROM positions p JOIN vessel_identities i"
                " ON i.vessel_id = p.vessel_id WHERE i.kind = 'terminal' AND i.value = %s"
                " ORDER BY p.received_at, p.ts",
                (terminal,),
            )
            rows = await cur.fetchall()
        if len(rows) >= sent:
            break
        await asyncio.sleep(0.2)
    return (int(rows[0][0]) if rows else 0), [r[1] for r in rows]


async def test_backfilled_and_gateway_reports_are_stored_once_in_order_and_tracked(
    database_url: str, mqtt_url: str, tmp_path: Path
) -> None:
    async with drill_service(database_url, mqtt_url, tmp_path, SCENARIO, speed=SPEED) as service:
        runner = Runner(SCENARIO, service.targets(), speed=SPEED)
        far, gw = (runner.simulation.named[n].ident.terminal for n in ("far", "gw"))
        assert far is not None and gw is not None
        log = await runner.run()
        counts = log.counts
        assert counts["jt808_batches"] >= 1 and counts["jt808_backfilled"] >= 2
        assert counts["jt808_batches_acked"] == counts["jt808_batches"]
        sent_far = counts["jt808_reports"] + counts["jt808_backfilled"]
        assert counts["terminal_json_reports"] >= 3 and counts["mqtt_failed"] == 0
        vessel, times = await stored_times(database_url, far, sent_far)
        # The backlog arrived after the live reports before the gap and before those after it: in the
        # order received, the times run forward, each once.
        assert len(times) == sent_far and all(a < b for a, b in itertools.pairwise(times))
        _, json_times = await stored_times(database_url, gw, counts["terminal_json_reports"])
        assert len(json_times) == counts["terminal_json_reports"]
        assert all(a < b for a, b in itertools.pairwise(json_times))
        async with httpx.AsyncClient(base_url=service.api, timeout=10) as http:
            answer = await http.get(
                f"/api/vessels/{vessel}/track",
                params={
                    "start": (times[0] - timedelta(seconds=1)).isoformat(),
                    "end": (times[-1] + timedelta(seconds=1)).isoformat(),
                },
                headers={"Authorization": f"Bearer {service.token}"},
            )
        answer.raise_for_status()
        track = answer.json()
        assert track["count"] == sent_far
        assert [datetime.fromisoformat(p["ts"]) for p in track["points"]] == times
