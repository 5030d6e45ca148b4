"""CAP warnings that do not come by HTTP: a watched folder, and an MQTT topic.

Folder: a weather office's system (or an operator) drops `*.xml`/`*.cap` files into the inbox; each is
applied, then moved to `processed/`, or to `rejected/` with a `.error.txt` beside it saying why.
MQTT: documents published to `{topic_prefix}/weather/cap` at QoS 1 are acknowledged only once stored
(a document the parser refuses is acknowledged too — sending it again could never help — and logged).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

from alerts.cap import CapError
from alerts.weather import WeatherService
from ingest.sources.mqtt import MqttSource
from seawatch.bus import MqttAddress
from seawatch.settings import FeedSettings, IngestSettings, MqttSettings

log = logging.getLogger(__name__)

MAX_CAP_BYTES = 1_000_000
PATTERNS = ("*.xml", "*.cap")
Sleep = Callable[[float], Awaitable[None]]


def cap_topic(mqtt: MqttSettings) -> str:
    return f"{mqtt.topic_prefix}/weather/cap"


def _waiting(inbox: Path) -> list[Path]:
    inbox.mkdir(parents=True, exist_ok=True)
    return sorted((p for pattern in PATTERNS for p in inbox.glob(pattern)), key=lambda p: p.stat().st_mtime)


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_CAP_BYTES:
        raise CapError("size", f"larger than {MAX_CAP_BYTES} bytes")
    return path.read_bytes()


def _file_away(path: Path, folder: str, error: str | None = None) -> None:
    target = path.parent / folder
    target.mkdir(exist_ok=True)
    if error is not None:
        (target / f"{path.name}.error.txt").write_text(f"{error}\n", encoding="utf-8")
    path.replace(target / path.name)


async def process_inbox(inbox: Path, weather: WeatherService) -> int:
    """Apply every document waiting in `inbox`, oldest first; returns how many were handled."""
    files = await asyncio.to_thread(_waiting, inbox)
    for path in files:
        try:
            alert, new = await weather.receive(await asyncio.to_thread(_read, path))
        except CapError as exc:
            log.warning("CAP file %s rejected: %s", path.name, exc)
            await asyncio.to_thread(_file_away, path, "rejected", str(exc))
            continue
        log.info(
            "CAP file %s: %s %s%s", path.name, alert.msg_type, alert.identifier, "" if new else " (again)"
        )
        await asyncio.to_thread(_file_away, path, "processed")
    return len(files)


async def watch_inbox(
    inbox: Path, weather: WeatherService, *, interval_s: float = 2.0, sleep: Sleep = asyncio.sleep
) -> None:
    log.info("watching %s for CAP documents", inbox)
    while True:
        await process_inbox(inbox, weather)
        await sleep(interval_s)


async def cap_from_mqtt(
    address: MqttAddress, mqtt: MqttSettings, ingest: IngestSettings, weather: WeatherService
) -> None:
    feed = FeedSettings(name="weather-cap", kind="mqtt", address=cap_topic(mqtt))
    source = MqttSource(feed, ingest, address, mqtt_settings=mqtt, whole_payload_max_bytes=MAX_CAP_BYTES)
    async with source as documents:
        async for document in documents:
            try:
                await weather.receive(document.data)
            except CapError as exc:
                log.warning("CAP document on %s rejected: %s", feed.address, exc)
            if document.ack is not None:
                await document.ack()
