import asyncio
from pathlib import Path

import aiomqtt
import psycopg

from alerts.cap_inputs import cap_from_mqtt, cap_topic, process_inbox
from alerts.rules.weather import WeatherRule
from alerts.weather import WeatherService
from seawatch.bus import MqttAddress
from seawatch.settings import IngestSettings, MqttSettings
from tracking.db import Pool

THUNDERSTORM = "oasis/v1dot2_appendix_adot2.xml"  # A.2, a severe thunderstorm warning


def cap_file(shared_data: Path, name: str) -> bytes:
    matches = sorted((shared_data / "cap").glob(f"**/{Path(name).name}"))
    assert matches, name
    return matches[0].read_bytes()


def stored(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT identifier, msg_type FROM weather_warnings ORDER BY id").fetchall()


async def test_the_inbox_applies_good_files_and_sets_bad_ones_aside_with_the_reason(
    pool: Pool, database_url: str, tmp_path: Path, shared_data: Path
) -> None:
    rule = WeatherRule()
    inbox = tmp_path / "cap-inbox"
    inbox.mkdir()
    (inbox / "storm.xml").write_bytes(cap_file(shared_data, THUNDERSTORM))
    (inbox / "broken.cap").write_bytes(b"<alert>not CAP</alert>")
    (inbox / "notes.txt").write_text("ignored: not a CAP file name")
    handled = await process_inbox(inbox, WeatherService(pool, rule))
    assert handled == 2
    assert (inbox / "processed" / "storm.xml").exists()
    assert (inbox / "rejected" / "broken.cap").exists()
    assert (
        "not_cap" in (inbox / "rejected" / "broken.cap.error.txt").read_text()
        or (inbox / "rejected" / "broken.cap.error.txt").read_text()
    )
    assert (inbox / "notes.txt").exists()
    assert [identifier for identifier, _ in stored(database_url)] == ["KSTO1055887203"]
    assert len(rule.warnings) == 1


async def test_documents_over_mqtt_are_stored_then_acknowledged(
    pool: Pool, database_url: str, mqtt_address: MqttAddress, topic_prefix: str, shared_data: Path
) -> None:
    mqtt = MqttSettings(topic_prefix=topic_prefix, client_id=f"cap-{topic_prefix[-8:]}")
    rule = WeatherRule()
    task = asyncio.create_task(
        cap_from_mqtt(mqtt_address, mqtt, IngestSettings(), WeatherService(pool, rule))
    )
    try:
        await asyncio.sleep(0.5)  # subscribed
        async with aiomqtt.Client(mqtt_address.host, mqtt_address.port) as publisher:
            await publisher.publish(cap_topic(mqtt), b"garbage", qos=1)
            await publisher.publish(cap_topic(mqtt), cap_file(shared_data, THUNDERSTORM), qos=1)
        async with asyncio.timeout(10):
            while not stored(database_url):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert stored(database_url) == [("KSTO1055887203", "Alert")]
