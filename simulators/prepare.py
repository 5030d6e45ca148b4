"""What a deployment needs before a drill, and how to give it: the scenario's zones and the drill
fleet's registry.

- Zones: a scenario may ship zones of its own (a drill closure, say). Each zone write notifies running
  services (`tracking.zone_watch`), so they may be stored before or while the service runs.
- Registry: a boat with AIS *and* a BeiDou terminal is one vessel only once the registry says so;
  without it the two identities are two provisional vessels lying on top of each other (which the
  collision rule would rightly flag). `registry_csv` writes the simulated fleet in the format of
  `seawatch vessels import`; `prepare_database` imports it directly.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from simulators.fleet import Kind
from simulators.simulation import Simulation
from tracking.db import Pool
from tracking.registry import import_vessels_csv
from tracking.registry_csv import COLUMNS
from tracking.zones import upsert_zone


def registry_csv(simulation: Simulation) -> str:
    """Every simulated boat (not beacons, not clones of another's MMSI) as registry CSV rows."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS), lineterminator="\n")
    writer.writeheader()
    seen: set[tuple[int | None, str | None]] = set()
    for vessel in simulation.fleet.vessels:
        ident = vessel.ident
        key = (ident.mmsi, ident.terminal)
        if vessel.kind is Kind.DEVICE or key in seen:
            continue
        seen.add(key)
        harbour = simulation.geo.harbours.get(vessel.home) if vessel.home else None
        writer.writerow(
            {
                "hull_number": f"SIM-{vessel.index:05d}",
                "name": ident.name,
                "home_port": harbour.name if harbour else "",
                "vessel_type": vessel.kind.value,
                "is_fishing": "true" if vessel.kind in (Kind.TRAWLER, Kind.GILLNETTER) else "false",
                "mmsi": "" if ident.mmsi is None else str(ident.mmsi),
                "terminal": ident.terminal or "",
                "tag": ident.tag or "",
            }
        )
    return out.getvalue()


async def prepare_database(pool: Pool, simulation: Simulation) -> None:
    """Store the scenario's zones and import the simulated fleet's registry (idempotent)."""
    async with pool.connection() as conn, conn.transaction():
        for feature in simulation.scenario.zones:
            await upsert_zone(conn, dict(feature))
    with tempfile.TemporaryDirectory(prefix="seawatch-drill-") as folder:
        path = Path(folder) / "drill-fleet.csv"
        path.write_text(registry_csv(simulation), encoding="utf-8")
        report = await import_vessels_csv(pool, path)
    if report.problems:
        raise ValueError(f"the drill fleet's registry was refused: {report.problems[0].message}")
