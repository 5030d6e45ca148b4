"""Every frame in vectors.jsonl, decoded as a wire frame: header and checksum against the collector's
independent cross-check parse, and the documented handling of bad checksums."""

from __future__ import annotations

from typing import Any

import pytest
from jt808_support import VECTORS

from ingest.jt808 import Jt808Error, decode_frame, decode_hex_line, parse_frame

FRAMES = [
    pytest.param(index, row, id=f"{index:03d}-{row['msg_id']}")
    for index, row in enumerate(VECTORS)
    if row["kind"] == "frame"
]

# Traccar test samples whose hex is frame *content* (see jt808_support.traccar_wire), with a bare
# 0x7e or a lone 0x7d inside: as wire frames they are invalid, and say so with these codes.
NOT_WIRE_FRAMES = {
    18: "delimiter",
    44: "delimiter",
    56: "delimiter",
    96: "delimiter",
    107: "delimiter",
    45: "escape",
    50: "escape",
    103: "escape",
}
# SmallChi samples from a 2013 terminal that sets the reserved bit 14 (the 2019 version flag): the
# declared body length only fits the 2013 header, which the collector did not consider.
BIT14_2013 = {196, 197}
# Terminals with a binary IMEI in the 6-byte BCD field (all start "86", a Chinese IMEI prefix).
IMEI_TERMINALS = {
    "4eb6fb4afd9e": "865478070102068",
    "4f07788ef676": "868935060005020",
    "4f07788ef87d": "868935060010210",
    "4e5de66fba22": "861652050068820",
    "4eb6fb4ad628": "865478070001047",
}


def test_vector_counts() -> None:
    assert len(VECTORS) == 374
    assert len(FRAMES) == 341


@pytest.mark.parametrize(("index", "row"), FRAMES)
def test_header_matches_cross_check(index: int, row: dict[str, Any]) -> None:
    derived = row["derived_by_collector"]
    frame_bytes = bytes.fromhex(row["hex"])
    if index in NOT_WIRE_FRAMES:
        with pytest.raises(Jt808Error) as caught:
            parse_frame(frame_bytes)
        assert caught.value.code == NOT_WIRE_FRAMES[index]
        return
    frame = parse_frame(frame_bytes)
    head = frame.header
    assert head.msg_id == int(derived["msg_id"], 16)
    assert frame.checksum_ok is derived["checksum_ok"]
    assert head.encryption == derived["encryption"]
    assert head.subpackage is derived["subpackage"]
    if index in BIT14_2013:
        assert derived["version_flag_2019"] is True
        assert head.version == 2013
        assert head.terminal == "010030000681"
        assert frame.length_ok
        return
    assert (head.version == 2019) is derived["version_flag_2019"]
    assert head.protocol_version == derived["protocol_version"]
    assert head.terminal == IMEI_TERMINALS.get(derived["phone_bcd"], derived["phone_bcd"])
    assert head.serial == derived["serial"]
    assert frame.length_ok is (derived["body_len_field"] == derived["body_len_actual"])


BAD_CHECKSUM = [p for p in FRAMES if p.values[1]["derived_by_collector"]["checksum_ok"] is False]


def test_bad_checksum_count_matches_data_readme() -> None:
    # The data README: "23 frames fail their checksum yet are decoded by those projects".
    assert len(BAD_CHECKSUM) == 23


@pytest.mark.parametrize(("index", "row"), BAD_CHECKSUM)
def test_bad_checksum_is_reported_and_decoding_still_possible(index: int, row: dict[str, Any]) -> None:
    if index in NOT_WIRE_FRAMES:  # 107: also has bare 0x7e bytes; see the Traccar tests
        with pytest.raises(Jt808Error):
            decode_hex_line(row["hex"])
        return
    record = decode_hex_line(row["hex"])
    assert record["checksum_ok"] is False
    assert record["msg_id"] == int(row["derived_by_collector"]["msg_id"], 16)
    with pytest.raises(Jt808Error) as caught:
        decode_hex_line(row["hex"], strict_checksum=True)
    assert caught.value.code == "checksum"


GOOD = [
    p
    for p in FRAMES
    if p.values[1]["derived_by_collector"]["checksum_ok"] and p.values[0] not in NOT_WIRE_FRAMES
]


@pytest.mark.parametrize(("index", "row"), GOOD)
def test_good_frames_pass_strict_checksum(index: int, row: dict[str, Any]) -> None:
    record = decode_frame(bytes.fromhex(row["hex"]), strict_checksum=True)
    assert record["checksum_ok"] is True
    assert record["source"] == "jt808"
