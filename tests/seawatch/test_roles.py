"""`seawatch run --only ROLE`: the README's table of which component runs where is what `build_components`
builds, and an `--only ingest` and an `--only rules` process together raise a distress alert."""

import itertools
import re
import signal
import socket
import time
from pathlib import Path

import orjson
import psycopg
import pytest

from seawatch.embedded import free_port
from seawatch.runtime import ROLES, build_components
from seawatch.settings import (
    DeliverySettings,
    FeedSettings,
    IngestSettings,
    Settings,
    WebhookSettings,
)
from tests.alerts.test_end_to_end import sart
from tests.seawatch.helpers import seawatch_env, start_seawatch, stop
from tracking.db import Pool

README = Path(__file__).resolve().parents[2] / "README.md"
COLUMNS = {"`run`": None, "`--only ingest`": "ingest", "`--only rules`": "rules", "`--only api`": "api"}


def readme_roles() -> dict[str | None, set[str]]:
    """Role (None: no `--only`) → the components the README's roles table says it runs."""
    section = README.read_text().split("### Roles", 1)[1].splitlines()
    start = next(i for i, line in enumerate(section) if line.startswith("|"))
    rows = list(itertools.takewhile(lambda line: line.startswith("|"), section[start:]))
    header = [cell.strip() for cell in rows[0][1:-1].split("|")]
    table: dict[str | None, set[str]] = {COLUMNS[name]: set() for name in header if name in COLUMNS}
    for row in rows[2:]:
        cells = [cell.strip() for cell in row[1:-1].split("|")]
        names = re.findall(r"`([^`]+)`", cells[0])
        for name, cell in zip(header, cells, strict=True):
            if name in COLUMNS and cell == "✓":
                table[COLUMNS[name]].update(names)
    return table


def everything_on(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        ingest=IngestSettings(feeds=[FeedSettings(name="rx", kind="tcp_server", address="127.0.0.1:0")]),
        delivery=DeliverySettings(
            webhooks=[WebhookSettings(url="https://example.org/hook", secret="a-secret-of-16-chars")]
        ),
    )


def test_the_roles() -> None:
    assert ROLES == ("api", "ingest", "rules")


@pytest.mark.parametrize("only", [None, *ROLES])
async def test_each_role_runs_the_components_the_readme_lists(
    only: str | None, pool: Pool, database_url: str
) -> None:
    components = build_components(everything_on(database_url), pool, only=only)
    names = {re.sub(r":.*", lambda m: {":rx": ":NAME"}.get(m[0], ":URL"), c.name) for c in components}
    assert names == readme_roles()[only]
    assert len(names) == len(components)  # each once
    if only is not None:
        assert {c.role for c in components} == {"all", only}


def test_an_unknown_role_is_refused(pool: Pool) -> None:
    with pytest.raises(ValueError, match="roles are: api, ingest, rules"):
        build_components(Settings(), pool, only="everything")


def count_alerts(database_url: str, kind: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM alerts WHERE kind = %s", (kind,)).fetchone()
    assert row is not None
    return int(row[0])


def test_an_ingest_process_and_a_rules_process_raise_one_distress_alert(
    database_url: str, mqtt_url: str, tmp_path: Path, topic_prefix: str
) -> None:
    ais_port = free_port()
    base = {
        "SEAWATCH_DATABASE_URL": database_url,
        "SEAWATCH_MQTT_URL": mqtt_url,
        "SEAWATCH_MQTT__TOPIC_PREFIX": topic_prefix,
        "SEAWATCH_DEVICES__ENABLED": "false",
        "SEAWATCH_JT808__ENABLED": "false",
        "SEAWATCH_WEATHER__MQTT": "false",
    }
    # A batch of 1000 and a ten-minute flush: only the distress path can bring the alert in time.
    ingest = start_seawatch(
        "run",
        "--only",
        "ingest",
        env=seawatch_env(
            **base,
            SEAWATCH_DATA_DIR=str(tmp_path / "ingest"),
            SEAWATCH_RECORD_BUS__BATCH_MAX="1000",
            SEAWATCH_RECORD_BUS__FLUSH_INTERVAL_MS="600000",
            SEAWATCH_INGEST__FEEDS=orjson.dumps(
                [{"name": "rx", "kind": "tcp_server", "address": f"127.0.0.1:{ais_port}"}]
            ).decode(),
        ),
    )
    rules = start_seawatch(
        "run", "--only", "rules", env=seawatch_env(**base, SEAWATCH_DATA_DIR=str(tmp_path / "r"))
    )
    try:
        # Until the rules process is subscribed, what ingest publishes is not kept for it: send again
        # (one open alert per condition) until the alert is there.
        deadline = time.monotonic() + 60
        while count_alerts(database_url, "distress") == 0:
            for proc in (ingest, rules):
                assert proc.poll() is None, proc.communicate()[1].decode(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "no distress alert"
            try:
                with socket.create_connection(("127.0.0.1", ais_port), timeout=5) as conn:
                    conn.sendall(sart(970012345, 115.42, 22.62))
            except OSError:
                pass  # the feed is not listening yet
            time.sleep(0.5)
        assert count_alerts(database_url, "distress") == 1
    finally:
        results = [stop(proc, signal.SIGTERM) for proc in (ingest, rules)]
    for status, _, _, err in results:
        assert status == 0, err[-3000:]
