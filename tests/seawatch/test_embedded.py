import asyncio

import aiomqtt
import psycopg

from seawatch.embedded import EmbeddedPostgres, embedded_broker, free_port, port_free


def test_embedded_postgres_creates_a_database_once(embedded_postgres: EmbeddedPostgres) -> None:
    dsn = embedded_postgres.ensure_database("seawatch_embedded_check")
    assert embedded_postgres.ensure_database("seawatch_embedded_check") == dsn
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT current_database(), current_setting('server_version_num')::int").fetchone()
    assert row is not None
    assert row[0] == "seawatch_embedded_check"
    assert row[1] >= 180000


async def test_embedded_broker_carries_messages() -> None:
    port = free_port()
    async with embedded_broker("127.0.0.1", port) as address:
        assert address.port == port
        async with aiomqtt.Client(address.host, address.port) as client:
            await client.subscribe("demo/#", qos=1)
            await client.publish("demo/x", b"hello", qos=1)
            async with asyncio.timeout(5):
                async for message in client.messages:
                    assert (str(message.topic), message.payload) == ("demo/x", b"hello")
                    break
    assert port_free("127.0.0.1", port)


async def test_embedded_broker_moves_to_a_free_port_when_the_asked_one_is_taken() -> None:
    async with (
        embedded_broker("127.0.0.1", None) as first,
        embedded_broker("127.0.0.1", first.port) as second,
    ):
        assert second.port != first.port
