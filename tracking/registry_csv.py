"""Reading the vessel registry CSV: rows checked one by one, each problem reported with its line.

The file
--------

UTF-8 (a byte-order mark is allowed), comma-separated, with the usual CSV quoting, and a header row
naming the columns, in any order. `hull_number` is required; the other columns may be left out:

=================  ==========================================================================
column             meaning
=================  ==========================================================================
hull_number        the vessel's hull number (船号), e.g. 粤汕尾渔12345; rows are matched on it
name               vessel name
owner_name         owner
owner_contact      how to reach the owner (phone)
home_port          home port
licensed_area      id of the `fishing_area` zone the licence allows
vessel_type        e.g. trawler, gillnetter
is_fishing         true/false (also yes/no, 1/0)
mmsi               AIS MMSI, up to 9 digits
terminal           BeiDou/JT/T 808 terminal id, exactly as the terminal sends it (keep the cell as
                   text in spreadsheets: leading zeros matter)
tag                electronic tag id (case does not matter; stored upper-case)
valid_from         when the row's identities started on this vessel: `YYYY-MM-DD` (midnight UTC) or
                   an ISO 8601 time with a UTC offset; empty = always
valid_to           when they ended (exclusive), same forms; empty = still valid
=================  ==========================================================================

A vessel may carry several identities: several values in one cell separated by `;`
(`412000001;412000002`), and/or several rows with the same hull number (for different validity
periods, say). `valid_from`/`valid_to` apply to every identity of their row. An empty cell leaves what
is stored unchanged, so a row that only adds an identity needs only `hull_number` and that identity.

Bounds: `MAX_FILE_BYTES` per file, `MAX_ROWS` data rows, `MAX_CELL_CHARS` per cell. Problems with the
whole file (too large, not UTF-8, no or unknown header columns) raise `RegistryFileError` before
anything is imported; problems with a row are returned with its line number and cost that row only.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

COLUMNS: tuple[str, ...] = (
    "hull_number",
    "name",
    "owner_name",
    "owner_contact",
    "home_port",
    "licensed_area",
    "vessel_type",
    "is_fishing",
    "mmsi",
    "terminal",
    "tag",
    "valid_from",
    "valid_to",
)
VESSEL_TEXT_COLUMNS: tuple[str, ...] = (
    "name",
    "owner_name",
    "owner_contact",
    "home_port",
    "licensed_area",
    "vessel_type",
)
MAX_FILE_BYTES = 32 << 20
MAX_ROWS = 200_000
MAX_CELL_CHARS = 1000
MMSI_MAX = 999_999_999

_TRUE = frozenset({"true", "yes", "y", "1"})
_FALSE = frozenset({"false", "no", "n", "0"})
_TERMINAL = re.compile(r"[A-Za-z0-9._-]{1,64}")
_TAG = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RegistryFileError(ValueError):
    """The file as a whole cannot be imported; nothing was."""


@dataclass(frozen=True)
class RowProblem:
    line: int
    message: str


@dataclass(frozen=True)
class VesselRow:
    line: int  # where the row starts in the file (the header is line 1)
    hull_number: str
    values: dict[str, str | bool]  # vessel columns given in this row (empty cells left out)
    identities: tuple[tuple[str, str], ...]  # (kind, value): ("mmsi", "412000001")
    valid_from: datetime | None = None
    valid_to: datetime | None = None


def read_registry(
    path: Path, *, max_bytes: int = MAX_FILE_BYTES, max_rows: int = MAX_ROWS
) -> tuple[list[VesselRow], list[RowProblem]]:
    """The usable rows of the file and the problems of the others."""
    with path.open("rb") as file:
        raw = file.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise RegistryFileError(f"{path} is larger than {max_bytes} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RegistryFileError(f"{path} is not UTF-8 (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = _header(next(reader, None))
        rows: list[VesselRow] = []
        problems: list[RowProblem] = []
        line = reader.line_num + 1
        for cells in reader:
            if any(cell.strip() for cell in cells):
                if len(rows) + len(problems) >= max_rows:
                    raise RegistryFileError(f"{path} has more than {max_rows} rows")
                try:
                    rows.append(parse_row(line, header, cells))
                except ValueError as exc:
                    problems.append(RowProblem(line, str(exc)))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RegistryFileError(f"{path}, line {reader.line_num}: {exc}") from None
    return rows, problems


def _header(cells: list[str] | None) -> list[str]:
    if cells is None:
        raise RegistryFileError("the file is empty: it needs a header row")
    names = [cell.strip().lower() for cell in cells]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise RegistryFileError(
            f"unknown column(s) {', '.join(map(repr, unknown))}; columns: {', '.join(COLUMNS)}"
        )
    if len(set(names)) != len(names):
        raise RegistryFileError("a column appears twice in the header")
    if "hull_number" not in names:
        raise RegistryFileError("the header has no hull_number column")
    return names


def parse_row(line: int, header: list[str], cells: list[str]) -> VesselRow:
    """One data row; raises ValueError saying everything wrong with it."""
    if len(cells) != len(header):
        raise ValueError(f"{len(cells)} cells where the header has {len(header)}")
    cell = {name: value.strip() for name, value in zip(header, cells, strict=True)}
    problems: list[str] = [
        f"{name} is longer than {MAX_CELL_CHARS} characters"
        for name, value in cell.items()
        if len(value) > MAX_CELL_CHARS
    ]
    if problems:
        raise ValueError("; ".join(problems))
    hull = cell.get("hull_number", "")
    if not hull:
        problems.append("hull_number is empty")
    values: dict[str, str | bool] = {name: cell[name] for name in VESSEL_TEXT_COLUMNS if cell.get(name)}
    fishing = cell.get("is_fishing", "").lower()
    if fishing in _TRUE or fishing in _FALSE:
        values["is_fishing"] = fishing in _TRUE
    elif fishing:
        problems.append(f"is_fishing {cell['is_fishing']!r} is not true or false")
    identities: list[tuple[str, str]] = []
    for kind in ("mmsi", "terminal", "tag"):
        for value in filter(None, (v.strip() for v in cell.get(kind, "").split(";"))):
            try:
                identities.append((kind, _identity(kind, value)))
            except ValueError as exc:
                problems.append(str(exc))
    valid_from, valid_to = _time(cell, "valid_from", problems), _time(cell, "valid_to", problems)
    if valid_from is not None and valid_to is not None and valid_from >= valid_to:
        problems.append(f"valid_from {cell['valid_from']} is not before valid_to {cell['valid_to']}")
    if problems:
        raise ValueError("; ".join(problems))
    return VesselRow(line, hull, values, tuple(dict.fromkeys(identities)), valid_from, valid_to)


def _identity(kind: str, value: str) -> str:
    """The value as ingest records carry it, so the registry and the reports meet."""
    if kind == "mmsi":
        if not value.isascii() or not value.isdigit() or len(value) > 9 or not 0 < int(value) <= MMSI_MAX:
            raise ValueError(f"mmsi {value!r} is not an MMSI (up to 9 digits)")
        return str(int(value))  # as the store files it: plain digits, no leading zeros
    if kind == "terminal":
        if not _TERMINAL.fullmatch(value):
            raise ValueError(f"terminal {value!r} is not a terminal id (letters, digits, . _ -)")
        return value
    if not _TAG.fullmatch(value):
        raise ValueError(f"tag {value!r} is not a tag id (letters, digits, . _ : -)")
    return value.upper()


def _time(cell: dict[str, str], name: str, problems: list[str]) -> datetime | None:
    text = cell.get(name, "")
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        value = datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"{name} {text!r} is not a date (YYYY-MM-DD) or an ISO 8601 time")
        return None
    if value.tzinfo is None:
        problems.append(f"{name} {text!r} has no UTC offset (write e.g. {text}+08:00)")
        return None
    return value.astimezone(UTC)
