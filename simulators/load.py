"""`seawatch simulate --load N`: AIS at N messages a second, for benchmarks, to this machine only.

Bounded both ways: it stops after `count` messages or `duration_s` seconds, whichever comes first, and
neither may exceed `MAX_COUNT` / `MAX_DURATION_S`. The target must resolve to a loopback address: a
load generator pointed at someone else's receiver is a flood, not a benchmark.

The messages are class A position reports of `vessels` simulated boats (the drill MMSI range, so a
deployment with drill settings marks them drill) spread over the fishing grounds, encoded once up
front and sent round-robin in batches every `TICK_S`, so the generator itself costs little CPU and the
rate holds up to tens of thousands of messages a second.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from pyais.encode import encode_dict

from simulators.ais_out import MAX_DATAGRAM_BYTES, AisLink, parse_target
from simulators.fleet import VESSEL_MMSI_BASE
from simulators.geography import Geography

MAX_COUNT = 10_000_000
MAX_DURATION_S = 3600.0
MAX_RATE = 200_000.0
TICK_S = 0.01
REPORTS_PER_VESSEL = 4


class LoadRefused(ValueError):
    """The load cannot be run as asked (not loopback, out of bounds)."""


@dataclass(frozen=True)
class LoadStats:
    sent: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def check_loopback(host: str) -> None:
    """Refuse a host that is, or resolves to anything but, a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except socket.gaierror as exc:
        raise LoadRefused(f"cannot resolve {host!r}: {exc}") from exc
    addresses = {str(info[4][0]) for info in infos}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise LoadRefused(f"--load sends only to this machine (loopback); {host} is {sorted(addresses)}")


def check_bounds(rate: float, count: int, duration_s: float) -> None:
    if not 0 < rate <= MAX_RATE:
        raise LoadRefused(f"the rate must be between 0 and {MAX_RATE:.0f} messages a second")
    if not 0 < count <= MAX_COUNT:
        raise LoadRefused(f"the count must be between 1 and {MAX_COUNT}")
    if not 0 < duration_s <= MAX_DURATION_S:
        raise LoadRefused(f"the duration must be between 0 and {MAX_DURATION_S:.0f} s")


def sentences(vessels: int, *, seed: int = 1, geography: Geography | None = None) -> list[bytes]:
    """Encoded position reports: `REPORTS_PER_VESSEL` per boat, at spots on the fishing grounds."""
    rng = random.Random(f"{seed}:load")
    grounds = (geography or Geography.shanwei()).grounds
    out = []
    for index in range(vessels):
        lon, lat = rng.choice(grounds)
        course = rng.uniform(0, 360)
        for report in range(REPORTS_PER_VESSEL):
            fields: dict[str, str | int | float | bytes | bool] = {
                "msg_type": 1,
                "mmsi": VESSEL_MMSI_BASE + index,
                "status": 7,
                "speed": round(rng.uniform(3.0, 4.0), 1),
                "accuracy": 1,
                "lon": round(lon + report * 0.0003, 6),
                "lat": round(lat, 6),
                "course": round(course, 1),
                "heading": round(course) % 360,
                "second": (report * 10) % 60,
            }
            (sentence,) = encode_dict(
                fields, talker_id="AI", sentence_type="VDM", radio_channel="AB"[report % 2]
            )
            out.append(sentence.encode("ascii") + b"\r\n")
    # Interleave boats, so consecutive lines are different vessels as on a real feed.
    return [out[v * REPORTS_PER_VESSEL + r] for r in range(REPORTS_PER_VESSEL) for v in range(vessels)]


async def run_load(
    target: str,
    rate: float,
    *,
    count: int | None = None,
    duration_s: float = 60.0,
    vessels: int = 2000,
    seed: int = 1,
    clock: Callable[[], float] = time.monotonic,
    geography: Geography | None = None,
) -> LoadStats:
    """Send `rate` messages a second to `target` (tcp:// or udp://, loopback) until a bound is hit."""
    total = count if count is not None else min(MAX_COUNT, int(rate * duration_s))
    check_bounds(rate, total, duration_s)
    _, host, _ = parse_target(target)
    check_loopback(host)
    pool = sentences(vessels, seed=seed, geography=geography)
    link = AisLink(target)
    sent = 0
    began = clock()
    try:
        while sent < total:
            elapsed = clock() - began
            if elapsed >= duration_s:
                break
            due = min(total, int(rate * elapsed) + 1)
            if due > sent:
                batch = [pool[(sent + i) % len(pool)] for i in range(due - sent)]
                for start in range(0, len(batch), MAX_DATAGRAM_BYTES // 60):
                    await link.send(batch[start : start + MAX_DATAGRAM_BYTES // 60])
                sent = due
            await asyncio.sleep(TICK_S)
    finally:
        await link.close()
    return LoadStats(sent=sent, seconds=clock() - began)
