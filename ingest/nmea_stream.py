"""`NmeaDecoder`: received NMEA lines in, decoded AIS records and problems out, in input order.

It glues the line layer (`ingest.nmea`), fragment assembly (`ingest.assembly`) and payload decoding
(`ingest.ais`) for one stream, and owns the little state a stream has: a pending ``$PGHP`` time for
the next sentence and the incomplete fragment groups.

A record's ``ts`` is the first known of: tag block ``c:``, the ``$PGHP`` before the sentence, the USCG
trailer time, the UTC time a base station report carries, the caller's ``received_at``; else None.
For a multi-sentence message the first fragment that has a kind of time wins. ``station`` is the tag
block ``s:`` or the trailer's ``r``/``b`` station, ``channel`` the radio channel; both None if unknown.

Fragments are grouped per tag block group (``g:``) where there is one, else per station, so merged
feeds whose sequence ids collide do not mix; fragments that never complete come out as problems
when they expire, are evicted, or at `NmeaDecoder.flush`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from ingest.ais import AisDecodeError, Record, carried_time, decode_payload
from ingest.assembly import DEFAULT_MAX_PENDING, DEFAULT_TTL_S, Assembler, Completed, Dropped
from ingest.nmea import (
    MAX_LINE_BYTES,
    AisSentence,
    GatehouseTime,
    Parsed,
    Problem,
    common_sentence,
    match_common_ais,
    parse_line,
    problem,
)


@dataclass(frozen=True, slots=True)
class _Part:
    """A sentence plus the times that only the stream knows about it."""

    sentence: AisSentence
    gatehouse_ts: datetime | None
    received_at: datetime | None

    # The assembly.Fragment protocol.
    @property
    def fragment_count(self) -> int:
        return self.sentence.fragment_count

    @property
    def fragment_number(self) -> int:
        return self.sentence.fragment_number

    @property
    def sequence_id(self) -> str:
        return self.sentence.sequence_id

    @property
    def channel(self) -> str:
        return self.sentence.channel

    @property
    def payload(self) -> str:
        return self.sentence.payload


T = TypeVar("T")

_DROP_ERRORS = {"duplicate": "duplicate", "invalid": "fragment"}


class NmeaDecoder:
    """Stateful decoder for one NMEA stream (one connection, one file)."""

    def __init__(
        self,
        *,
        keep_bad_checksum: bool = False,
        ttl: float = DEFAULT_TTL_S,
        max_pending: int = DEFAULT_MAX_PENDING,
        clock: Callable[[], float] = time.monotonic,
        max_line: int = MAX_LINE_BYTES,
    ) -> None:
        self.keep_bad_checksum = keep_bad_checksum
        self.max_line = max_line
        self._assembler: Assembler[_Part] = Assembler(ttl=ttl, max_pending=max_pending, clock=clock)
        self._gatehouse_ts: datetime | None = None

    @property
    def pending(self) -> int:
        """Incomplete multi-sentence messages held."""
        return len(self._assembler)

    def feed(self, line: bytes | str, *, received_at: datetime | None = None) -> list[Record | Problem]:
        """Take one received line; return what it completed or broke, in order. Never raises."""
        out: list[Record | Problem] = [self._dropped(d) for d in self._assembler.expire()]
        parsed = parse_line(line, keep_bad_checksum=self.keep_bad_checksum, max_length=self.max_line)
        self._take(parsed, received_at, out)
        return out

    def _take(self, parsed: Parsed, received_at: datetime | None, out: list[Record | Problem]) -> None:
        """What a parsed line completes or breaks, added to `out`."""
        if parsed is None:  # blank or comment: the pending $PGHP still belongs to the next sentence
            return
        if isinstance(parsed, GatehouseTime):
            self._gatehouse_ts = parsed.ts
            return
        gatehouse_ts, self._gatehouse_ts = self._gatehouse_ts, None
        if not isinstance(parsed, AisSentence):
            out.append(parsed)
            return
        part = _Part(parsed, gatehouse_ts, _as_utc(received_at))
        if parsed.fragment_count == 1:  # complete in itself (parse_line checked 1 <= number <= count)
            out.append(_decode_single(part))
            return
        for event in self._assembler.add(part, stream=stream_key(parsed)):
            out.append(_decode(event.fragments) if isinstance(event, Completed) else self._dropped(event))

    def feed_lines(self, lines: Iterable[bytes]) -> list[Record | Problem]:
        """`feed` for many lines (without receive times, a trailing CR dropped): the same results.

        A whole single-sentence AIS line with at most a tag block, the bulk of any feed, is decoded here
        without building the sentence and part objects `feed` works with.
        """
        out: list[Record | Problem] = []
        assembler, max_line = self._assembler, self.max_line
        for line in lines:
            if len(assembler):
                out.extend(self._dropped(d) for d in assembler.expire())
            common = None
            if len(line) <= max_line and line.isascii():
                text = line.decode("ascii").strip()
                common = match_common_ais(text)
            if common is None:
                out.extend(self.feed(line.rstrip(b"\r")))
                continue
            match, tag_block = common
            if match[4] != "1":  # a fragment: assembled as feed() would, without parsing the line again
                self._take(common_sentence(text, match, tag_block), None, out)
                continue
            gatehouse_ts, self._gatehouse_ts = self._gatehouse_ts, None
            channel = match[7]
            extra = {"station": tag_block.station if tag_block else None, "channel": channel or None}
            try:
                record = decode_payload(match[8], int(match[9]), extra=extra)
            except AisDecodeError as err:
                out.append(problem("decode", str(err), text))
                continue
            record["ts"] = (tag_block.ts if tag_block else None) or gatehouse_ts or carried_time(record)
            out.append(record)
        return out

    def flush(self) -> list[Problem]:
        """End of input: every incomplete message becomes a problem."""
        self._gatehouse_ts = None
        return [self._dropped(d) for d in self._assembler.flush()]

    def _dropped(self, dropped: Dropped[_Part]) -> Problem:
        parts = dropped.fragments
        numbers = ", ".join(str(p.fragment_number) for p in parts)
        message = f"{dropped.reason}: fragment(s) {numbers} of {parts[0].fragment_count}"
        return problem(_DROP_ERRORS.get(dropped.reason, "incomplete"), message, _raw(parts))


def _decode(parts: tuple[_Part, ...]) -> Record | Problem:
    if len(parts) == 1:
        return _decode_single(parts[0])
    payload = "".join(p.payload for p in parts)
    sentences = [p.sentence for p in parts]
    extra = {"station": _first(_station(s) for s in sentences), "channel": sentences[0].channel or None}
    try:
        record = decode_payload(payload, parts[-1].sentence.fill_bits, extra=extra)
    except AisDecodeError as err:
        return problem("decode", str(err), _raw(parts))
    record["ts"] = (
        _first(s.tag_block.ts for s in sentences if s.tag_block)
        or _first(p.gatehouse_ts for p in parts)
        or _first(s.trailer.ts for s in sentences if s.trailer)
        or carried_time(record)
        or _first(p.received_at for p in parts)
    )
    return record


def _decode_single(part: _Part) -> Record | Problem:
    # The common case, one sentence, without the generators `_decode` needs for several.
    sentence = part.sentence
    tag_block, trailer = sentence.tag_block, sentence.trailer
    extra = {"station": _station(sentence), "channel": sentence.channel or None}
    try:
        record = decode_payload(sentence.payload, sentence.fill_bits, extra=extra)
    except AisDecodeError as err:
        return problem("decode", str(err), sentence.raw)
    record["ts"] = (
        (tag_block.ts if tag_block else None)
        or part.gatehouse_ts
        or (trailer.ts if trailer else None)
        or carried_time(record)
        or part.received_at
    )
    return record


def _station(sentence: AisSentence) -> str | None:
    tag_station = sentence.tag_block.station if sentence.tag_block else None
    return tag_station or (sentence.trailer.station if sentence.trailer else None)


def stream_key(sentence: AisSentence) -> str:
    """What separates sequence ids that are independent: the tag block group, else the station."""
    group = sentence.tag_block.group if sentence.tag_block else None
    if group is not None:
        return f"g:{group.group_id}"
    station = _station(sentence)
    return f"s:{station}" if station else ""


def _first(values: Iterable[T | None]) -> T | None:
    return next((v for v in values if v is not None), None)


def _raw(parts: tuple[_Part, ...]) -> str:
    return "\n".join(p.sentence.raw for p in parts)


def _as_utc(moment: datetime | None) -> datetime | None:
    # Receive times from callers are meant to be UTC; a naive one is taken as UTC, not local time.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
