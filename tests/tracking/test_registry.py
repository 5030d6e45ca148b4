"""The vessel registry import against a real database: create, update, merge provisional vessels, and
bad rows that cost only themselves."""

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.tracking.records import T0, ais_position, ais_static, safety
from tracking.db import Pool
from tracking.identity import IdentityRegistry
from tracking.registry import ImportReport, RegistryFileError, format_report, import_vessels_csv
from tracking.rows import to_row
from tracking.writer import write_batch

HEADER = (
    "hull_number,name,owner_name,owner_contact,home_port,licensed_area,vessel_type,is_fishing,"
    "mmsi,terminal,tag,valid_from,valid_to\n"
)
JUN = datetime(2025, 6, 1, tzinfo=UTC)


def write(tmp_path: Path, text: str, name: str = "vessels.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def query(dsn: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement, params).fetchall()  # type: ignore[arg-type]


def identities(dsn: str) -> list[tuple[Any, ...]]:
    return query(
        dsn,
        "SELECT v.hull_number, i.kind, i.value,"
        " NULLIF(i.valid_from, '-infinity'), NULLIF(i.valid_to, 'infinity')"
        " FROM vessel_identities i JOIN vessels v ON v.id = i.vessel_id ORDER BY 1, 2, 3, 4",
    )


async def imported(pool: Pool, path: Path, **options: Any) -> ImportReport:
    async with asyncio.timeout(30):
        return await import_vessels_csv(pool, path, **options)


async def test_vessels_and_their_identities_are_created_and_a_second_import_changes_nothing(
    pool: Pool, database_url: str, tmp_path: Path
) -> None:
    path = write(
        tmp_path,
        "\ufeff"  # spreadsheets write a byte-order mark
        + HEADER
        + "粤汕尾渔12345,Yue Shan Wei Yu 12345,Chen Wei,+86 660 555 0101,Shanwei,shanwei-fishing,trawler,"
        "true,412000001;412000002,013912345678,e200001,,\n"
        '粤汕尾渔12346,"Hai Feng, No. 8",,,Shanwei,,gillnetter,no,012345678,,,2025-01-01,\n',
    )
    report = await imported(pool, path)
    assert report.ok, format_report(report)
    assert (report.rows, report.vessels_created, report.identities_added) == (2, 2, 5)
    assert query(
        database_url,
        "SELECT hull_number, name, owner_name, owner_contact, home_port, licensed_area, vessel_type,"
        " is_fishing, provisional FROM vessels ORDER BY hull_number",
    ) == [
        (
            "粤汕尾渔12345",
            "Yue Shan Wei Yu 12345",
            "Chen Wei",
            "+86 660 555 0101",
            "Shanwei",
            "shanwei-fishing",
            "trawler",
            True,
            False,
        ),
        ("粤汕尾渔12346", "Hai Feng, No. 8", None, None, "Shanwei", None, "gillnetter", False, False),
    ]
    assert identities(database_url) == [
        ("粤汕尾渔12345", "mmsi", "412000001", None, None),
        ("粤汕尾渔12345", "mmsi", "412000002", None, None),
        ("粤汕尾渔12345", "tag", "E200001", None, None),  # tags are upper-cased, as decoding does
        ("粤汕尾渔12345", "terminal", "013912345678", None, None),
        (
            "粤汕尾渔12346",
            "mmsi",
            "12345678",
            datetime(2025, 1, 1, tzinfo=UTC),
            None,
        ),  # as the store files it
    ]
    again = await imported(pool, path)
    assert (again.vessels_created, again.vessels_updated, again.vessels_unchanged) == (0, 0, 2)
    assert (again.identities_added, again.identities_unchanged) == (0, 5)
    assert len(identities(database_url)) == 5
    assert "2 row(s); vessels: 0 created, 0 updated, 2 unchanged" in format_report(again)


async def test_an_update_changes_given_cells_only_and_a_period_replaces_the_vessels_own(
    pool: Pool, database_url: str, tmp_path: Path
) -> None:
    await imported(pool, write(tmp_path, HEADER + "H1,Old Name,Chen Wei,111,,,,true,412000001,,,,\n"))
    # A row with only what changed: the new phone number, and the MMSI's end (the transponder went).
    report = await imported(
        pool, write(tmp_path, "hull_number,owner_contact,mmsi,valid_to\nH1,222,412000001,2025-06-01\n")
    )
    assert (report.vessels_updated, report.identities_added) == (1, 1)
    assert query(database_url, "SELECT name, owner_name, owner_contact, is_fishing FROM vessels") == [
        ("Old Name", "Chen Wei", "222", True)
    ]
    assert identities(database_url) == [("H1", "mmsi", "412000001", None, JUN)]


async def test_repeated_rows_give_one_identity_to_several_hulls_over_time(pool: Pool, tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "hull_number,mmsi,valid_from,valid_to\nA,412000009,,2025-06-01\nB,412000009,2025-06-01T00:00:00+00:00,\n",
    )
    assert (await imported(pool, path)).ok
    registry = IdentityRegistry(pool)
    vessel_a = await registry.resolve("mmsi", "412000009", datetime(2025, 1, 1, tzinfo=UTC))
    vessel_b = await registry.resolve("mmsi", "412000009", JUN)
    assert vessel_a != vessel_b
    assert registry.created == 0


async def test_a_provisional_vessel_is_merged_into_the_registered_one(
    pool: Pool, database_url: str, tmp_path: Path
) -> None:
    registry = IdentityRegistry(pool)
    records = [ais_position(n=n) for n in range(5)] + [ais_static(), safety()]
    anomaly = {"kind": "identity_anomaly", "source": "identity", "ts": T0, "mmsi": "412000001"}
    async with pool.connection() as conn:
        await write_batch(conn, registry, uuid.uuid4(), [to_row(r) for r in records])
        provisional = await registry.resolve("mmsi", "412000001", T0)
        await write_batch(conn, registry, uuid.uuid4(), [to_row({**anomaly, "vessel_id": provisional})])
    assert query(database_url, "SELECT id, provisional, name FROM vessels") == [
        (provisional, True, "YUE SHAN WEI YU 12345")
    ]
    assert await registry.resolve("mmsi", "412000001", T0) == provisional  # cached

    path = write(tmp_path, "hull_number,mmsi,is_fishing\n粤汕尾渔12345,412000001,true\n")
    report = await imported(pool, path, registry=registry)
    assert report.ok, format_report(report)
    [merge] = report.merges
    [(registered,)] = query(database_url, "SELECT id FROM vessels WHERE hull_number = '粤汕尾渔12345'")
    assert (merge.provisional_id, merge.vessel_id, merge.deleted) == (provisional, registered, True)
    assert merge.moved == {"positions": 5, "events": 2, "static_reports": 1}
    # Everything it had now belongs to the registered vessel; it is gone, and the cache knows.
    assert query(database_url, "SELECT id, provisional, name FROM vessels") == [
        (registered, False, "YUE SHAN WEI YU 12345")
    ]
    for table in ("positions", "events", "static_reports"):
        assert query(database_url, f"SELECT DISTINCT vessel_id FROM {table}") == [(registered,)]
    assert query(
        database_url, "SELECT (data->>'vessel_id')::bigint FROM events WHERE kind = 'identity_anomaly'"
    ) == [(registered,)]
    assert await registry.resolve("mmsi", "412000001", T0) == registered
    assert "merged provisional vessel" in format_report(report)


async def test_only_the_overlap_of_a_provisional_period_is_merged(
    pool: Pool, database_url: str, tmp_path: Path
) -> None:
    registry = IdentityRegistry(pool)
    before, after = datetime(2025, 5, 1, tzinfo=UTC), datetime(2025, 7, 1, tzinfo=UTC)
    records = [ais_position(ts=before, received_at=before), ais_position(ts=after, received_at=after)]
    async with pool.connection() as conn:
        await write_batch(conn, registry, uuid.uuid4(), [to_row(r) for r in records])
    provisional = await registry.resolve("mmsi", "412000001", before)

    # The registry says the MMSI has been on this hull since June only.
    report = await imported(
        pool, write(tmp_path, "hull_number,mmsi,valid_from\nH1,412000001,2025-06-01\n"), registry=registry
    )
    [merge] = report.merges
    assert (merge.deleted, merge.moved["positions"]) == (False, 1)
    [(registered,)] = query(database_url, "SELECT id FROM vessels WHERE hull_number = 'H1'")
    assert query(database_url, "SELECT ts, vessel_id FROM positions ORDER BY ts") == [
        (before, provisional),
        (after, registered),
    ]
    assert identities(database_url) == [
        ("H1", "mmsi", "412000001", JUN, None),
        (None, "mmsi", "412000001", None, JUN),  # the provisional vessel keeps the time before
    ]
    assert await registry.resolve("mmsi", "412000001", before) == provisional
    assert await registry.resolve("mmsi", "412000001", after) == registered


async def test_bad_rows_are_reported_by_line_and_cost_only_themselves(
    pool: Pool, database_url: str, tmp_path: Path
) -> None:
    await imported(pool, write(tmp_path, "hull_number,tag\nOTHER,E2OWNED\n", "first.csv"))
    path = write(
        tmp_path,
        HEADER
        + "G1,Good One,,,,,,,412000011,,,,\n"  # line 2
        + ",No Hull,,,,,,,,,,,\n"  # line 3
        + "B2,,,,,,,maybe,4120000xx,,,,\n"  # line 4
        + 'G2,"A name\nover two lines",,,,,,,412000012,,,,\n'  # lines 5-6
        + "B3,,,,,,,,,,,2025-06-01,2025-01-01\n"  # line 7
        + "B4,,,,,,,,,,,2025-06-01T00:00:00,\n"  # line 8: no offset
        + "B5,too,few,cells\n"  # line 9
        + "\n"  # line 10, blank: skipped
        + "B6,,,,,,,,,,e2owned,,\n"  # line 11: the tag belongs to another hull
        + "G3,,,,,,,,,,bad tag!,,\n"  # line 12
        + "G4,Good Four,,,,,,,,,,,\n",  # line 13
    )
    report = await imported(pool, path)
    assert [(p.line, p.message.split(" ")[0]) for p in report.problems] == [
        (3, "hull_number"),
        (4, "is_fishing"),
        (7, "valid_from"),
        (8, "valid_from"),
        (9, "4"),
        (11, "tag"),
        (12, "tag"),
    ]
    messages = {p.line: p.message for p in report.problems}
    assert "mmsi '4120000xx' is not an MMSI" in messages[4]  # every problem of the row, not the first only
    assert "belongs to OTHER" in messages[11]
    assert report.rows == 10
    assert query(database_url, "SELECT hull_number, name FROM vessels ORDER BY hull_number") == [
        ("G1", "Good One"),
        ("G2", "A name\nover two lines"),
        ("G4", "Good Four"),
        ("OTHER", None),
    ]
    text = format_report(report)
    assert "7 row(s) refused" in text
    assert "line 11: tag E2OWNED belongs to OTHER" in text


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "empty"),
        (b"hull,mmsi\nH1,412000001\n", "unknown column(s) 'hull'"),
        (b"name,mmsi\nBoat,412000001\n", "no hull_number"),
        (b"hull_number,mmsi,mmsi\nH1,1,2\n", "twice"),
        ("hull_number,name\nH1,Hai\n".encode("gb18030") + "海丰".encode("gb18030"), "not UTF-8"),
        (b"hull_number\n" + b"H\n" * 11, "more than 10 rows"),
        (b"hull_number\n" + b"H" * 5000 + b"\n", "larger than 4096 bytes"),
    ],
)
async def test_a_file_that_cannot_be_read_as_a_whole_imports_nothing(
    pool: Pool, database_url: str, tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "vessels.csv"
    path.write_bytes(content)
    with pytest.raises(RegistryFileError, match=words.replace("(", r"\(").replace(")", r"\)")):
        await imported(pool, path, max_rows=10, max_bytes=4096)
    assert query(database_url, "SELECT count(*) FROM vessels") == [(0,)]
