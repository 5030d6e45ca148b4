"""Before a drill: the scenario's zones are stored and the drill fleet is in the registry, so that a
boat's AIS and terminal are one vessel."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from simulators.fleet import FleetSpec
from simulators.geography import Geography
from simulators.prepare import prepare_database, registry_csv
from simulators.scenario import load_scenario
from simulators.simulation import Simulation
from tracking.db import Pool

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def simulation(name: str, fleet: FleetSpec | None = None) -> Simulation:
    return Simulation(load_scenario(name), Geography.shanwei(), start=NOW, fleet=fleet)


def test_the_registry_lists_every_boat_once_with_all_its_identities() -> None:
    sim = simulation("typhoon", FleetSpec(fishing=30, cargo=2, terminal_fraction=0.5))
    rows = list(csv.DictReader(io.StringIO(registry_csv(sim))))
    assert len(rows) == len(sim.fleet.vessels) == 35
    both = [r for r in rows if r["mmsi"] and r["terminal"]]
    assert both and all(r["hull_number"].startswith("SIM-") for r in rows)
    assert {r["is_fishing"] for r in rows if r["vessel_type"] == "cargo"} == {"false"}


def test_beacons_and_clones_are_not_vessels_of_the_registry() -> None:
    sim = simulation("shared-mmsi")
    list(sim.run())  # the clone appears at its event
    rows = list(csv.DictReader(io.StringIO(registry_csv(sim))))
    assert len(sim.fleet.vessels) == 2 and len(rows) == 1


async def test_zones_and_registry_are_stored(pool: Pool) -> None:
    sim = simulation("moratorium")
    await prepare_database(pool, sim)
    await prepare_database(pool, sim)  # again: nothing changes
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT kind FROM zones WHERE id = 'drill-closure'")
        assert await cur.fetchone() == ("moratorium",)
        cur = await conn.execute(
            "SELECT v.name, count(*) FROM vessels v JOIN vessel_identities i ON i.vessel_id = v.id"
            " GROUP BY v.name"
        )
        assert await cur.fetchall() == [("YUE SHAN YU 60801", 1)]
