"""The fisheries report: JSON figures on a constructed voyage, the PDF a real two-page document."""

import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from seawatch.settings import TrackingSettings
from tests.tracking.sim_tracks import SEA, T0, Point, add_vessel, day_trip, moored, steam, store_track, then
from tracking.db import Pool
from tracking.report_pdf import write_pdf
from tracking.reports import vessel_report
from tracking.tracker import Tracker
from tracking.zones import load_demo_zones

SETTINGS = TrackingSettings()


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def render_pages(pdf: Path, folder: Path) -> list[Path]:
    """The PDF's pages as PNG images (pdftoppm, from poppler-utils)."""
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page*.png"))


async def tracked_day_trip(pool: Pool, start: datetime = T0) -> tuple[int, list[Point]]:
    track = day_trip(start)
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        vessel = await add_vessel(conn, "粤汕尾渔12345")
        await conn.execute(
            "UPDATE vessels SET owner_name = '陈大海', home_port = 'Shanwei' WHERE id = %s", (vessel,)
        )
        await store_track(conn, vessel, track)
        await conn.execute(
            "INSERT INTO events (ts, vessel_id, source, kind, data) VALUES (%s, %s, 'identity',"
            " 'identity_anomaly', '{\"anomaly\": \"two_places\"}')",
            (start + timedelta(hours=2), vessel),
        )
        await conn.execute(
            "INSERT INTO alerts (kind, severity, dedup_key, vessel_id, title, opened_at, updated_at)"
            " VALUES ('geofence', 'high', 'k1', %s, 'inside Islets MPA', %s, %s)",
            (vessel, start + timedelta(hours=4), start + timedelta(hours=4)),
        )
    tracker = Tracker(pool, SETTINGS, clock=Clock(then(track) + timedelta(minutes=1)))
    await tracker.load()
    while await tracker.poll_once() and tracker._behind:
        pass
    return vessel, track


async def test_the_report_figures_of_a_day_trip(pool: Pool) -> None:
    vessel, track = await tracked_day_trip(pool)
    report = await vessel_report(pool, vessel, T0, T0 + timedelta(days=1), SETTINGS)
    data = report.data
    assert data["vessel"]["name"] == "粤汕尾渔12345" and data["vessel"]["mmsi"] == "412000001"
    assert data["figures_from"] == "positions"
    (voyage,) = data["voyages"]
    totals = data["totals"]
    assert totals["voyages"] == 1 and totals["positions"] == len(track)
    assert 1.5 * 3600 <= totals["fishing_effort_s"] <= 2.2 * 3600  # the two hours of zig-zag trawling
    assert abs(totals["fishing_effort_s"] - voyage["fishing_s"]) < 600  # period and voyage agree
    assert voyage["distance_nm"] == pytest.approx(totals["distance_nm"], rel=0.1)
    mpa = next(z for z in totals["zones"] if z["zone_id"] == "islets-mpa")
    assert mpa["kind"] == "prohibited" and 1800 <= mpa["seconds"] <= 3600
    assert totals["closed_zone_s"] == mpa["seconds"]
    assert totals["moratorium_violations"] == []  # March: the closure is not in force
    assert 3 * 3600 < totals["time_at_sea_s"] < 5 * 3600
    assert data["identity_anomalies"]["counts"] == {"two_places": 1}
    assert data["alerts"]["counts"] == {"geofence": 1}


async def test_a_trip_inside_the_closure_in_season_is_a_moratorium_violation(pool: Pool) -> None:
    june = T0.replace(month=6, day=2)
    out = moored((115.37, 22.77), june, 0.5) + steam((115.37, 22.77), SEA, june + timedelta(minutes=31), 8)
    out += moored(SEA, then(out) + timedelta(seconds=10), 1.0)  # an hour at sea inside the demo closure
    async with pool.connection() as conn:
        await load_demo_zones(conn)
        vessel = await add_vessel(conn)
        await store_track(conn, vessel, out)
    report = await vessel_report(pool, vessel, june, june + timedelta(days=1), SETTINGS)
    (violation,) = report.data["totals"]["moratorium_violations"]
    assert violation["zone_id"] == "scs-summer-moratorium"
    # The hour, and the 5.5 km at 8 knots from the closure's edge (just off the harbour) to the spot.
    assert 3600 + 1200 <= violation["seconds"] <= 3600 + 1500


async def test_the_voyages_stand_in_when_retention_dropped_the_positions(pool: Pool) -> None:
    vessel, _ = await tracked_day_trip(pool)
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM positions")
    report = await vessel_report(pool, vessel, T0, T0 + timedelta(days=1), SETTINGS)
    assert report.data["figures_from"] == "voyages"
    totals = report.data["totals"]
    assert totals["fishing_effort_s"] > 3600 and totals["distance_nm"] > 10
    assert any(z["zone_id"] == "islets-mpa" for z in totals["zones"])


async def test_the_pdf_is_a_readable_two_page_document(pool: Pool, tmp_path: Path) -> None:
    vessel, _ = await tracked_day_trip(pool)
    report = await vessel_report(pool, vessel, T0, T0 + timedelta(days=1), SETTINGS)
    out = tmp_path / "report.pdf"
    write_pdf(report, out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-") and b"/Count 2" in data
    assert len(data) > 20_000  # a map and tables, not an empty page
    if shutil.which("pdftoppm"):
        pages = render_pages(out, tmp_path)
        assert len(pages) == 2 and all(p.stat().st_size > 10_000 for p in pages)


async def test_drill_positions_stay_out_of_the_figures_unless_asked(pool: Pool) -> None:
    vessel, track = await tracked_day_trip(pool)
    period = (T0, T0 + timedelta(days=1))
    real = (await vessel_report(pool, vessel, *period, SETTINGS)).data
    # An exercise on a drill feed puts the boat, on paper, 30 km off for an hour of its day.
    drill_at = [T0 + timedelta(hours=3, seconds=10 * i + 5) for i in range(360)]
    async with pool.connection() as conn, conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO positions (ts, vessel_id, source, lon, lat, speed, drill)"
            " VALUES (%s, %s, 'ais', 115.7, 22.5, 3.5, true)",
            [(ts, vessel) for ts in drill_at],
        )
    report = (await vessel_report(pool, vessel, *period, SETTINGS)).data
    assert report["drill"] == {"included": False, "positions_excluded": len(drill_at)}
    assert report["totals"] == real["totals"]
    assert real["drill"] == {"included": False, "positions_excluded": 0}
    asked = (await vessel_report(pool, vessel, *period, SETTINGS, include_drill=True)).data
    assert asked["drill"] == {"included": True, "positions_excluded": 0}
    assert asked["totals"]["positions"] == len(track) + len(drill_at)
    assert asked["totals"]["distance_nm"] > real["totals"]["distance_nm"]
