"""`seawatch report vessel ID --from DATE --to DATE [--pdf FILE] [--json]`."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import orjson

from seawatch.settings import DatabaseSettings, Settings
from tracking.db import open_pool
from tracking.history import day_window
from tracking.report_pdf import write_pdf
from tracking.reports import UnknownVessel, vessel_report
from tracking.tracks import TrackTooLarge, check_range


class ReportError(ValueError):
    """Bad dates or an unknown vessel: one line for the user."""


def parse_bound(text: str, timezone: str, *, end: bool) -> datetime:
    """A date is a whole day in the report time zone (`--to` includes it); a time is taken as given
    (UTC when it names no offset)."""
    try:
        if len(text) == 10:
            start, stop = day_window(date.fromisoformat(text), timezone)
            return stop if end else start
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ReportError(f"not a date or time: {text!r}") from exc
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def run_vessel_report(
    dsn: str,
    settings: Settings,
    vessel_id: int,
    start_text: str,
    end_text: str,
    pdf: Path | None,
    as_json: bool,
) -> None:
    tz = settings.tracking.report_timezone
    start, end = parse_bound(start_text, tz, end=False), parse_bound(end_text, tz, end=True)
    try:
        check_range(start, end, settings.tracking.track_max_days)
    except ValueError as exc:
        raise ReportError(str(exc)) from exc

    async def build() -> None:
        pool = await open_pool(dsn, DatabaseSettings(pool_min=1, pool_max=2))
        try:
            report = await vessel_report(pool, vessel_id, start, end, settings.tracking)
        except (UnknownVessel, TrackTooLarge) as exc:
            raise ReportError(str(exc)) from exc
        finally:
            await pool.close()
        if pdf is not None:
            write_pdf(report, pdf)
            totals = report.data["totals"]
            print(
                f"{pdf}: {totals['voyages']} voyage(s), {totals['distance_nm']:.1f} nm, "
                f"fishing {timedelta(seconds=round(totals['fishing_effort_s']))}",
                file=sys.stderr,
            )
        if as_json or pdf is None:
            sys.stdout.buffer.write(orjson.dumps(report.data, option=orjson.OPT_INDENT_2) + b"\n")

    asyncio.run(build())
