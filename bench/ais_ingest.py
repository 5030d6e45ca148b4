"""AIS ingest throughput: pyais alone, `seawatch decode`, gpsd's `gpsdecode`, and full ingest into
TimescaleDB, side by side on one corpus (`bench.ais_corpus`), in one invocation.

The runs:

1. **pyais decode alone** — pyais' own `FileReaderStream` over the file (line parsing, tag blocks,
   fragment assembly) and `.decode()` of every message, in this process.
2. **`seawatch decode FILE`** — a subprocess, stdout to /dev/null; wall time, interpreter start included;
   its default `--jobs`: one decoding process per core.
3. **`gpsdecode -j -s < FILE`** — gpsd's C decoder, JSON output with scaled values, type 24 halves
   reported separately (as seawatch does), stdout to /dev/null.
4. **full ingest**, twice — the real pipeline in this process: the file source, `NmeaFeedHandler`
   (decode, dedup step) and `RecordStore` (binary `COPY` in batches) into a fresh database migrated
   with `tracking.migrate.migrate`, from the first line until every record's future is durable; rows
   are counted afterwards: nothing may be lost. First with the handler putting straight into the
   store, then into the sink `IngestService` hands its feed readers (the identity-anomaly check
   around the store), as `seawatch run` does.
5. **`seawatch run --only ingest` over TCP** (optional) — the ingest role's whole process (the
   supervisor and everything it wires to ingest, records published on the record bus) reading the file
   from a local TCP feed, until the rows stop growing.

Each external decoder is first run once with its output counted (a warm-up, and the check that it
decoded every message) and then timed.

The dedup step's window (`ingest.dedup_window_s`, 5 s) runs on message time (the tag-block times), so
a replay at full speed keeps a vessel's repeated, identical static reports as a live feed would: every
run stores one row per message.
"""

from __future__ import annotations

import asyncio
import contextlib
import cProfile
import json
import os
import platform
import pstats
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from prometheus_client import REGISTRY
from psycopg import sql

from bench.ais_corpus import DEFAULT_SIZE, MIX, START, ensure_corpus, message_counts, shift_times

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SERVER_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"

#: Targets from the AIS-ingest issue.
TARGET_INGEST_RATE = 50_000
TARGET_DECODE_RATIO = 0.5


@dataclass
class Run:
    name: str
    messages: int
    seconds: float | None  # None: not measured (see `note`)
    note: str = ""

    @property
    def rate(self) -> float | None:
        return None if not self.seconds else self.messages / self.seconds


@dataclass
class IngestDetails:
    rows: dict[str, int] = field(default_factory=dict)
    decoded: int = 0
    invalid: int = 0
    duplicates: int = 0
    failed: int = 0  # futures that ended in an exception
    python_cpu_s: float = 0.0
    postgres_cpu_s: float | None = None
    timescaledb: bool = False


@dataclass
class Report:
    size: int
    corpus: Path
    lines: int
    runs: list[Run] = field(default_factory=list)
    ingest: dict[str, IngestDetails] = field(default_factory=dict)  # by run name
    versions: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, list[str]] = field(default_factory=dict)  # by run name
    load: float | None = None  # 1-minute load average before the runs: was the machine idle?

    def run(self, name: str) -> Run | None:
        return next((r for r in self.runs if r.name == name), None)


# --- the runs ------------------------------------------------------------------------------------


def run_pyais(path: Path, size: int) -> Run:
    from pyais.stream import FileReaderStream

    started = time.perf_counter()
    count = 0
    with FileReaderStream(str(path)) as stream:
        for message in stream:
            message.decode()
            count += 1
    elapsed = time.perf_counter() - started
    return Run("pyais decode alone", count, elapsed, _count_note(count, size))


def _seawatch_command() -> list[str]:
    script = Path(sys.executable).with_name("seawatch")
    fallback = [sys.executable, "-c", "import sys; from seawatch.cli import main; sys.exit(main())"]
    return [str(script)] if script.exists() else fallback


def _time_external(command: list[str], path: Path, size: int, *, stdin: bool) -> tuple[float, str]:
    """Run `command` once counting its output lines (warm-up and check), then time it to /dev/null."""
    with path.open("rb") as source:
        checked = subprocess.run(
            command if stdin else [*command, str(path)],
            stdin=source if stdin else subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    if checked.returncode != 0:
        raise RuntimeError(f"{command[0]} exited {checked.returncode}: {checked.stderr[-500:]!r}")
    produced = checked.stdout.count(b"\n")
    problems = checked.stderr.count(b"\n")
    with path.open("rb") as source, open(os.devnull, "wb") as sink:
        started = time.perf_counter()
        subprocess.run(
            command if stdin else [*command, str(path)],
            stdin=source if stdin else subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.DEVNULL,
            check=True,
        )
        elapsed = time.perf_counter() - started
    note = _count_note(produced, size)
    if problems:
        note = f"{note}; {problems} line(s) on stderr".lstrip("; ")
    return elapsed, note


def run_seawatch_decode(path: Path, size: int) -> Run:
    command = [*_seawatch_command(), "decode"]
    elapsed, note = _time_external(command, path, size, stdin=False)
    started = time.perf_counter()
    subprocess.run([*command, os.devnull], stdout=subprocess.DEVNULL, check=True)
    startup = time.perf_counter() - started
    without = f"{size / (elapsed - startup):,.0f}/s without it" if elapsed > startup else ""
    started_note = f"includes {startup:.2f} s of start-up (an empty input; {without})"
    note = "; ".join(filter(None, [note, started_note]))
    return Run("`seawatch decode`", size, elapsed, note)


def run_gpsdecode(path: Path, size: int) -> Run:
    gpsdecode = shutil.which("gpsdecode")
    if gpsdecode is None:
        return Run(
            "`gpsdecode -j -s`", size, None, "not installed (`apt-get install gpsd-clients`): not measured"
        )
    elapsed, note = _time_external([gpsdecode, "-j", "-s"], path, size, stdin=True)
    return Run("`gpsdecode -j -s`", size, elapsed, note)


def _count_note(count: int, size: int) -> str:
    return "" if count == size else f"{count:,} of {size:,} messages decoded"


# --- databases -----------------------------------------------------------------------------------


@contextlib.contextmanager
def fresh_database(server_dsn: str) -> Iterator[str]:
    """A new database `seawatch_bench_<random>` on the server, dropped afterwards."""
    name = f"seawatch_bench_{secrets.token_hex(6)}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(server_dsn, dbname=name)
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


#: The table each message type's records go to (`tracking.rows`).
TABLES = {1: "positions", 3: "positions", 18: "positions", 5: "static_reports", 24: "static_reports"}


def expected_rows(size: int) -> dict[str, int]:
    rows = dict.fromkeys(("positions", "static_reports", "events"), 0)
    for msg_type, count in message_counts(size).items():
        rows[TABLES.get(msg_type, "events")] += count
    return rows


#: Rows the identity-anomaly check adds to `events` (`tracking.anomalies.ANOMALY_KIND`).
ANOMALIES = "identity_anomaly"


def count_rows(dsn: str) -> dict[str, int]:
    """Rows per table; `events` without the identity anomalies, which are counted apart."""
    with psycopg.connect(dsn) as conn:
        rows: dict[str, int] = {}
        for table in ("positions", "static_reports", "events"):
            found = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
            rows[table] = int(found[0]) if found else 0
        found = conn.execute("SELECT count(*) FROM events WHERE kind = %s", (ANOMALIES,)).fetchone()
        rows[ANOMALIES] = int(found[0]) if found else 0
        rows["events"] -= rows[ANOMALIES]
        return rows


def _backend_cpu_s(dsn: str) -> dict[int, float]:
    """CPU seconds used so far by each server process connected to the database (same machine only)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        pids = [
            int(row[0])
            for row in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()"
            )
        ]
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def _counter(name: str, labels: dict[str, str]) -> int:
    return int(REGISTRY.get_sample_value(name, labels) or 0)


# --- run 4: full ingest in this process ----------------------------------------------------------


async def _ingest(path: Path, dsn: str, details: IngestDetails, *, service: bool) -> float:
    """One full ingest of the file into `dsn`; the wall time from the first line until every record
    (and, with `service`, every anomaly record the checks added) is durable.

    Without `service`: `NmeaFeedHandler` → `RecordStore`. With it: the sink `IngestService` gives its
    feed readers (today the identity-anomaly check around the store), so the in-process run follows
    the production wiring as it changes.
    """
    from ingest.dedup import Deduplicator
    from ingest.pipeline import NmeaFeedHandler, Pipeline, RecordSink, ais_steps
    from ingest.service import IngestService
    from ingest.sources import open_source
    from seawatch.settings import DatabaseSettings, FeedSettings, Settings
    from tracking.db import open_pool
    from tracking.store import RecordStore

    class Recorder:
        """The sink as the feed handler sees it, keeping every record's durability future."""

        def __init__(self, sink: RecordSink) -> None:
            self.sink = sink
            self.futures: list[asyncio.Future[None]] = []

        async def put(self, record: dict[str, Any]) -> asyncio.Future[None]:
            future = await self.sink.put(record)
            self.futures.append(future)
            return future

    feed_name = f"bench-{secrets.token_hex(4)}"
    feed = FeedSettings(name=feed_name, kind="file", address=str(path))
    with tempfile.TemporaryDirectory(prefix="seawatch-bench-") as data_dir:
        # Defaults, as `seawatch run` would have them, with nothing but the file feed in this process.
        settings = Settings(
            database_url=dsn,
            data_dir=Path(data_dir),
            database=DatabaseSettings(),
            jt808={"enabled": False},
            devices={"enabled": False},
        )
        pool = await open_pool(dsn, settings.database, name="seawatch-bench")
        try:
            store: RecordStore
            sink: RecordSink
            if service:
                ingest_service = IngestService(settings, pool)
                store, sink = ingest_service.store, ingest_service.sink
            else:
                store = RecordStore(
                    pool, settings.store, Path(data_dir) / "spool", queue_max=settings.ingest.queue_max
                )
                sink = store
            recorder = Recorder(sink)
            dedup = Deduplicator(settings.ingest.dedup_window_s)
            pipeline = Pipeline(ais_steps(dedup, feed_name))
            handler = NmeaFeedHandler(feed_name, settings.ingest, pipeline, recorder)
            store_task = asyncio.create_task(store.run(), name="bench-store")
            await asyncio.sleep(0)  # let the store open its spool
            backends_before = _backend_cpu_s(dsn)
            cpu_before = time.process_time()
            started = time.perf_counter()
            async with open_source(feed, settings.ingest) as lines:
                async for line in lines:
                    await handler.handle(line)
            results = await asyncio.gather(*recorder.futures, return_exceptions=True)
            # Records a check added after the last line; the store has no "all durable" event to await.
            while store.pending:  # noqa: ASYNC110
                await asyncio.sleep(0.001)
            elapsed = time.perf_counter() - started
            details.python_cpu_s = time.process_time() - cpu_before
            backends_after = _backend_cpu_s(dsn)
            store_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await store_task
        finally:
            await pool.close()
    details.failed = sum(isinstance(r, BaseException) for r in results)
    details.decoded = _counter("seawatch_ingest_decoded_total", {"feed": feed_name})
    details.duplicates = _counter("seawatch_ingest_duplicates_total", {"feed": feed_name})
    details.invalid = sum(
        int(sample.value)
        for metric in REGISTRY.collect()
        if metric.name == "seawatch_ingest_invalid"
        for sample in metric.samples
        if sample.name.endswith("_total") and sample.labels.get("feed") == feed_name
    )
    if backends_after:
        details.postgres_cpu_s = sum(
            used - backends_before.get(pid, 0.0) for pid, used in backends_after.items()
        )
    return elapsed


INGEST_CORE = "full ingest: feed handler → store"
INGEST_SERVICE = "full ingest: feed handler → `IngestService` sink → store"


def run_full_ingest(
    path: Path, size: int, server_dsn: str, report: Report, *, service: bool, profile_top: int = 0
) -> Run:
    """Run 4: in-process full ingest into a fresh database (see `_ingest` for the two wirings)."""
    from tracking.migrate import migrate

    name = INGEST_SERVICE if service else INGEST_CORE
    try:
        with psycopg.connect(server_dsn, connect_timeout=5) as conn:
            shown = conn.execute("SHOW server_version").fetchone()
        report.versions["PostgreSQL"] = str(shown[0]).split()[0] if shown else "?"
    except psycopg.Error as exc:
        return Run(name, size, None, f"no database server at $SEAWATCH_BENCH_DATABASE_URL: {exc}".strip())
    details = IngestDetails()
    with fresh_database(server_dsn) as dsn:
        migrated = migrate(dsn)
        details.timescaledb = migrated.timescaledb
        with psycopg.connect(dsn) as conn:
            found = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
            ).fetchone()
        if found:
            report.versions["TimescaleDB"] = str(found[0])
        elapsed = asyncio.run(_ingest(path, dsn, details, service=service))
        details.rows = count_rows(dsn)
    report.ingest[name] = details
    if not details.timescaledb:
        name += " (PostgreSQL without TimescaleDB)"
    rows = {table: count for table, count in details.rows.items() if table != ANOMALIES}
    problems = []
    if sum(rows.values()) != size:
        problems.append(_rows_note(rows, size, sum(rows.values())))
    if details.duplicates:
        problems.append(f"{details.duplicates:,} dropped as duplicates")
    if details.invalid:
        problems.append(f"{details.invalid:,} invalid")
    if details.failed:
        problems.append(f"{details.failed:,} records not stored")
    run = Run(name, size, elapsed, "; ".join(problems))
    if profile_top:
        report.profiles[name] = profile_ingest(path, server_dsn, profile_top, elapsed, service=service)
    return run


def profile_ingest(
    path: Path, server_dsn: str, top: int, timed_s: float | None = None, *, service: bool
) -> list[str]:
    """cProfile of a second full-ingest run (slower than the timed one): where the Python time goes."""
    from tracking.migrate import migrate

    profiler = cProfile.Profile()
    with fresh_database(server_dsn) as dsn:
        migrate(dsn)
        profiler.enable()
        asyncio.run(_ingest(path, dsn, IngestDetails(), service=service))
        profiler.disable()
    return summarise_profile(pstats.Stats(profiler), top, timed_s)


ProfileKey = tuple[str, int, str]  # (file, line, function)

#: Stages of the ingest path: (label, [(file suffix, function names)]), timed by inclusive time.
STAGES: tuple[tuple[str, tuple[tuple[str, frozenset[str]], ...]], ...] = (
    ("NMEA line and tag-block parsing", (("ingest/nmea.py", frozenset({"parse_line"})),)),
    ("fragment assembly", (("ingest/assembly.py", frozenset({"add"})),)),
    (
        "pyais' bit decoding",
        (
            ("pyais/messages.py", frozenset({"from_vector", "asdict"})),
            ("pyais/bit_vector.py", frozenset({"__init__"})),
        ),
    ),
    ("seawatch's field normalisation (`ingest/ais.py`)", (("ingest/ais.py", frozenset({"decode_payload"})),)),
    ("dedup (orjson + BLAKE2b key)", (("ingest/dedup.py", frozenset({"first_copy"})),)),
    ("Prometheus counters", (("prometheus_client/metrics.py", frozenset({"labels", "inc"})),)),
    ("records to rows (`to_row`)", (("tracking/store.py", frozenset({"_seal"})),)),
    (
        "vessel identity resolution (all new: the database starts empty)",
        (("tracking/writer.py", frozenset({"_resolve_vessels"})),),
    ),
    ("binary COPY", (("tracking/writer.py", frozenset({"_copy"})),)),
    ("file source", (("ingest/sources/file.py", frozenset({"__anext__"})),)),
    ("identity-anomaly check (`tracking.anomalies`)", (("tracking/anomalies.py", frozenset({"check"})),)),
)


def summarise_profile(stats: pstats.Stats, top: int, timed_s: float | None = None) -> list[str]:
    """Two sentences: the share of each stage (inclusive time), and the costliest functions (own time)."""
    raw: dict[ProfileKey, tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values()) or 1.0

    def inclusive(parts: tuple[tuple[str, frozenset[str]], ...]) -> float:
        return sum(
            entry[3]
            for (file, _, func), entry in raw.items()
            for suffix, names in parts
            if func in names and file.endswith(suffix)
        )

    shares = {label: inclusive(parts) for label, parts in STAGES}
    # decode_payload includes pyais' work: leave seawatch's own part.
    normalisation = STAGES[3][0]
    shares[normalisation] = max(0.0, shares[normalisation] - shares[STAGES[2][0]])
    ranked_stages = sorted(((t, label) for label, t in shares.items() if t), reverse=True)
    rest = max(0.0, 1 - sum(t for t, _ in ranked_stages) / total)
    stage_text = ", ".join(f"{label} {t / total:.0%}" for t, label in ranked_stages)
    ranked = sorted(raw.items(), key=lambda item: item[1][2], reverse=True)[:top]
    functions = ", ".join(
        f"`{_short_path(file)}:{func}` {entry[2] / total:.0%} ({entry[1]:,} calls)"
        if line
        else f"`{func}` {entry[2] / total:.0%} ({entry[1]:,} calls)"
        for (file, line, func), entry in ranked
    )
    slower = f", {total / timed_s:.1f}× the timed run" if timed_s else ""
    return [
        f"- By stage (inclusive): {stage_text}; the remaining {rest:.0%} is the event loop, the feed"
        " handler and the store's queue.",
        f"- By function (own time): {functions}.",
        f"- {total:.0f} s under cProfile{slower}: the profiler inflates code that makes many small calls,"
        " so read the shares as a ranking.",
    ]


def _short_path(file: str) -> str:
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in file:
            return file.split(marker, 1)[1]
    return file


# --- run 5: `seawatch run` reading a TCP feed ----------------------------------------------------

TCP_RUN = "`seawatch run --only ingest` from a TCP feed"


def run_service_tcp(path: Path, size: int, server_dsn: str, *, settle_s: float = 3.0) -> Run:
    """`seawatch run --only ingest` with a tcp_client feed to a local server that sends the file once."""
    from tracking.migrate import migrate

    name = TCP_RUN
    # Tag-block times moved to the present: the rules compare report times with their clock, and a
    # fleet last heard in 2025 would be a fleet of lost contacts.
    payload = shift_times(path.read_bytes(), int(time.time() - START.timestamp()))
    with fresh_database(server_dsn) as dsn, tempfile.TemporaryDirectory(prefix="seawatch-bench-run-") as tmp:
        migrate(dsn)
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        listener.settimeout(30)
        # The ingest role publishes every record on the record bus: to the local broker, as deployed
        # (no rules process subscribes here, so the broker drops them once received).
        mqtt_url = os.environ.get("SEAWATCH_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
        env = {
            **os.environ,
            "SEAWATCH_DATABASE_URL": dsn,
            "SEAWATCH_DATA_DIR": tmp,
            "SEAWATCH_MQTT_URL": mqtt_url,
            "SEAWATCH_MQTT__TOPIC_PREFIX": f"bench-{port}",
            "SEAWATCH_JT808__ENABLED": "false",
            "SEAWATCH_INGEST__FEEDS": json.dumps(
                [{"name": "bench-tcp", "kind": "tcp_client", "address": f"127.0.0.1:{port}"}]
            ),
            "SEAWATCH_LOG_LEVEL": "WARNING",
        }
        log_path = Path(tmp) / "seawatch-run.log"
        with log_path.open("wb") as log:
            service = subprocess.Popen(
                [*_seawatch_command(), "run", "--only", "ingest"], env=env, stdout=log, stderr=log
            )
            try:
                try:
                    conn_sock, _ = listener.accept()
                except TimeoutError:
                    return Run(name, size, None, "the service never connected to the feed")
                started = time.perf_counter()
                with conn_sock:
                    conn_sock.sendall(payload)
                    _, finished = _wait_for_rows(dsn, size, settle_s)
                elapsed = finished - started
                rows = count_rows(dsn)
            finally:
                listener.close()
                service.terminate()
                try:
                    service.wait(15)
                except subprocess.TimeoutExpired:
                    service.kill()
                    service.wait()
    rows.pop(ANOMALIES, None)
    return Run(name, size, elapsed, _rows_note(rows, size, sum(rows.values())))


def _rows_note(rows: dict[str, int], size: int, stored: int) -> str:
    if stored == size:
        return ""
    expected = expected_rows(size)
    short = [
        f"{table} {rows[table]:,} of {expected[table]:,}" for table in rows if rows[table] != expected[table]
    ]
    # The dedup window runs on message time: a shortfall here is a loss, reported as one.
    return f"{stored:,} rows for {size:,} messages: {', '.join(short)}"


def _wait_for_rows(dsn: str, size: int, settle_s: float, timeout_s: float = 600) -> tuple[int, float]:
    """Poll the committed row count until it reaches `size` or stops growing for `settle_s`."""
    last, last_change = -1, time.perf_counter()
    deadline = last_change + timeout_s
    with psycopg.connect(dsn, autocommit=True) as conn:
        while True:
            found = conn.execute("SELECT coalesce(sum(rows), 0) FROM ingest_batches").fetchone()
            now = time.perf_counter()
            count = int(found[0]) if found else 0
            if count != last:
                last, last_change = count, now
            if count >= size or (count > 0 and now - last_change >= settle_s) or now > deadline:
                return count, last_change
            time.sleep(0.05)


# --- versions and the report ---------------------------------------------------------------------


def collect_versions(report: Report) -> None:
    import pyais

    report.versions["seawatch"] = _seawatch_revision()
    report.versions.setdefault("Python", platform.python_version())
    report.versions["pyais"] = str(pyais.__version__)
    gpsdecode = shutil.which("gpsdecode")
    if gpsdecode:
        shown = subprocess.run([gpsdecode, "-V"], capture_output=True, text=True, check=False)
        words = (shown.stdout or shown.stderr).split()
        report.versions["gpsd"] = next((w for w in words if w[:1].isdigit()), "?")


def _seawatch_revision() -> str:
    """The commit measured, marked when the code the runs use had uncommitted changes."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return "(not a git checkout)"
    changed = git("status", "--porcelain", "--", "seawatch", "ingest", "tracking", "pyproject.toml")
    return f"{commit} (with uncommitted changes)" if changed else commit


def machine() -> str:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split("\n", 1)[0].split()[1])
        memory = f", {kib / 2**20:.0f} GiB"
    cpu = f" ({model})" if model else ""
    return f"{os.cpu_count()} cores{cpu}{memory}, {platform.system()} {platform.release()}"


def _fmt_rate(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:,.0f}"


def markdown(report: Report) -> str:
    counts = message_counts(report.size)
    mix = ", ".join(f"type {t} {counts[t]:,}" for t, _ in MIX)
    lines = [
        "### AIS ingest",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {machine()}, with "
        + ", ".join(f"{k} {v}" for k, v in report.versions.items())
        + "."
        + _load_text(report.load),
        "",
        f"Corpus: {report.size:,} messages ({report.lines:,} sentences with tag blocks) from "
        f"`bench/ais_corpus.py` — {mix}. Regenerate with `make bench` "
        f'(`BENCH_ARGS="--size 20000"` for a quick run).',
        "",
        "| run | messages/s | seconds | note |",
        "|---|---:|---:|---|",
    ]
    for run in report.runs:
        seconds = "—" if run.seconds is None else f"{run.seconds:.2f}"
        lines.append(f"| {run.name} | {_fmt_rate(run.rate)} | {seconds} | {run.note} |")
    lines += ["", "How each row is measured:", "", *LEGEND, "", "Targets:", ""]
    lines.extend(verdicts(report))
    for name, ing in report.ingest.items():
        timed = next((r for r in report.runs if r.name.startswith(name)), None)
        rows = ", ".join(f"{table} {count:,}" for table, count in ing.rows.items() if table != ANOMALIES)
        extra = f" and {ing.rows[ANOMALIES]:,} identity anomalies" if ing.rows.get(ANOMALIES) else ""
        text = f"{name[0].upper()}{name[1:]}: stored {rows}{extra}; Python {ing.python_cpu_s:.1f} s CPU"
        if ing.postgres_cpu_s is not None:
            text += f", PostgreSQL backend {ing.postgres_cpu_s:.1f} s CPU"
        if timed is not None and timed.seconds:
            busy = ing.python_cpu_s / timed.seconds
            text += f", in {timed.seconds:.1f} s wall: the ingest process is busy {busy:.0%} of the time"
            text += " on one of the two cores"
            if ing.postgres_cpu_s is not None:
                text += f", the database server {ing.postgres_cpu_s / timed.seconds:.0%}"
        lines += ["", text + "."]
    for name, profile in report.profiles.items():
        lines += ["", f"Where the time goes in «{name}» (cProfile of a second run):", ""]
        lines += profile
    return "\n".join(lines) + "\n"


LEGEND = (
    "- pyais: `FileReaderStream` and `.decode()` in-process. `seawatch decode` (default `--jobs`: one"
    " decoding process per core) and `gpsdecode`: subprocesses, output to /dev/null, each first run once"
    " with its output counted.",
    "- Full ingest, in-process, into a fresh database: the file source, `NmeaFeedHandler` (decode, dedup)"
    " and `RecordStore` (binary `COPY`), until every record is durable, rows counted; once straight into"
    " the store, once through the sink `IngestService` gives its readers (the identity-anomaly check)."
    " The dedup window runs on message time, so no record is lost to replay speed.",
    "- `seawatch run --only ingest`: the ingest role's process on one event loop (feeds, store, identity"
    " checks, the record bus publisher to the local Mosquitto; the rules would run in a `--only rules`"
    " process, not started here), fed over local TCP with the corpus' times moved to the present,"
    " timed until the committed row count stops growing.",
)


def _load_text(load: float | None) -> str:
    if load is None:
        return ""
    if load > 1.0:  # half the machine's two cores
        return f" Load average {load:.2f} before the runs: the machine was busy, so the figures are low."
    return f" Load average {load:.2f} before the runs."


def verdicts(report: Report) -> list[str]:
    out: list[str] = []
    ingests = [r for r in report.runs if r.name.startswith(("full ingest", "`seawatch run`"))]
    if not any(r.rate for r in ingests):
        out.append(f"- Full ingest ≥ {TARGET_INGEST_RATE:,} messages/s: not measured.")
    for ingest in ingests:
        if ingest.rate is None:
            continue
        met = ingest.rate >= TARGET_INGEST_RATE and not ingest.note
        out.append(
            f"- {ingest.name} ≥ {TARGET_INGEST_RATE:,} messages/s: **{'met' if met else 'missed'}** "
            f"({ingest.rate:,.0f}/s, {ingest.rate / TARGET_INGEST_RATE:.0%} of the target)."
        )
    decode, gpsd = report.run("`seawatch decode`"), report.run("`gpsdecode -j -s`")
    if decode is None or gpsd is None or decode.rate is None or gpsd.rate is None:
        out.append("- `seawatch decode` ≥ half as fast as `gpsdecode`: not measured.")
    else:
        ratio = decode.rate / gpsd.rate
        met = ratio >= TARGET_DECODE_RATIO
        out.append(
            f"- `seawatch decode` ≥ half as fast as `gpsdecode`: **{'met' if met else 'missed'}** "
            f"(ratio {ratio:.2f}; {decode.rate:,.0f}/s against {gpsd.rate:,.0f}/s)."
        )
    return out


def run_all(
    size: int = DEFAULT_SIZE,
    *,
    server_dsn: str | None = None,
    profile_top: int = 6,
    tcp: bool = True,
    log: Any = print,
) -> Report:
    server = server_dsn or os.environ.get("SEAWATCH_BENCH_DATABASE_URL", DEFAULT_SERVER_DSN)
    load = os.getloadavg()[0]  # before building the corpus, which is busy work of our own
    log(f"corpus: {size:,} messages …")
    path = ensure_corpus(size)
    with path.open("rb") as corpus:
        lines = sum(1 for _ in corpus)
    report = Report(size, path, lines)
    report.load = load
    collect_versions(report)
    steps: list[tuple[str, Any]] = [
        ("pyais decode alone", lambda: run_pyais(path, size)),
        ("seawatch decode", lambda: run_seawatch_decode(path, size)),
        ("gpsdecode", lambda: run_gpsdecode(path, size)),
        (
            INGEST_CORE,
            lambda: run_full_ingest(path, size, server, report, service=False, profile_top=profile_top),
        ),
        (
            INGEST_SERVICE,
            lambda: run_full_ingest(path, size, server, report, service=True, profile_top=profile_top),
        ),
    ]
    if tcp:
        steps.append(("seawatch run over TCP", lambda: _guarded_tcp(path, size, server)))
    for label, step in steps:
        log(f"{label} …")
        run = step()
        report.runs.append(run)
        log(f"  {_fmt_rate(run.rate)} messages/s {run.note}".rstrip())
    return report


def _guarded_tcp(path: Path, size: int, server_dsn: str) -> Run:
    try:
        return run_service_tcp(path, size, server_dsn)
    except (OSError, psycopg.Error, subprocess.SubprocessError) as exc:
        return Run(TCP_RUN, size, None, f"not measured: {exc}")
