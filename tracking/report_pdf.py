"""The fisheries report as a printable A4 PDF: page 1 identity, summary and track map; page 2 the tables.

matplotlib with the Agg backend (no display), the offline GSHHG coastline shipped in `tracking/data`
(no tiles, no network: harbour offices print these without internet). Names of Chinese boats and
zones need a CJK font: the first installed one of `CJK_FONTS` is put behind DejaVu Sans as a fallback;
without any, the characters DejaVu lacks are printed as "?" rather than as empty boxes.
"""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import orjson
from matplotlib import font_manager
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from shapely.geometry import box, shape
from shapely.geometry.base import BaseGeometry

from tracking.coast import COAST_FILE
from tracking.reports import VesselReport
from tracking.zones import Zone

A4 = (8.27, 11.69)
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Droid Sans Fallback",
)
ZONE_STYLE = {
    "harbour": ("tab:blue", "-"),
    "shelter": ("tab:cyan", "-"),
    "prohibited": ("tab:red", "-"),
    "protected": ("tab:red", "-"),
    "restricted": ("tab:purple", "-"),
    "moratorium": ("darkred", "--"),
    "fishing_area": ("tab:green", "--"),
    "shipping_lane": ("grey", ":"),
}
MAX_VOYAGE_ROWS = 28
MAX_LIST_ROWS = 12
# pyplot keeps global state: one report at a time, whichever thread asks.
_RENDERING = threading.Lock()


@functools.cache
def _fonts() -> tuple[list[str], bool]:
    installed = {f.name for f in font_manager.fontManager.ttflist}
    cjk = next((name for name in CJK_FONTS if name in installed), None)
    return (["DejaVu Sans", cjk] if cjk else ["DejaVu Sans"]), cjk is not None


def _text(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    if _fonts()[1]:
        return text
    return "".join(c if ord(c) < 0x2E80 else "?" for c in text)


def _hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


def _when(iso: str | None) -> str:
    return "—" if iso is None else iso.replace("T", " ").replace("Z", "")[:16]


@functools.cache
def _coast() -> list[BaseGeometry]:
    data = orjson.loads((resources.files("tracking") / "data" / COAST_FILE).read_bytes())
    return [shape(f["geometry"]) for f in data["features"]]


def _draw_polygon(ax: Axes, geom: BaseGeometry, *, filled: bool = False, **style: Any) -> None:
    for polygon in getattr(geom, "geoms", [geom]):
        if polygon.is_empty or polygon.geom_type != "Polygon":
            continue
        x, y = polygon.exterior.xy
        if filled:
            ax.fill(x, y, **style)
        else:
            ax.plot(x, y, **style)


def _map(ax: Axes, report: VesselReport) -> None:
    track = report.track
    if len(track):
        lon0, lon1 = float(track.lon.min()), float(track.lon.max())
        lat0, lat1 = float(track.lat.min()), float(track.lat.max())
    else:
        lon0, lon1, lat0, lat1 = 115.2, 115.6, 22.5, 22.85
    pad = max(lon1 - lon0, lat1 - lat0, 0.05) * 0.15
    view = box(lon0 - pad, lat0 - pad, lon1 + pad, lat1 + pad)
    ax.set_facecolor("#dbe9f6")
    for land in _coast():
        if land.intersects(view):
            _draw_polygon(
                ax, land.intersection(view), filled=True, color="#e8dcc0", edgecolor="#a89060", lw=0.4
            )
    for zone in report.zones:
        _draw_zone(ax, zone, view)
    if len(track):
        ax.plot(track.lon, track.lat, color="#1f3b73", lw=0.9, label="track")
        # A segment of the (simplified) track is drawn as fishing when its middle falls in a stretch
        # judged fishing: the simplified track has too few points for a stretch to hold two.
        middle = (track.ts[:-1] + track.ts[1:]) / 2
        fishing = np.zeros(len(middle), dtype=bool)
        for start, end in report.fishing:
            fishing |= (middle >= start) & (middle <= end)
        for i in np.flatnonzero(fishing).tolist():
            ax.plot(
                track.lon[i : i + 2], track.lat[i : i + 2], color="#f28e2b", lw=2.2, solid_capstyle="round"
            )
        ax.plot([], [], color="#f28e2b", lw=2.2, label="fishing (estimated)")
        ax.plot(track.lon[0], track.lat[0], "o", color="green", ms=5, label="start")
        ax.plot(track.lon[-1], track.lat[-1], "s", color="black", ms=5, label="end")
        ax.legend(loc="lower right", fontsize=7, framealpha=0.9)
    minx, miny, maxx, maxy = view.bounds
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect(1 / np.cos(np.radians((miny + maxy) / 2)))
    ax.tick_params(labelsize=7)
    ax.set_xlabel("longitude (°E)", fontsize=7)
    ax.set_ylabel("latitude (°N)", fontsize=7)
    ax.grid(True, lw=0.3, alpha=0.5)


def _draw_zone(ax: Axes, zone: Zone, view: BaseGeometry) -> None:
    if not zone.geometry.intersects(view):
        return
    color, style = ZONE_STYLE.get(zone.kind, ("grey", ":"))
    _draw_polygon(ax, zone.geometry.intersection(view), color=color, ls=style, lw=1.0)
    point = zone.geometry.intersection(view).representative_point()
    ax.annotate(_text(zone.name), (point.x, point.y), fontsize=6, color=color, ha="center", alpha=0.9)


def _lines(fig: Figure, x: float, y: float, rows: list[tuple[str, str]], size: float = 9) -> None:
    for label, value in rows:
        fig.text(x, y, label, fontsize=size, color="#555555")
        fig.text(x + 0.17, y, _text(value), fontsize=size)
        y -= 0.021


def _page_one(report: VesselReport, generated: datetime) -> Figure:
    d = report.data
    vessel, totals = d["vessel"], d["totals"]
    fig = plt.figure(figsize=A4)
    fig.text(0.06, 0.955, "Fisheries report · 渔船作业报告" if _fonts()[1] else "Fisheries report",
             fontsize=17, weight="bold")  # fmt: skip
    fig.text(
        0.06,
        0.93,
        _text(
            f"{vessel['name'] or 'vessel ' + str(vessel['id'])} ({vessel['hull_number'] or 'no hull number'})"
        ),
        fontsize=12,
    )
    fig.text(0.06, 0.905, f"Period {_when(d['period']['from'])} – {_when(d['period']['to'])} UTC", fontsize=9)
    _lines(fig, 0.06, 0.87, [
        ("MMSI", vessel["mmsi"]), ("Terminal", vessel["terminal"]), ("Tag", vessel["tag"]),
        ("Owner", vessel["owner_name"]), ("Home port", vessel["home_port"]),
        ("Licensed area", vessel["licensed_area"]), ("Type", vessel["vessel_type"]),
    ])  # fmt: skip
    violations = totals["moratorium_violations"]
    _lines(fig, 0.52, 0.87, [
        ("Voyages", str(totals["voyages"])),
        ("Distance", f"{totals['distance_nm']:.1f} nm"),
        ("Time at sea", _hours(totals["time_at_sea_s"])),
        ("Fishing effort", _hours(totals["fishing_effort_s"])),
        ("In closed zones", _hours(totals["closed_zone_s"])),
        ("Moratorium", f"{len(violations)} violation(s), {_hours(totals['moratorium_violation_s'])}"),
        ("Anomalies", f"{sum(d['identity_anomalies']['counts'].values())} identity, "
                      f"{len(d['gate_contradictions'])} gate"),
        ("Alerts", str(len(d["alerts"]["items"]))),
    ])  # fmt: skip
    ax = fig.add_axes((0.09, 0.07, 0.84, 0.62))
    _map(ax, report)
    fig.text(0.06, 0.025, f"seawatch · generated {generated:%Y-%m-%d %H:%M} UTC · figures from "
             f"{d['figures_from']} · page 1/2", fontsize=7, color="#777777")  # fmt: skip
    return fig


def _table(
    fig: Figure,
    top: float,
    title: str,
    header: list[str],
    rows: list[list[str]],
    height: float,
    widths: list[float] | None = None,
) -> float:
    fig.text(0.06, top, title, fontsize=11, weight="bold")
    if not rows:
        fig.text(0.06, top - 0.022, "none", fontsize=9, color="#555555")
        return top - 0.05
    ax = fig.add_axes((0.06, top - 0.012 - height, 0.88, height))
    ax.axis("off")
    table = ax.table(cellText=[[_text(c) for c in r] for r in rows], colLabels=header, loc="upper left",
                     cellLoc="left", colLoc="left", colWidths=widths)  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(7.5)
    table.scale(1, 1.15)
    return top - height - 0.04


def _page_two(report: VesselReport, generated: datetime) -> Figure:
    d = report.data
    fig = plt.figure(figsize=A4)
    voyages = d["voyages"]
    rows = [
        [_when(v["departed_at"]), _when(v["arrived_at"]),
         f"{v['from_zone_id']} → {v['to_zone_id'] or 'at sea'}",
         _hours(v["duration_s"]), f"{v['distance_nm']:.1f}", _hours(v["fishing_s"])]
        for v in voyages[:MAX_VOYAGE_ROWS]
    ]  # fmt: skip
    title = "Voyages" + (
        f" (first {MAX_VOYAGE_ROWS} of {len(voyages)})" if len(voyages) > MAX_VOYAGE_ROWS else ""
    )
    header = ["departed (UTC)", "arrived (UTC)", "from → to", "duration", "nm", "fishing"]
    widths = [0.17, 0.17, 0.34, 0.11, 0.09, 0.12]
    top = _table(fig, 0.95, title, header, rows, 0.0155 * (len(rows) + 1), widths)
    zones = [[z["name"], z["kind"], _hours(z["seconds"])] for z in d["totals"]["zones"][:MAX_LIST_ROWS]]
    height = 0.0155 * (len(zones) + 1)
    top = _table(fig, top, "Time inside zones", ["zone", "kind", "time"], zones, height, [0.6, 0.2, 0.2])
    violations = [
        [v["name"], _when(v["start"]), _when(v["end"]), _hours(v["seconds"])]
        for v in d["totals"]["moratorium_violations"][:MAX_LIST_ROWS]
    ]
    header = ["closure", "from", "to", "time"]
    top = _table(fig, top, "Moratorium violations", header, violations, 0.0155 * (len(violations) + 1))
    evidence = [[_when(a["ts"]), "identity", a["anomaly"]] for a in d["identity_anomalies"]["items"]]
    evidence += [[_when(g["read_at"]), "gate", g["reason"]] for g in d["gate_contradictions"]]
    evidence = sorted(evidence)[:MAX_LIST_ROWS]
    top = _table(fig, top, "Identity anomalies and gate contradictions", ["time (UTC)", "kind", "what"],
                 evidence, 0.0155 * (len(evidence) + 1))  # fmt: skip
    alerts = [
        [_when(a["opened_at"]), a["kind"], a["severity"], a["title"][:60]] for a in d["alerts"]["items"]
    ]
    _table(fig, top, "Alerts", ["opened (UTC)", "kind", "severity", "title"], alerts[:MAX_LIST_ROWS],
           0.0155 * (min(len(alerts), MAX_LIST_ROWS) + 1))  # fmt: skip
    effort = d["effort_settings"]
    band = f"{effort['speed_band_kn'][0]}–{effort['speed_band_kn'][1]} kn"
    turn = f"turning ≥ {effort['min_turn_deg_min']}°/min"
    fig.text(0.06, 0.025, f"seawatch · generated {generated:%Y-%m-%d %H:%M} UTC · fishing effort: {band}"
             f" {turn} · page 2/2", fontsize=7, color="#777777")  # fmt: skip
    return fig


def write_pdf(
    report: VesselReport, out: str | Path | IO[bytes], *, generated: datetime | None = None
) -> None:
    """Write the two-page PDF of `report` to a path or binary file."""
    generated = generated or datetime.now(UTC)
    families, _ = _fonts()
    with _RENDERING, plt.rc_context({"font.family": families, "pdf.fonttype": 42}):
        pages = [_page_one(report, generated), _page_two(report, generated)]
        try:
            with PdfPages(out, metadata={"Title": "seawatch fisheries report", "Creator": "seawatch"}) as pdf:
                for page in pages:
                    pdf.savefig(page)
        finally:
            for page in pages:
                plt.close(page)
