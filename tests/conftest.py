"""Real services for the integration tests: PostgreSQL (TimescaleDB where it is) and an MQTT broker.

- Database: `SEAWATCH_TEST_DATABASE_URL` (a server DSN; each test gets its own fresh database on it),
  else an embedded PostgreSQL in a temporary folder.
- Broker: `SEAWATCH_TEST_MQTT_URL`, else `mosquitto` on a free port if installed, else amqtt in-process.
  Each test gets its own topic prefix.
- `timescaledb`: tests that need the extension skip without it, except under `CI=true`, where they fail.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from api.users import add_user
from seawatch.bus import MqttAddress
from seawatch.embedded import EmbeddedPostgres, free_port
from seawatch.settings import DatabaseSettings
from tracking.db import Pool, open_pool
from tracking.migrate import migrate, timescaledb_usable

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
IN_CI = os.environ.get("CI", "").lower() == "true"


# --- PostgreSQL ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def embedded_postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedPostgres]:
    """A plain PostgreSQL server (no TimescaleDB), started once per session when a test asks for it."""
    server = EmbeddedPostgres(tmp_path_factory.mktemp("embedded-pg") / "data")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres_server_dsn(request: pytest.FixtureRequest) -> str:
    """DSN of a server the tests may create databases on."""
    configured = os.environ.get("SEAWATCH_TEST_DATABASE_URL")
    if configured:
        return configured
    server: EmbeddedPostgres = request.getfixturevalue("embedded_postgres")
    return server.dsn()


def _database_dsn(server_dsn: str, database: str) -> str:
    return psycopg.conninfo.make_conninfo(server_dsn, dbname=database)


def create_database(server_dsn: str) -> tuple[str, str]:
    name = f"seawatch_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name, _database_dsn(server_dsn, name)


def drop_database(server_dsn: str, name: str) -> None:
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def empty_database_url(postgres_server_dsn: str) -> Iterator[str]:
    """A new, empty database for this test alone."""
    name, dsn = create_database(postgres_server_dsn)
    yield dsn
    drop_database(postgres_server_dsn, name)


@pytest.fixture
def database_url(empty_database_url: str) -> str:
    """A new database for this test alone, with the schema migrated."""
    migrate(empty_database_url)
    return empty_database_url


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    opened = await open_pool(database_url, DatabaseSettings(pool_min=1, pool_max=4))
    yield opened
    await opened.close()


MakeToken = Callable[[str], Awaitable[str]]


@pytest.fixture
def make_token(pool: Pool) -> MakeToken:
    """Creates a user with the given role (named after it) and returns a token for it."""

    async def make(role: str) -> str:
        async with pool.connection() as conn:
            _, token = await add_user(conn, f"{role}-user", role)
        return token

    return make


@pytest.fixture(scope="session")
def timescaledb_available(postgres_server_dsn: str) -> bool:
    with psycopg.connect(postgres_server_dsn) as conn:
        return timescaledb_usable(conn)


@pytest.fixture
def timescaledb(timescaledb_available: bool) -> None:
    """Use in tests that need TimescaleDB: skipped without it locally, a failure under CI=true."""
    if timescaledb_available:
        return
    message = "TimescaleDB is not available on the test database server"
    if IN_CI:
        pytest.fail(message + " (CI=true: .ci/run must install it)")
    pytest.skip(message)


# --- MQTT ----------------------------------------------------------------------------------------------


def _wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {host}:{port} after {timeout} s")


class _AmqttThread:
    """The pure-Python broker on its own event loop, for machines without mosquitto."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.stopping: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(15):
            raise RuntimeError("amqtt broker did not start")

    def _run(self) -> None:
        from seawatch.embedded import embedded_broker

        async def serve() -> None:
            self.stopping = asyncio.Event()
            async with embedded_broker("127.0.0.1", self.port):
                self.ready.set()
                await self.stopping.wait()

        self.loop.run_until_complete(serve())

    def stop(self) -> None:
        if self.stopping is not None:
            self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(10)


@pytest.fixture(scope="session")
def mqtt_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("SEAWATCH_TEST_MQTT_URL")
    if configured:
        yield configured
        return
    port = free_port()
    mosquitto = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if mosquitto:
        conf = tmp_path_factory.mktemp("mosquitto") / "mosquitto.conf"
        conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
        proc = subprocess.Popen(
            [mosquitto, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            _wait_for_port("127.0.0.1", port)
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(10)
        return
    broker = _AmqttThread(port)
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        broker.stop()


@pytest.fixture
def mqtt_address(mqtt_url: str) -> MqttAddress:
    return MqttAddress.parse(mqtt_url)


@pytest.fixture
def topic_prefix() -> str:
    """A topic prefix no other test uses, so tests sharing a broker never see each other's messages."""
    return f"seawatch-test/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.fail(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA
