"""`seawatch report vessel ID --from … --to … [--pdf FILE] [--json]` against a real database."""

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from seawatch.cli import main
from seawatch.settings import DatabaseSettings, TrackingSettings
from tests.tracking.sim_tracks import add_vessel, day_trip, store_track, then
from tracking.db import open_pool
from tracking.tracker import Tracker
from tracking.zones import load_demo_zones


def prepare(dsn: str) -> int:
    async def run() -> int:
        pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=2))
        try:
            trip = day_trip()
            async with pool.connection() as conn:
                await load_demo_zones(conn)
                vessel = await add_vessel(conn)
                await store_track(conn, vessel, trip)
            tracker = Tracker(pool, TrackingSettings(), clock=lambda: then(trip) + timedelta(minutes=1))
            await tracker.load()
            while await tracker.poll_once() and tracker._behind:
                pass
            return vessel
        finally:
            await pool.close()

    return asyncio.run(run())


def test_the_report_command_writes_a_pdf_and_prints_json(
    database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vessel = prepare(database_url)
    pdf = tmp_path / "report.pdf"
    args = [
        "report",
        "vessel",
        str(vessel),
        "--from",
        "2025-03-03",
        "--to",
        "2025-03-03",
        "--db",
        database_url,
    ]
    assert main([*args, "--pdf", str(pdf), "--json"]) == 0
    assert pdf.read_bytes().startswith(b"%PDF-")
    out, err = capsys.readouterr()
    report = json.loads(out)
    # A date is a whole day in Shanwei: 2 March 16:00 UTC to 3 March 16:00 UTC.
    assert report["period"] == {"from": "2025-03-02T16:00:00Z", "to": "2025-03-03T16:00:00Z"}
    assert report["totals"]["voyages"] == 1
    assert "1 voyage(s)" in err


def test_the_report_command_refuses_bad_input(database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["report", "vessel", "999", "--db", database_url]
    assert main([*base, "--from", "2025-03-03", "--to", "2025-03-04"]) == 1
    assert "no vessel 999" in capsys.readouterr().err
    assert main([*base, "--from", "yesterday", "--to", "2025-03-04"]) == 1
    assert "not a date" in capsys.readouterr().err
    assert main([*base, "--from", "2025-03-05", "--to", "2025-03-04"]) == 1
