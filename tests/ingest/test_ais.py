"""AIS payload decoding: the shared test vectors, the contract's normalisation, and pyais fixes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyais.messages import (
    MessageType1,
    MessageType4,
    MessageType5,
    MessageType8,
    MessageType9,
    MessageType17,
    MessageType18,
    MessageType21,
    MessageType23,
    MessageType27,
)

from ingest.ais import KINDS, AisDecodeError, carried_time, decode_payload
from ingest.nmea_stream import NmeaDecoder


def shared_data() -> Path:
    """The reference data next to the project: ../shared/data from the project root."""
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def load_vectors() -> list[dict[str, Any]]:
    lines = (shared_data() / "ais" / "vectors.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


VECTORS = load_vectors()


# Vectors whose expectation contradicts the design contract or the agreed rules; they still run,
# as strict xfails (an unexpected pass fails), until the data or the rule is corrected.
def expected_kind(record: dict[str, Any]) -> str:
    # Meteorological and hydrological reports (type 8, DAC 1, FI 31) are observations, not binary data.
    if (record["msg_type"], record.get("dac"), record.get("fid")) == (8, 1, 31):
        return "met_observation"
    return KINDS[record["msg_type"]]


def contract_expectation(vector: dict[str, Any]) -> dict[str, Any]:
    """The vector's expectation under seawatch's decode contract.

    Two sources assert what their own decoder does where the contract says otherwise, and the contract
    wins: libais keeps 6-bit text past the first `@` (vector 034 expects 'GUATEMALA@@@@@@B'; the
    contract ends text at the first `@`), and pyais' own type 17 tests assert its positions in
    minutes as it reads them (the contract is degrees, which the libais type 17 vectors expect).
    """
    expected = dict(vector["expected"])
    for field, value in expected.items():
        if isinstance(value, str):
            expected[field] = value.split("@", 1)[0].rstrip()
    if expected.get("msg_type") == 17 and vector["source"].startswith("pyais"):
        for field in ("lon", "lat"):
            if expected.get(field) is not None:
                expected[field] = expected[field] / 60
    return expected


# Tolerances from the data README: libais floats carry float32 rounding.
TOLERANCE = {"lat": 1e-4, "lon": 1e-4, "speed": 0.05, "course": 0.05}


def vector_params() -> list[Any]:
    params = []
    for index, vector in enumerate(VECTORS):
        source = vector["source"].split("/")[0].split("::")[-1]
        params.append(pytest.param(vector, id=f"{index:03d}-{source}"))
    return params


def matches(field: str, expected: Any, got: Any) -> bool:
    if field in TOLERANCE and expected is not None:
        return isinstance(got, int | float) and abs(got - expected) <= TOLERANCE[field]
    if isinstance(expected, float):
        return bool(got == pytest.approx(expected, rel=1e-6))
    return bool(got == expected)


def decode_vector(vector: dict[str, Any]) -> dict[str, Any]:
    # Three vectors (pyais tests that skip checksum checks) carry wrong NMEA checksums; the vectors are
    # about payload decoding, so checksums are kept here and tested separately below.
    decoder = NmeaDecoder(keep_bad_checksum=True)
    out = [item for line in vector["nmea"] for item in decoder.feed(line)] + list(decoder.flush())
    assert len(out) == 1, out
    assert "error" not in out[0], out[0]
    return out[0]


def test_all_vectors_are_here() -> None:
    assert len(VECTORS) == 112


@pytest.mark.parametrize("vector", vector_params())
def test_vector(vector: dict[str, Any]) -> None:
    record = decode_vector(vector)
    wrong = {
        field: (expected, record.get(field, "<missing>"))
        for field, expected in contract_expectation(vector).items()
        if not matches(field, expected, record.get(field))
    }
    assert not wrong, f"(expected, got) per field: {wrong}"
    assert record["source"] == "ais"
    assert record["kind"] == expected_kind(record)


def test_vectors_with_wrong_nmea_checksums_are_reported_by_default() -> None:
    problems = []
    for vector in VECTORS:
        decoder = NmeaDecoder()
        problems += [o for line in vector["nmea"] for o in decoder.feed(line) if "error" in o]
    assert [p["error"] for p in problems] == ["checksum"] * 3


EXPECTED_KINDS = {
    **dict.fromkeys((1, 2, 3, 9, 18, 19, 27), "position"),
    **dict.fromkeys((4, 11), "base_station"),
    **dict.fromkeys((5, 24), "static"),
    21: "aton",
    **dict.fromkeys((12, 14), "safety"),
    **dict.fromkeys((6, 8, 25, 26), "binary"),
    **dict.fromkeys((7, 13), "ack"),
    **dict.fromkeys((10, 15), "interrogation"),
    **dict.fromkeys((16, 23), "assignment"),
    17: "dgnss",
    20: "link_management",
    22: "channel_management",
}


@pytest.mark.parametrize("msg_type", range(1, 28))
def test_every_message_type_has_its_kind_and_decodes_json_ready(msg_type: int) -> None:
    assert KINDS[msg_type] == EXPECTED_KINDS[msg_type]
    vectors = [v for v in VECTORS if v["expected"].get("msg_type") == msg_type]
    assert vectors, f"no vector of type {msg_type}"
    for vector in vectors:
        record = decode_vector(vector)
        assert record["kind"] == (expected_kind(record) if msg_type == 8 else EXPECTED_KINDS[msg_type])
        record["ts"] = None if record["ts"] is None else record["ts"].isoformat()
        json.dumps(record, allow_nan=False)  # plain JSON types only: no bytes, no enums


def payload_of(message: Any) -> tuple[str, int]:
    payload, fill_bits = message.encode()
    assert isinstance(payload, str) and isinstance(fill_bits, int)
    return payload, fill_bits


@pytest.mark.parametrize(
    ("message", "nulls"),
    [
        (
            MessageType1.create(
                mmsi=1, lat=91, lon=181, speed=102.3, course=360, heading=511, turn=-128, second=60
            ),
            ("lat", "lon", "speed", "course", "heading", "turn", "second"),
        ),
        (
            MessageType18.create(mmsi=1, lat=91, lon=181, speed=102.3, course=360, heading=511, second=60),
            ("lat", "lon", "speed", "course", "heading", "second"),
        ),
        (
            MessageType9.create(mmsi=1, lat=91, lon=181, speed=1023, course=360, alt=4095, second=60),
            ("lat", "lon", "speed", "course", "alt", "second"),
        ),
        (
            MessageType27.create(mmsi=1, lat=91, lon=181, speed=63, course=511),
            ("lat", "lon", "speed", "course"),
        ),
        (
            MessageType4.create(
                mmsi=1, year=0, month=0, day=0, hour=24, minute=60, second=60, lat=91, lon=181
            ),
            ("year", "month", "day", "hour", "minute", "second", "lat", "lon"),
        ),
        (MessageType5.create(mmsi=1, month=0, day=0, hour=24, minute=60), ("month", "day", "hour", "minute")),
        (MessageType17.create(mmsi=1, lon=10860.0, lat=5460.0), ("lon", "lat")),
        (MessageType21.create(mmsi=1, lon=181, lat=91, second=60), ("lon", "lat", "second")),
    ],
    ids=lambda value: str(value[0]) if isinstance(value, tuple) else type(value).__name__,
)
def test_not_available_values_are_null(message: Any, nulls: tuple[str, ...]) -> None:
    record = decode_payload(*payload_of(message))
    assert {field: record[field] for field in nulls} == dict.fromkeys(nulls)


def test_values_next_to_the_sentinels_are_kept() -> None:
    record = decode_payload(
        *payload_of(
            MessageType1.create(mmsi=1, lat=90, lon=180, speed=102.2, course=359.9, heading=359, second=61)
        )
    )
    assert (record["lat"], record["lon"], record["speed"], record["course"]) == (90.0, 180.0, 102.2, 359.9)
    assert (record["heading"], record["second"]) == (359, 61)  # 61-63 are codes, not "not available"


def test_turn_codes_are_plain_numbers() -> None:
    assert decode_payload(*payload_of(MessageType1.create(mmsi=1, turn=127)))["turn"] == 127
    assert decode_payload(*payload_of(MessageType1.create(mmsi=1, turn=0)))["turn"] == 0.0


def test_text_ends_at_the_first_at_sign_and_trailing_spaces_go() -> None:
    message = MessageType5.create(mmsi=1, shipname="AB@CD", destination="HONG KONG   ", callsign="B1@")
    record = decode_payload(*payload_of(message))
    assert (record["shipname"], record["destination"], record["callsign"]) == ("AB", "HONG KONG", "B1")


def test_enums_are_raw_ints_even_where_pyais_maps_them_to_a_fallback() -> None:
    # pyais maps ship type 107 to ShipType.NotAvailable (0) and epfd 9 to Undefined (0).
    guatemala = "533uwnT00000uCCSS00MD5@Dl4h400000080001c8h<25uAn00Q1C1VRBS00" + "00000000000"
    record = decode_payload(guatemala, 2)
    assert (record["ship_type"], record["epfd"]) == (107, 15)
    position = decode_payload("15M67FC000G?ufbE`FepT@3n00Sa", 0)
    assert [type(position[f]) for f in ("status", "maneuver")] == [int, int]


def test_dgnss_position_is_signed_degrees() -> None:
    # pyais reads type 17 lon/lat as unsigned minutes.
    record = decode_payload("A6WWW6gP00a3PDlEKLrarOwUr8Mg", 0)
    assert record["lon"] == pytest.approx(-54.613333, abs=1e-6)
    assert record["lat"] == pytest.approx(35.033333, abs=1e-6)


def test_group_assignment_corners_are_degrees() -> None:
    message = MessageType23.create(mmsi=1, ne_lon=600.0, ne_lat=-300.5, sw_lon=-10860.0, sw_lat=1.5)
    record = decode_payload(*payload_of(message))
    assert record["ne_lon"] == 10.0
    assert record["ne_lat"] == pytest.approx(-5.008333, abs=1e-6)
    assert record["sw_lon"] == -181.0
    assert record["sw_lat"] == 0.025


def test_aton_name_extension_is_joined_only_to_a_full_name() -> None:
    full = decode_payload(*payload_of(MessageType21.create(mmsi=1, name="A" * 20, name_ext="EXTENSION")))
    assert full["name"] == "A" * 20 + "EXTENSION"
    short = decode_payload(*payload_of(MessageType21.create(mmsi=1, name="BUOY 7", name_ext="STRAY")))
    assert short["name"] == "BUOY 7"
    assert "name_ext" not in full and "full_name" not in full


def test_binary_data_is_hex() -> None:
    record = decode_payload(*payload_of(MessageType8.create(mmsi=1, dac=123, fid=1, data=b"\x01\x02\xff")))
    assert (record["kind"], record["dac"], record["fid"], record["data"]) == ("binary", 123, 1, "0102ff")


def test_structured_binary_application_id_is_dac_and_fid() -> None:
    record = decode_payload("I6S`3Tg@T0a3REBEsjJcT?wSi0fM", 0)
    assert (record["dac"], record["fid"], record["dest_mmsi"]) == (905, 21, 874775184)
    assert "app_id" not in record


def test_ts_is_passed_through() -> None:
    moment = carried_time(
        {"msg_type": 4, "year": 2012, "month": 7, "day": 18, "hour": 3, "minute": 25, "second": 28}
    )
    assert moment is not None and moment.isoformat() == "2012-07-18T03:25:28+00:00"
    assert decode_payload("15M67FC000G?ufbE`FepT@3n00Sa", 0, ts=moment)["ts"] is moment


@pytest.mark.parametrize(
    "fields",
    [
        {"msg_type": 1, "year": 2012, "month": 7, "day": 18, "hour": 3, "minute": 25, "second": 28},
        {"msg_type": 4, "year": None, "month": 7, "day": 18, "hour": 3, "minute": 25, "second": 28},
        {"msg_type": 11, "year": 2012, "month": 13, "day": 18, "hour": 3, "minute": 25, "second": 28},
    ],
)
def test_carried_time_only_when_complete_and_valid(fields: dict[str, Any]) -> None:
    assert carried_time(fields) is None


@pytest.mark.parametrize(
    ("payload", "fill_bits", "reason"),
    [
        ("", 0, "empty"),
        ("0" * 28, 0, "type 0"),
        ("L" * 28, 0, "type 28"),
        ("w" * 28, 0, "type 63"),
        ("15M67FC000G?ufbE`FepT@3n00S", 0, "167 bits"),
        ("15M67FC000G?ufbE`FepT@3n00Sa", 6, "fill"),
        ("15M67FC000G?ufbE`FepT@3n00Sä", 0, "non-ASCII"),
        ("H52KMe<U653hhhi0000000000000", 0, "type 24 part 3"),  # '<' sets part number bits to 3
    ],
)
def test_undecodable_payloads_raise_only_ais_decode_error(payload: str, fill_bits: int, reason: str) -> None:
    with pytest.raises(AisDecodeError):
        decode_payload(payload, fill_bits)


ARMOUR = "0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVW`abcdefghijklmnopqrstuvw"


@settings(database=None, max_examples=2000)
@given(st.text(alphabet=ARMOUR, max_size=180), st.integers(0, 5))
def test_any_payload_is_a_record_or_an_ais_decode_error(payload: str, fill_bits: int) -> None:
    try:
        record = decode_payload(payload, fill_bits)
    except AisDecodeError:
        return
    assert record["kind"] == expected_kind(record)
    json.dumps(record, allow_nan=False)


def test_a_weather_station_report_is_an_observation_with_its_blanks_cleared() -> None:
    # Encoded with pyais from a made-up Shanwei buoy report; the vector from pyais' tests has every
    # value "not available".
    payload = "803t4l@0GkC7f0aT:7bSk:4e5tNe0jFG6B<00FP0e7h2lO8j380OnQSr=D0"
    record = decode_payload(payload, 4)
    assert record["kind"] == "met_observation"
    assert (record["wspeed"], record["wdir"], record["airtemp"], record["pressure"]) == (25, 90, 24.5, 1002)
    assert (record["waveheight"], record["seastate"], record["lon"], record["lat"]) == (3.5, 6, 115.3, 22.7)
    blank = decode_payload("8@2R5Ph0GhRbUqe?n>KS?wvlFR06EuOwiOl?wnSwe7wvlOwwsAwwnSGmwvwt", 0)
    assert blank["kind"] == "met_observation"
    assert [blank[f] for f in ("wspeed", "airtemp", "humidity", "pressure", "waterlevel", "salinity")] == [
        None
    ] * 6
    assert blank["visibility"] == 1.1
