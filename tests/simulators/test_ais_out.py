"""AIS out: sentences the project's own decoder reads back, receivers that lose and duplicate, and links
to the real TCP server and UDP sources."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from ingest.nmea_stream import NmeaDecoder
from ingest.sources.tcp_server import TcpServerSource
from ingest.sources.udp import UdpSource
from seawatch.settings import FeedSettings, IngestSettings
from simulators.ais_out import SHANWEI_RECEIVERS, AisLink, Receiver, ReceiverNetwork, lines_for

WHEN = datetime(2026, 11, 2, 1, 0, 33, 250000, tzinfo=UTC)
RX = Receiver("rx-test", 115.37, 22.74)
POSITION = {
    "msg_type": 1,
    "mmsi": 412990007,
    "status": 7,
    "speed": 3.6,
    "accuracy": 1,
    "lon": 115.456789,
    "lat": 22.561234,
    "course": 93.4,
    "heading": 95,
}
STATIC = {
    "msg_type": 5,
    "mmsi": 412990007,
    "callsign": "BS00007",
    "shipname": "YUE SHAN YU 00008",
    "ship_type": 30,
    "epfd": 1,
    "draught": 2.5,
    "destination": "SHANWEI PORT",
    "to_bow": 12,
    "to_stern": 13,
    "to_port": 3,
    "to_starboard": 4,
}


def decode(lines: list[bytes]) -> list[dict[str, Any]]:
    decoder = NmeaDecoder()
    return [r for line in lines for r in decoder.feed(line.strip()) if "error" not in r]


def test_a_position_report_decodes_with_the_receivers_tag_block_time_and_station() -> None:
    (record,) = decode(lines_for(POSITION, WHEN, RX, tag_blocks=True, channel="B", group_id=3))
    assert record["ts"] == WHEN.replace(microsecond=250000)
    assert (record["station"], record["channel"], record["second"]) == ("rx-test", "B", 33)
    assert (record["mmsi"], record["status"], record["speed"], record["heading"]) == (412990007, 7, 3.6, 95)
    assert record["lon"] == pytest.approx(115.456789, abs=1e-5)
    assert record["lat"] == pytest.approx(22.561234, abs=1e-5)


def test_a_two_sentence_static_report_is_one_record_and_plain_nmea_works_too() -> None:
    for tag_blocks in (True, False):
        lines = lines_for(STATIC, WHEN, RX, tag_blocks=tag_blocks, channel="A", group_id=4)
        assert len(lines) == 2
        (record,) = decode(lines)
        assert (record["shipname"], record["ship_type"], record["destination"]) == (
            "YUE SHAN YU 00008",
            30,
            "SHANWEI PORT",
        )
        assert (record["station"] == "rx-test") is tag_blocks


def test_receivers_hear_near_boats_surely_far_boats_rarely_and_copies_come_late() -> None:
    near, far = (115.40, 22.70), (116.4, 21.9)
    assert RX.hear_probability(*near) == pytest.approx(0.97)
    assert RX.hear_probability(*far) == 0.0
    network = ReceiverNetwork(SHANWEI_RECEIVERS, seed=1)
    copies = [network.copies(115.45, 22.60) for _ in range(1000)]
    heard = [len(c) for c in copies]
    assert sum(n == 0 for n in heard) < 10  # lost by every receiver: rare this close
    assert sum(n >= 2 for n in heard) > 900  # several receivers hear the same message
    delays = [copy.delay_s for c in copies for copy in c]
    assert min(delays) >= 0.0 and max(delays) <= 0.4 and len(set(delays)) > 100
    edge = [network.copies(116.05, 22.30) for _ in range(1000)]
    assert 50 < sum(not c for c in edge) < 950  # at the edge of coverage, some are lost


def feed(kind: str) -> FeedSettings:
    return FeedSettings(name=f"sim-{kind}-{uuid.uuid4().hex[:8]}", kind=kind, address="127.0.0.1:0")  # type: ignore[arg-type]


async def test_a_link_feeds_the_real_tcp_server_source() -> None:
    async with asyncio.timeout(20):
        async with TcpServerSource(feed("tcp_server"), IngestSettings()) as source:
            assert source.address is not None
            link = AisLink(f"tcp://127.0.0.1:{source.address[1]}")
            lines = lines_for(STATIC, WHEN, RX, tag_blocks=True, channel="A", group_id=1)
            await link.send(lines)
            await link.send(lines_for(POSITION, WHEN, RX, tag_blocks=True, channel="A", group_id=2))
            received = [await anext(source) for _ in range(3)]
            await link.close()
    assert [r.data for r in received] == [line.strip() for line in lines] + [received[2].data]
    assert len(decode([r.data for r in received])) == 2
    assert link.sent == 3 and link.failed == 0


async def test_a_link_feeds_the_real_udp_source() -> None:
    async with asyncio.timeout(20):
        async with UdpSource(feed("udp"), IngestSettings()) as source:
            assert source.address is not None
            link = AisLink(f"udp://127.0.0.1:{source.address[1]}")
            batch = [
                line
                for i in range(40)
                for line in lines_for(
                    {**POSITION, "mmsi": 412990100 + i}, WHEN, RX, tag_blocks=True, channel="A", group_id=i
                )
            ]
            await link.send(batch)  # more than one datagram's worth: split at line boundaries
            received = [await anext(source) for _ in range(40)]
            await link.close()
    assert sorted(r["mmsi"] for r in decode([r.data for r in received])) == list(range(412990100, 412990140))


async def test_a_refused_connection_costs_the_lines_not_the_run() -> None:
    link = AisLink("tcp://127.0.0.1:9")  # discard port: nothing listens in a test box
    await link.send([b"!AIVDM,1,1,,A,x,0*00\r\n"])
    assert link.failed == 1 and link.sent == 0
