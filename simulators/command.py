"""`seawatch simulate`: what the command does once its flags are read (`seawatch.cli` reads them).

Modes, checked in this order:

- `--load N`: benchmark traffic to a loopback AIS feed (`simulators.load`);
- `--report-from LOG`: a drill report from an earlier run's log and the API's alerts;
- `--write-registry FILE` / `--prepare`: what a deployment needs before a drill (scenario zones and the
  drill fleet's registry), written as CSV or stored in the database given with `--db`;
- otherwise: run the scenario against the targets given, optionally writing the run log and, after
  `--report-wait` seconds for the last alerts, the drill report.
"""

from __future__ import annotations

import asyncio
import logging
import math
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from seawatch.settings import DatabaseSettings, Settings
from simulators.drill_report import report_from_api, write_report
from simulators.fleet import FleetSpec
from simulators.geography import Geography
from simulators.load import run_load
from simulators.prepare import prepare_database, registry_csv
from simulators.runner import Runner, Targets
from simulators.scenario import DEFAULT_SCENARIO, FleetModel, Scenario, load_scenario, parse_duration
from simulators.simulation import Simulation

log = logging.getLogger(__name__)


@dataclass
class SimulateOptions:
    scenario: str = DEFAULT_SCENARIO
    ais: list[str] = field(default_factory=list)
    tag_blocks: bool = True
    jt808: str | None = None
    mqtt: str | None = None
    topic_prefix: str | None = None
    api: str | None = None
    token: str | None = None
    speed: float = 1.0
    seed: int | None = None
    fishing: int | None = None
    cargo: int | None = None
    terminal_json: float | None = None  # share of background terminals reporting as JSON over MQTT
    coverage_gaps: float | None = None  # share of background terminals losing coverage now and then
    duration: str | None = None  # "forever" runs until interrupted
    log_file: Path | None = None
    report_dir: Path | None = None
    report_wait_s: float = 10.0
    report_from: Path | None = None
    write_registry: Path | None = None
    prepare: bool = False
    load: float | None = None
    count: int | None = None
    load_duration_s: float = 60.0


def fleet_spec(scenario: Scenario, options: SimulateOptions) -> FleetSpec:
    given = {
        "fishing": options.fishing,
        "cargo": options.cargo,
        "terminal_json_fraction": options.terminal_json,
        "terminal_gap_fraction": options.coverage_gaps,
    }
    # Validated as the scenario's own fleet section would be (a share outside 0-1 is refused).
    model = FleetModel.model_validate(
        {**scenario.fleet.model_dump(), **{k: v for k, v in given.items() if v is not None}}
    )
    return model.spec()


async def simulate(options: SimulateOptions, settings: Settings, stop: asyncio.Event) -> None:
    """Run the mode the options ask for; raises ValueError (or a subclass) for what cannot be done."""
    if options.load is not None:
        if len(options.ais) != 1:
            raise ValueError("--load needs exactly one --ais tcp://127.0.0.1:PORT or udp://… target")
        stats = await run_load(
            options.ais[0], options.load, count=options.count, duration_s=options.load_duration_s
        )
        print(f"sent {stats.sent} messages in {stats.seconds:.1f} s ({stats.rate:.0f}/s)", file=sys.stderr)
        return
    if options.report_from is not None:
        api, token = _api(options)
        run = orjson.loads(options.report_from.read_bytes())
        _write(await report_from_api(run, api, token), options)
        return

    scenario = load_scenario(options.scenario)
    spec = fleet_spec(scenario, options)
    if options.write_registry is not None or options.prepare:
        simulation = Simulation(
            scenario, Geography.shanwei(), start=datetime.now(UTC), seed=options.seed, fleet=spec
        )
        if options.write_registry is not None:
            options.write_registry.write_text(registry_csv(simulation), encoding="utf-8")
            print(f"wrote the drill fleet's registry to {options.write_registry}", file=sys.stderr)
        if options.prepare:
            await _prepare(settings, simulation)
        return

    targets = Targets(
        ais=tuple(options.ais),
        tag_blocks=options.tag_blocks,
        jt808=options.jt808,
        mqtt=options.mqtt,
        topic_prefix=options.topic_prefix or settings.mqtt.topic_prefix,
        api=options.api,
        token=options.token,
    )
    if not (targets.ais or targets.jt808 or targets.mqtt or targets.api):
        raise ValueError("nothing to drive: give at least one of --ais, --jt808, --mqtt, --api")
    until = None
    if options.duration is not None:
        until = math.inf if options.duration == "forever" else parse_duration(options.duration)
    runner = await asyncio.to_thread(
        Runner, scenario, targets, speed=options.speed, seed=options.seed, fleet=spec
    )
    run = await runner.run(until, stop)
    document = run.to_json()
    if options.log_file is not None:
        options.log_file.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts.items()))
    print(f"scenario {scenario.name}: {len(run.events)} events; {counts}", file=sys.stderr)
    if options.report_dir is not None:
        api, token = _api(options)
        await asyncio.sleep(options.report_wait_s)
        _write(await report_from_api(document, api, token), options)


def _api(options: SimulateOptions) -> tuple[str, str]:
    if not options.api or not options.token:
        raise ValueError("the drill report reads alerts from the API: give --api URL and --token TOKEN")
    return options.api, options.token


def _write(report: dict[str, object], options: SimulateOptions) -> None:
    folder = options.report_dir or Path(".")
    json_path, html_path = write_report(report, folder)
    summary = report["summary"]
    print(f"drill report: {json_path} and {html_path}; {summary}", file=sys.stderr)


async def _prepare(settings: Settings, simulation: Simulation) -> None:
    from tracking.db import open_pool

    if settings.database_url is None:
        raise ValueError(
            "--prepare stores zones and the registry: give --db DSN or set SEAWATCH_DATABASE_URL"
        )
    pool = await open_pool(settings.database_url, DatabaseSettings(pool_min=1, pool_max=2))
    try:
        await prepare_database(pool, simulation)
    finally:
        await pool.close()
    print(
        "stored the scenario's zones and the drill fleet's registry; running services use the zones at once",
        file=sys.stderr,
    )
