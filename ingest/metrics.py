"""Prometheus metrics for the ingest path, served at /metrics.

Labelled by `feed`: the configured name of the source (one receiver, one aggregator, one MQTT topic), so a
feed that stops shows up as a flat `seawatch_ingest_messages_total` and an old `..._last_message_timestamp`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_IN = Counter("seawatch_ingest_messages", "Lines or frames received", ["feed"])
DECODED = Counter("seawatch_ingest_decoded", "Records decoded", ["feed"])
INVALID = Counter("seawatch_ingest_invalid", "Lines or frames that could not be decoded", ["feed", "reason"])
DUPLICATES = Counter("seawatch_ingest_duplicates", "Records dropped as heard by another receiver", ["feed"])
STORED = Counter("seawatch_ingest_stored", "Records committed to the database", ["table"])
FEED_CONNECTED = Gauge("seawatch_ingest_feed_connected", "1 while the feed's link is up", ["feed"])
FEED_LAST_MESSAGE = Gauge(
    "seawatch_ingest_feed_last_message_timestamp", "Unix time of the feed's last line", ["feed"]
)
FEED_RECONNECTS = Counter(
    "seawatch_ingest_feed_reconnects", "Times the feed's link was re-established", ["feed"]
)
QUEUE_DEPTH = Gauge("seawatch_ingest_queue_depth", "Records waiting in a queue", ["queue"])
BATCH_SECONDS = Histogram(
    "seawatch_store_batch_seconds",
    "Time to commit one batch",
    ["table"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
SPOOL_BYTES = Gauge("seawatch_store_spool_bytes", "Bytes waiting in the on-disk spool")
SPOOL_BATCHES = Gauge("seawatch_store_spool_batches", "Batches waiting in the on-disk spool")
