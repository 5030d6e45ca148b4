"""NMEA 0183 line layer for AIS feeds: one received line in, one value out.

`parse_line` turns one line, as a receiver or an aggregator sends it, into

- an `AisSentence` (``!AIVDM``/``!AIVDO`` with any talker: ``!BSVDM``, ``!ABVDM``, ``!--VDM``, ...),
  together with what came around it: an NMEA 4.0 tag block (``\\c:...,s:...,g:1-2-1234*hh\\``, with its
  own checksum) and a US Coast Guard trailer after the checksum (``,d-109,S2105,...,r003669946,1325394060``);
- a `GatehouseTime` (``$PGHP,1,...``): a timestamp that belongs to the sentence after it;
- a `Problem` dict for anything undecodable (bad checksum, syntax, non-ASCII, too long, unsupported);
- ``None`` for lines that carry nothing: blank lines and ``#`` comments (recorded logs have them).

Nothing here raises on bad input and nothing does I/O; the stateful parts (fragment assembly, the
pending Gatehouse time) live in `ingest.assembly` and `ingest.nmea_stream`.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import reduce
from operator import xor
from typing import TypedDict

#: Longest line accepted. A sentence is at most 82 characters; tag blocks and USCG trailers add a few
#: hundred. Anything longer is garbage (or an attack) and is refused before any parsing work is done.
MAX_LINE_BYTES = 1024
#: How much of an offending line a problem report repeats.
PROBLEM_INPUT_CHARS = 200

# Unix times at or above this are milliseconds: as seconds they would be later than the year 5000.
_MILLISECONDS_FROM = 100_000_000_000

# The 6-bit payload armour uses '0'..'W' and '`'..'w' only.
_PAYLOAD = re.compile(r"[0-W`-w]*")
_TALKER = re.compile(r"[A-Za-z0-9-]{2}")
_DIGITS = re.compile(r"\d+")
_UNIX_TIME = re.compile(r"\d+(\.\d*)?")
# NMEA 4.0 groups are "g:1-2-1234"; older IEC 61162-1 feeds write the same as "1G2:1234".
_GROUP = re.compile(r"(\d+)-(\d+)-(\w+)")
_OLD_GROUP_KEY = re.compile(r"(\d+)G(\d+)")
# The common line, a whole AIS sentence with at most a tag block and nothing after the checksum, in one
# match; anything else (and any checksum that does not match) takes the general path.
_COMMON_AIS = re.compile(
    r"(?:\\([^\\*]*\*[0-9A-Fa-f]{2})\\)?"  # tag block, with its checksum
    r"!(([A-Za-z0-9-]{2}VD[MO]),([1-9]),([1-9]),(\d*),([A-Za-z0-9]{0,2}),([0-W`-w]*),([0-5]))"
    r"\*([0-9A-Fa-f]{2})"
)
#: Tag blocks already parsed, by their text: receivers stamp whole seconds, so a feed repeats them.
_TAG_BLOCKS: dict[str, TagBlock] = {}
_TAG_BLOCKS_KEPT = 1024


class Problem(TypedDict):
    """An undecodable input, reported instead of raised (the `seawatch decode` stderr shape)."""

    error: str
    message: str
    input: str


def problem(error: str, message: str, line: bytes | str) -> Problem:
    """Build a `Problem` that quotes at most `PROBLEM_INPUT_CHARS` of the offending input."""
    if isinstance(line, bytes):
        text = line[: PROBLEM_INPUT_CHARS * 4].decode("ascii", "backslashreplace")
    else:
        text = line
    return {"error": error, "message": message, "input": text[:PROBLEM_INPUT_CHARS]}


@dataclass(frozen=True, slots=True)
class TagGroup:
    """``g:number-total-id``: which sentence of a multi-sentence group this line is."""

    number: int
    total: int
    group_id: str


@dataclass(frozen=True, slots=True)
class TagBlock:
    """The NMEA 4.0 tag block fields seawatch uses (others are ignored)."""

    ts: datetime | None
    station: str | None
    group: TagGroup | None
    checksum_ok: bool


@dataclass(frozen=True, slots=True)
class Trailer:
    """US Coast Guard receiver metadata after the checksum; only station and time are kept."""

    station: str | None
    ts: datetime | None


@dataclass(frozen=True, slots=True)
class AisSentence:
    """One ``!xxVDM``/``!xxVDO`` sentence: a fragment of an AIS message."""

    raw: str
    talker: str
    own_ship: bool
    fragment_count: int
    fragment_number: int
    sequence_id: str
    channel: str
    payload: str
    fill_bits: int
    checksum_ok: bool
    tag_block: TagBlock | None = None
    trailer: Trailer | None = None


@dataclass(frozen=True, slots=True)
class GatehouseTime:
    """``$PGHP,1``: Gatehouse's timestamp for the sentence that follows it."""

    raw: str
    ts: datetime


Parsed = AisSentence | GatehouseTime | Problem | None


class _Bad(Exception):
    """Internal: carries a problem out of the nested parsing helpers."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


def parse_line(
    line: bytes | str, *, keep_bad_checksum: bool = False, max_length: int = MAX_LINE_BYTES
) -> Parsed:
    """Parse one received line. Never raises: bad input comes back as a `Problem`.

    With ``keep_bad_checksum`` a sentence or tag block whose checksum does not match is returned (with
    ``checksum_ok=False``) instead of being reported.
    """
    if len(line) > max_length:
        return problem("too_long", f"line of {len(line)} characters, the limit is {max_length}", line)
    try:
        text = line.decode("ascii") if isinstance(line, bytes) else line
        if not text.isascii():
            raise UnicodeError
    except UnicodeError:
        return problem("encoding", "line is not ASCII", line)
    text = text.strip()
    if not text or text.startswith("#"):
        return None
    if (match := _COMMON_AIS.fullmatch(text)) and (sentence := _common_ais(text, match)):
        return sentence
    try:
        return _parse(text, keep_bad_checksum)
    except _Bad as bad:
        return problem(bad.error, str(bad), text)


def _parse(text: str, keep_bad_checksum: bool) -> AisSentence | GatehouseTime:
    tag_block = None
    sentence = text
    if text.startswith("\\"):
        end = text.find("\\", 1)
        if end < 0:
            raise _Bad("syntax", "tag block is not closed")
        tag_block = _parse_tag_block(text[1:end])
        if not (tag_block.checksum_ok or keep_bad_checksum):
            raise _Bad("checksum", "tag block checksum does not match")
        sentence = text[end + 1 :]
        if not sentence:
            raise _Bad("syntax", "tag block without a sentence")

    if sentence[:1] not in ("!", "$"):
        raise _Bad("syntax", "not an NMEA sentence")
    star = sentence.find("*")
    if star < 0:
        raise _Bad("syntax", "sentence has no checksum")
    body, given, rest = sentence[1:star], sentence[star + 1 : star + 3], sentence[star + 3 :]
    if len(given) != 2 or not _is_hex(given) or (rest and not rest.startswith(",")):
        raise _Bad("syntax", "malformed checksum field")
    checksum_ok = _checksum(body) == int(given, 16)
    if not (checksum_ok or keep_bad_checksum):
        raise _Bad("checksum", f"checksum {given} does not match the sentence ({_checksum(body):02X})")

    fields = body.split(",")
    head = fields[0]
    if len(head) == 5 and _TALKER.fullmatch(head[:2]) and head[2:].upper() in ("VDM", "VDO"):
        trailer = _parse_trailer(rest[1:]) if rest else None
        return _ais_sentence(text, fields, checksum_ok, tag_block, trailer)
    if head == "PGHP" and len(fields) > 1 and fields[1] == "1":
        return GatehouseTime(raw=text, ts=_gatehouse_time(fields))
    raise _Bad("unsupported", f"unsupported sentence {head[:10]!r}")


def _common_ais(text: str, match: re.Match[str]) -> AisSentence | None:
    """The sentence of a `_COMMON_AIS` line; None where the general path must judge it."""
    checked = _checked(match)
    return None if checked is None else common_sentence(text, *checked)


def common_sentence(text: str, match: re.Match[str], tag_block: TagBlock | None) -> AisSentence:
    """The `AisSentence` of a line `match_common_ais` matched (what `parse_line` gives for it)."""
    return _sentence(text, list(match.groups()[2:9]), True, tag_block, None)


def match_common_ais(text: str) -> tuple[re.Match[str], TagBlock | None] | None:
    """A stripped line that is a whole AIS sentence, at most a tag block before it and nothing after its
    checksum, with every checksum right: the match (groups: tag block, body, head, count, number,
    sequence id, channel, payload, fill bits, checksum) and the tag block. None for any other line.

    For callers that want to skip building an `AisSentence` for the common line; `parse_line` gives
    the same sentence for it.
    """
    match = _COMMON_AIS.fullmatch(text)
    return None if match is None else _checked(match)


def _checked(match: re.Match[str]) -> tuple[re.Match[str], TagBlock | None] | None:
    tag_text, body, _, count, number, _, _, _, _, given = match.groups()
    if number > count or _checksum(body) != int(given, 16):
        return None
    if tag_text is None:
        return match, None
    tag_block = _TAG_BLOCKS.get(tag_text)
    if tag_block is None:
        tag_block = _parse_tag_block(tag_text)
        if len(_TAG_BLOCKS) >= _TAG_BLOCKS_KEPT:
            _TAG_BLOCKS.clear()
        _TAG_BLOCKS[tag_text] = tag_block
    return (match, tag_block) if tag_block.checksum_ok else None


def _ais_sentence(
    text: str, fields: list[str], checksum_ok: bool, tag_block: TagBlock | None, trailer: Trailer | None
) -> AisSentence:
    if len(fields) != 7:
        raise _Bad("syntax", f"AIS sentence has {len(fields)} fields, expected 7")
    _, count, number, sequence_id, channel, payload, fill = fields
    if not (count.isdigit() and number.isdigit() and len(count) == 1 and len(number) == 1):
        raise _Bad("syntax", "fragment count and number must be single digits")
    if not 1 <= int(number) <= int(count):
        raise _Bad("syntax", f"fragment {number} of {count} is out of range")
    if sequence_id and not sequence_id.isdigit():
        raise _Bad("syntax", "sequence id is not a number")
    if len(channel) > 2 or (channel and not channel.isalnum()):
        raise _Bad("syntax", "malformed channel")
    if not _PAYLOAD.fullmatch(payload):
        raise _Bad("syntax", "payload has characters outside the 6-bit armour")
    if len(fill) != 1 or fill not in "012345":
        raise _Bad("syntax", "fill bits must be 0-5")
    return _sentence(text, fields, checksum_ok, tag_block, trailer)


def _sentence(
    text: str, fields: list[str], checksum_ok: bool, tag_block: TagBlock | None, trailer: Trailer | None
) -> AisSentence:
    head, count, number, sequence_id, channel, payload, fill = fields
    return AisSentence(
        raw=text,
        talker=head[:2],
        own_ship=head[2:].upper() == "VDO",
        fragment_count=int(count),
        fragment_number=int(number),
        sequence_id=sequence_id,
        channel=channel,
        payload=payload,
        fill_bits=int(fill),
        checksum_ok=checksum_ok,
        tag_block=tag_block,
        trailer=trailer,
    )


def _parse_tag_block(content: str) -> TagBlock:
    star = content.rfind("*")
    given = content[star + 1 :]
    if star < 0 or not 1 <= len(given) <= 2 or not _is_hex(given):
        raise _Bad("syntax", "tag block has no checksum")
    ts = station = group = None
    for item in content[:star].split(","):
        key, _, value = item.partition(":")
        if key == "c":
            ts = unix_time(value)
        elif key == "s" and value:
            station = value
        elif key == "g" and (match := _GROUP.fullmatch(value)):
            group = TagGroup(int(match[1]), int(match[2]), match[3])
        elif (match := _OLD_GROUP_KEY.fullmatch(key)) and value:
            group = TagGroup(int(match[1]), int(match[2]), value)
    checksum_ok = _checksum(content[:star]) == int(given, 16)
    return TagBlock(ts=ts, station=station, group=group, checksum_ok=checksum_ok)


def _parse_trailer(text: str) -> Trailer:
    # Field letters are not standardised across USCG feeds (d signal, S slot, t/T times, x counter,
    # r/b/B station); the station is the one starting with r, b or B that is not a number, and the
    # receive time is the last bare number ("must come last" in the NAIS format).
    station = None
    ts = None
    for item in text.split(","):
        if _UNIX_TIME.fullmatch(item):
            ts = unix_time(item) or ts
        elif item[:1] in ("r", "b", "B") and len(item) > 1:
            station = item
    return Trailer(station=station, ts=ts)


def _gatehouse_time(fields: list[str]) -> datetime:
    # $PGHP,1,<year>,<month>,<day>,<hour>,<minute>,<second>,<millisecond>,<country>,<region>,<pss>,...
    parts = fields[2:9]
    if len(parts) != 7 or not all(_DIGITS.fullmatch(p) for p in parts):
        raise _Bad("syntax", "malformed $PGHP time")
    year, month, day, hour, minute, second, millis = (int(p) for p in parts)
    try:
        return datetime(year, month, day, hour, minute, second, millis * 1000, tzinfo=UTC)
    except (ValueError, OverflowError) as err:  # a field too large for C's int overflows, not ValueErrors
        raise _Bad("syntax", f"invalid $PGHP time: {err}") from None


@functools.lru_cache(maxsize=4096)  # receivers stamp whole seconds: a feed repeats each time many times
def unix_time(value: str) -> datetime | None:
    """A Unix time in seconds or milliseconds (told apart by size) as aware UTC; None if unusable."""
    if not _UNIX_TIME.fullmatch(value):
        return None
    number = float(value)
    if number >= _MILLISECONDS_FROM:
        number /= 1000
    try:
        return datetime.fromtimestamp(number, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _checksum(text: str) -> int:
    return reduce(xor, text.encode("ascii"), 0)


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)
