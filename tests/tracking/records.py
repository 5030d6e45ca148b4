"""Records as the pipeline hands them to the store, for the tracking tests."""

from datetime import UTC, datetime, timedelta
from typing import Any

T0 = datetime(2025, 7, 1, 8, 0, tzinfo=UTC)


def ais_position(mmsi: int | None = 412_000_001, n: int = 0, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "position",
        "source": "ais",
        "msg_type": 1,
        "repeat": 0,
        "mmsi": mmsi,
        "status": 7,
        "turn": 0.0,
        "speed": 6.5,
        "accuracy": True,
        "lon": 115.3 + n * 0.001,
        "lat": 22.7 + n * 0.0005,
        "course": 91.5,
        "heading": 90,
        "second": 12,
        "ts": T0 + timedelta(seconds=10 * n),
        "received_at": T0 + timedelta(seconds=10 * n, milliseconds=250),
        "feed": "shanwei-rx1",
        "receivers": 1,
    }
    record.update(changes)
    return record


def ais_static(mmsi: int | None = 412_000_001, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "static",
        "source": "ais",
        "msg_type": 5,
        "mmsi": mmsi,
        "ais_version": 0,
        "imo": 9_123_456,
        "callsign": "BVAB3",
        "shipname": "YUE SHAN WEI YU 12345",
        "ship_type": 30,
        "to_bow": 20,
        "to_stern": 8,
        "to_port": 3,
        "to_starboard": 3,
        "epfd": 1,
        "draught": 2.4,
        "destination": "SHANWEI",
        "dte": False,
        "ts": T0,
        "received_at": T0,
        "feed": "shanwei-rx1",
    }
    record.update(changes)
    return record


def jt808_position(terminal: str = "013912345678", n: int = 0, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "position",
        "source": "jt808",
        "msg_id": 0x0200,
        "terminal": terminal,
        "serial": n,
        "version": 2013,
        "alarm_bits": 0,
        "alarms": [],
        "status_bits": 3,
        "lat": 22.75,
        "lon": 115.35,
        "altitude": 3,
        "speed": 4.3,
        "speed_kmh": 8.0,
        "course": 180,
        "ts": T0 + timedelta(minutes=n),
        "received_at": T0 + timedelta(minutes=n, seconds=1),
        "feed": "jt808",
    }
    record.update(changes)
    return record


def safety(mmsi: int | None = 412_000_001, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "safety",
        "source": "ais",
        "msg_type": 14,
        "mmsi": mmsi,
        "text": "MAYDAY ENGINE FIRE",
        "ts": T0,
        "received_at": T0,
        "feed": "shanwei-rx1",
    }
    record.update(changes)
    return record


def base_station(mmsi: int | None = 4_130_001, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "kind": "base_station",
        "source": "ais",
        "msg_type": 4,
        "mmsi": mmsi,
        "lon": 115.36,
        "lat": 22.78,
        "year": 2025,
        "ts": T0,
        "received_at": T0,
        "feed": "shanwei-rx1",
    }
    record.update(changes)
    return record


# A batch as spool format 1 (before positions had a drill column) wrote it: `encode_rows` of commit
# caf7e08 on a drill position (`ais_position(n=1, drill=True)`), a drill static report and a drill
# safety event. A spool left by that version must still drain after an upgrade.
FORMAT_1_BATCH = (
    b'{"format":1,"rows":[["p",1751356810000000,["mmsi","412000001"],"ais",115.301,22.700499999999998,'
    b'6.5,91.5,90.0,7,1,1751356810250000],["s",1751356800000000,["mmsi","412000001"],"ais",'
    b'{"mmsi":412000001,"imo":9123456,"callsign":"BVAB3","shipname":"YUE SHAN WEI YU 12345","ship_type":30,'
    b'"to_bow":20,"to_stern":8,"to_port":3,"to_starboard":3,"draught":2.4,"destination":"SHANWEI"},'
    b'{"msg_type":5,"ais_version":0,"epfd":1,"dte":false,"received_at":"2025-07-01T08:00:00+00:00",'
    b'"feed":"shanwei-rx1","drill":true}],["e",1751356800000000,["mmsi","412000001"],"ais","safety",'
    b'{"msg_type":14,"mmsi":412000001,"text":"MAYDAY ENGINE FIRE","feed":"shanwei-rx1","drill":true},'
    b"1751356800000000]]}"
)
