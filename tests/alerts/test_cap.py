"""CAP parsing: every reference file in ../shared/data/cap with its pinned outcome, hostile and broken
documents built here, the geometry, and fuzzing that nothing but CapError ever escapes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import Point, Polygon

from alerts.cap import (
    MAX_AREAS,
    MAX_INFOS,
    MAX_POLYGON_POINTS,
    CapAlert,
    CapError,
    Reference,
    areas_geojson,
    effective_window,
    parse_cap,
    seawatch_severity,
)
from alerts.cap_geometry import EARTH_RADIUS_KM, circle_polygon

CAP_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "cap"


def t(text: str) -> datetime:
    return datetime.fromisoformat(text)


# --- every reference file, with its pinned outcome -------------------------------------------------------


@dataclass(frozen=True)
class Valid:
    version: str
    identifier: str
    msg_type: str
    areas: tuple[int, ...]  # areas per info; its length is the number of infos
    severity: str | None = None  # of the first info
    polygons: tuple[int, ...] = ()  # vertex counts (closing point included), all infos in order
    circles: tuple[tuple[float, float, float], ...] = ()  # (lat, lon, radius_km), all infos in order
    onset: datetime | None = None  # of the first info
    expires: datetime | None = None  # of the first info
    references: int = 0


@dataclass(frozen=True)
class Rejected:
    code: str


A2_EXPIRES = t("2003-06-17T16:00:00-07:00")
A3_CIRCLE = (32.9525, -115.5527, 0.0)

EXPECTED: dict[str, Valid | Rejected] = {
    "google/43b080713727.cap": Valid("1.2", "43b080713727", "Alert", (1,), "Severe"),
    "google/KAR0-0306112239-SW.cap": Valid("1.1", "KAR0-0306112239-SW", "Alert", (1,), "Severe"),
    "google/LICENSE": Rejected("xml"),  # the Apache licence text that ships with the samples
    "google/amber.atom": Rejected("feed"),
    "google/australia.cap": Valid(
        "1.2",
        "tag:www.rfs.nsw.gov.au2011-10-06:40184",
        "Alert",
        (1, 1),
        "Minor",
        circles=((-35.3888, 147.0598, 25.0), (-35.3888, 147.0598, 25.0)),
        expires=t("2011-10-06T23:04:00+10:00"),
    ),
    "google/canada.cap": Valid(
        "1.2",
        "2.49.0.1.124.6bddbc91.2012",
        "Update",
        (2, 2),
        "Minor",
        polygons=(17, 38, 17, 38),
        expires=t("2012-05-03T00:20:00+00:00"),
        references=2,
    ),
    "google/canada_errors.cap": Rejected("references"),  # <references/> is empty
    "google/earthquake.cap": Valid(
        "1.1",
        "USGS-earthquakes-us2010apcd.6.20100831T000925.496Z",
        "Alert",
        (1,),
        "Unknown",
        circles=((-16.053, -173.274, 0.0),),
        expires=t("2010-09-02T00:09:25-05:00"),
    ),
    "google/noaa_errors.cap": Rejected("references"),  # first of several errors, see below
    "google/thunderstorm.cap": Valid(
        "1.2", "KSTO1055887203", "Alert", (1,), "Severe", polygons=(5,), expires=A2_EXPIRES
    ),
    "google/wcatwc-warning.cap": Valid(
        "1.2",
        "PAAQ-2-lqw6d6",
        "Update",
        (1,),
        "Extreme",
        onset=t("2011-09-02T11:36:50+00:00"),
        expires=t("2011-09-02T12:36:50+00:00"),
        references=1,
    ),
    "google/weather.atom": Rejected("feed"),
    "google/weather.cap": Valid(
        "1.1",
        "NOAA-NWS-ALERTS-MT20100830100700TFXFlashFloodWatchTFX20100830180000MT",
        "Alert",
        (1,),
        "Severe",
        expires=t("2010-08-30T12:00:00-06:00"),
    ),
    "oasis/cap12.xsd": Rejected("not_cap"),
    "oasis/google-PAAQ-4-mg5a94.xml": Valid(
        "1.2",
        "PAAQ-4-mg5a94",
        "Update",
        (1,),
        "Unknown",
        circles=((55.3, -134.9, 0.0),),
        onset=t("2013-01-05T10:58:23+00:00"),
        expires=t("2013-01-05T10:58:23+00:00"),
        references=3,
    ),
    "oasis/ipaws-5e6dd964023f1930ef638846.xml": Valid(
        "1.2", "309104501346800", "Alert", (1,), "Unknown", expires=t("2019-01-04T12:33:15-08:00")
    ),
    "oasis/ipaws-5e6dd9de023f1930ef6548d9.xml": Valid(
        "1.2", "AS-NV-58d33e3a-1f9a-4909-9d59-34e90b33b3e8", "Cancel", (), references=1
    ),
    "oasis/ipaws-5e6ddbad023f1930ef6c1a5a.xml": Valid(
        "1.2",
        "44232112-8DF1-402A-BB60-948B569D6C7E",
        "Alert",
        (1,),
        "Severe",
        onset=t("2019-05-30T11:55:00-04:00"),
        expires=t("2019-05-30T12:05:00-04:00"),
    ),
    "oasis/ipaws-5e7e0fc5023f1930efcf3deb.xml": Valid(
        "1.2",
        "402013233923688",
        "Alert",
        (1,),
        "Extreme",
        polygons=(41,),
        expires=t("2019-12-13T14:24:50-08:00"),
    ),
    "oasis/ipaws-5ea321f39fc226a7b44b6874.xml": Valid(
        "1.2", "482277582702553", "Alert", (1,), "Extreme", expires=t("2020-04-24T14:23:35-04:00")
    ),
    "oasis/nws-5c2cf27b1f56885d61654dc47fa411d5.xml": Valid(  # empty <polygon>: see test_empty_polygon…
        "1.1",
        "NOAA-NWS-ALERTS-MN1261CB03F0E0.BlizzardWarning.1261CB10BF00MN.DLHWSWDLH.5c2cf27b1f56885d61654dc47fa411d5",
        "Alert",
        (1,),
        "Severe",
        expires=t("2021-12-27T18:00:00-06:00"),
    ),
    "oasis/v1dot0_appendix_adot1.xml": Valid("1.0", "43b080713727", "Alert", (1,), "Severe"),
    "oasis/v1dot0_appendix_adot2.xml": Valid(
        "1.0", "KSTO1055887203", "Alert", (1,), "Severe", polygons=(5,), expires=A2_EXPIRES
    ),
    "oasis/v1dot0_appendix_adot3.xml": Valid(
        "1.0", "TRI13970876.1", "Alert", (1,), "Minor", circles=(A3_CIRCLE,)
    ),
    "oasis/v1dot0_appendix_adot4.xml": Valid("1.0", "KAR0-0306112239-SW", "Alert", (1,), "Severe"),
    "oasis/v1dot1_appendix_adot1.xml": Valid("1.1", "43b080713727", "Alert", (1,), "Severe"),
    "oasis/v1dot1_appendix_adot2.xml": Valid(
        "1.1", "KSTO1055887203", "Alert", (1,), "Severe", polygons=(5,), expires=A2_EXPIRES
    ),
    "oasis/v1dot1_appendix_adot3.xml": Valid(
        "1.1", "TRI13970876.1", "Alert", (1,), "Minor", circles=(A3_CIRCLE,)
    ),
    "oasis/v1dot1_appendix_adot4.xml": Valid("1.1", "KAR0-0306112239-SW", "Alert", (1,), "Severe"),
    "oasis/v1dot2_appendix_adot1.xml": Valid("1.2", "43b080713727", "Alert", (1,), "Severe"),
    "oasis/v1dot2_appendix_adot2.xml": Valid(
        "1.2", "KSTO1055887203", "Alert", (1,), "Severe", polygons=(5,), expires=A2_EXPIRES
    ),
    "oasis/v1dot2_appendix_adot3.xml": Valid(
        "1.2", "TRI13970876.2", "Update", (1,), "Minor", circles=(A3_CIRCLE,), references=1
    ),
    "oasis/v1dot2_appendix_adot4.xml": Valid("1.2", "KAR0-0306112239-SW", "Alert", (1, 1), "Severe"),
}


def cap_files() -> list[str]:
    """Every file under cap/, listed from disk so that a new sample cannot go untested."""
    return sorted(p.relative_to(CAP_DIR).as_posix() for p in CAP_DIR.rglob("*") if p.is_file())


def load(name: str) -> bytes:
    return (CAP_DIR / name).read_bytes()


def parse_file(name: str) -> CapAlert:
    return parse_cap(load(name))


def test_every_cap_file_has_a_pinned_outcome() -> None:
    assert cap_files(), f"no CAP samples found in {CAP_DIR}"
    assert set(cap_files()) == set(EXPECTED)


@pytest.mark.parametrize("name", cap_files())
def test_cap_file(name: str) -> None:
    expected = EXPECTED[name]
    if isinstance(expected, Rejected):
        with pytest.raises(CapError) as caught:
            parse_file(name)
        assert caught.value.code == expected.code, caught.value.message
        return
    alert = parse_file(name)
    assert (alert.version, alert.identifier, alert.msg_type) == (
        expected.version,
        expected.identifier,
        expected.msg_type,
    )
    assert alert.sent.tzinfo is not None
    assert tuple(len(info.areas) for info in alert.infos) == expected.areas
    polygons = [p for info in alert.infos for area in info.areas for p in area.polygons]
    assert tuple(len(p.exterior.coords) for p in polygons) == expected.polygons
    circles = [c for info in alert.infos for area in info.areas for c in area.circles]
    assert tuple((c.lat, c.lon, c.radius_km) for c in circles) == expected.circles
    assert len(alert.references) == expected.references
    if alert.infos:
        first = alert.infos[0]
        assert (first.severity, first.onset, first.expires) == (
            expected.severity,
            expected.onset,
            expected.expires,
        )
    # Whatever was accepted can be stored: every area serialises, with or without geometry.
    for info in alert.infos:
        for area in info.areas:
            area.to_json()
    areas_geojson(alert)


# --- what the reference files say in detail ---------------------------------------------------------------


def test_a2_thunderstorm_polygon_is_lon_lat() -> None:
    (area,) = parse_file("oasis/v1dot2_appendix_adot2.xml").infos[0].areas
    (polygon,) = area.polygons
    assert list(polygon.exterior.coords)[:2] == [(-120.14, 38.47), (-119.95, 38.34)]
    assert polygon.contains(Point(-119.93, 38.48))  # inside the ring, in lon/lat order
    assert area.geocodes == (("SAME", "006109"), ("SAME", "006009"), ("SAME", "006003"))
    geojson = area.to_json()["geometry"]
    assert geojson["type"] == "MultiPolygon"
    assert geojson["coordinates"][0][0][0] == [-120.14, 38.47]


def test_a3_earthquake_circle_of_radius_zero_is_a_point_with_no_inside() -> None:
    alert = parse_file("oasis/v1dot2_appendix_adot3.xml")
    assert alert.references == (
        Reference("trinet@caltech.edu", "TRI13970876.1", t("2003-06-11T20:30:00-07:00")),
    )
    (circle,) = alert.infos[0].areas[0].circles
    assert circle.polygon.is_empty
    assert alert.infos[0].geometry().is_empty
    assert areas_geojson(alert) is None


def test_ipaws_41_vertex_polygon() -> None:
    alert = parse_file("oasis/ipaws-5e7e0fc5023f1930efcf3deb.xml")
    (polygon,) = alert.infos[0].areas[0].polygons
    assert len(polygon.exterior.coords) == 41
    assert seawatch_severity(alert.infos[0].severity) == "critical"


def test_ipaws_cancel_names_the_alert_it_cancels() -> None:
    alert = parse_file("oasis/ipaws-5e6dd9de023f1930ef6548d9.xml")
    assert alert.msg_type == "Cancel"
    assert alert.infos == ()
    assert alert.references == (
        Reference(
            "bbrundage@dps.state.nv.us",
            "AS-NV-e18921c7-1b35-4a81-9705-42d25c265ddd",
            t("2019-04-18T12:02:32-06:00"),
        ),
    )


def test_canada_four_polygons_in_two_languages() -> None:
    alert = parse_file("google/canada.cap")
    assert [info.language for info in alert.infos] == ["en-CA", "fr-CA"]
    assert [info.event for info in alert.infos] == ["thunderstorm", "orages"]
    assert [area.area_desc for area in alert.infos[1].areas] == [
        "Windsor - Leamington - comté d'Essex",
        "Chatham-Kent - parc Rondeau",
    ]
    # The same two areas in each language: the merged geometry covers both areas once.
    windsor = Point(-82.9, 42.1)
    assert alert.infos[0].geometry().contains(windsor)
    assert alert.infos[0].geometry().equals(alert.infos[1].geometry())
    geojson = areas_geojson(alert)
    assert geojson is not None and geojson["type"] == "MultiPolygon"
    assert [ref.identifier for ref in alert.references] == [
        "2.49.0.1.124.a3f342a4.2012",
        "2.49.0.1.124.60f31a3a.2012",
    ]


def test_empty_polygon_is_ignored_and_the_area_kept() -> None:
    """NWS zone warnings carry `<polygon></polygon>`: documented choice, the area stays with its geocodes."""
    alert = parse_file("oasis/nws-5c2cf27b1f56885d61654dc47fa411d5.xml")
    (area,) = alert.infos[0].areas
    assert area.area_desc == "Southern Cook, North Shore; Southern Lake, North Shore"
    assert area.polygons == () and area.circles == ()
    assert ("UGC", "MNZ020") in area.geocodes
    assert area.to_json()["geometry"] is None
    # With another polygon beside it, the empty one is still skipped and the real one kept.
    doc = load("oasis/nws-5c2cf27b1f56885d61654dc47fa411d5.xml").replace(
        b"<polygon></polygon>", b"<polygon></polygon><polygon>47,-91 48,-91 48,-90 47,-91</polygon>"
    )
    (area,) = parse_cap(doc).infos[0].areas
    assert [len(p.exterior.coords) for p in area.polygons] == [4]


def test_noaa_errors_file_is_rejected_for_each_of_its_errors() -> None:
    doc = load("google/noaa_errors.cap")
    doc = doc.replace(b"<references></references>", b"")
    with pytest.raises(CapError) as info:
        parse_cap(doc)
    assert info.value.code == "missing"  # empty <urgency>
    doc = doc.replace(b"<urgency></urgency>", b"<urgency>Expected</urgency>")
    doc = doc.replace(b"<severity></severity>", b"<severity>Moderate</severity>")
    doc = doc.replace(b"<certainty></certainty>", b"<certainty>Likely</certainty>")
    with pytest.raises(CapError) as info:
        parse_cap(doc)
    assert info.value.code == "polygon"  # "+40.85,-118.09," has a stray comma


def test_cap_1_0_forms() -> None:
    alert = parse_file("oasis/v1dot0_appendix_adot3.xml")
    assert alert.infos[0].certainty == "Likely"  # CAP 1.0's "Very Likely"
    (area,) = parse_file("oasis/v1dot0_appendix_adot2.xml").infos[0].areas
    assert area.geocodes == (("fips6", "006109"), ("fips6", "006009"), ("fips6", "006003"))


def test_multi_info_alert_keeps_languages_and_times() -> None:
    alert = parse_file("oasis/v1dot2_appendix_adot4.xml")
    assert [info.language for info in alert.infos] == ["en-US", "es-US"]
    assert alert.infos[1].headline == "Alerta Amber en el condado de Los Ángeles"
    assert alert.infos[0].categories == ("Rescue",)
    assert parse_file("google/australia.cap").infos[0].categories == ("Fire", "Met")


# --- generated documents ---------------------------------------------------------------------------------

CAP12 = "urn:oasis:names:tc:emergency:cap:1.2"
RING = "22.70,115.30 22.70,115.50 22.90,115.50 22.90,115.30 22.70,115.30"


def info_xml(*, area: str | None = None, extra: str = "", severity: str = "Severe") -> str:
    area = f"<area><areaDesc>Honghai Bay</areaDesc><polygon>{RING}</polygon></area>" if area is None else area
    return (
        "<info><category>Met</category><event>Gale</event><urgency>Expected</urgency>"
        f"<severity>{severity}</severity><certainty>Likely</certainty>{extra}{area}</info>"
    )


def alert_xml(
    *,
    infos: str | None = None,
    head: str = "",
    prolog: str = "",
    ns: str = CAP12,
    identifier: str = "SW-1",
    sent: str = "2025-06-01T08:00:00+08:00",
    msg_type: str = "Alert",
) -> bytes:
    infos = info_xml() if infos is None else infos
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<alert xmlns="{ns}">'
        f"<identifier>{identifier}</identifier><sender>met@example.cn</sender><sent>{sent}</sent>"
        f"<status>Actual</status><msgType>{msg_type}</msgType><scope>Public</scope>{head}{infos}</alert>"
    ).encode()


def rejected(document: bytes, **kwargs: int) -> CapError:
    with pytest.raises(CapError) as info:
        parse_cap(document, **kwargs)
    return info.value


def test_generated_document_parses() -> None:
    alert = parse_cap(alert_xml())
    assert (alert.identifier, alert.sender, alert.status, alert.scope) == (
        "SW-1",
        "met@example.cn",
        "Actual",
        "Public",
    )
    assert alert.sent == datetime(2025, 6, 1, 0, 0, tzinfo=UTC)
    assert alert.infos[0].geometry().contains(Point(115.4, 22.8))


# lol9 would expand to 10^9 "lol"s.
BILLION_LAUGHS = (
    '<!DOCTYPE alert [<!ENTITY lol0 "lol">'
    + "".join(f"<!ENTITY lol{i} '{f'&lol{i - 1};' * 10}'>" for i in range(1, 10))
    + "]>"
)


def test_billion_laughs_is_rejected() -> None:
    error = rejected(alert_xml(prolog=BILLION_LAUGHS, identifier="&lol9;"))
    assert error.code == "forbidden"
    assert "lollol" not in str(error)


@pytest.mark.parametrize(
    "prolog",
    [
        '<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE alert [<!ENTITY % xxe SYSTEM "file:///etc/passwd"> %xxe;]>',
        '<!DOCTYPE alert SYSTEM "file:///etc/passwd">',
        "<!DOCTYPE alert>",  # even a harmless DTD: CAP never needs one
    ],
)
def test_external_entities_and_dtds_are_rejected(prolog: str) -> None:
    error = rejected(alert_xml(prolog=prolog, identifier="&xxe;" if "xxe" in prolog else "SW-1"))
    assert error.code == "forbidden"
    passwd = Path("/etc/passwd")
    lines = [line for line in passwd.read_text().splitlines() if line] if passwd.exists() else []
    for text in (str(error), repr(error), error.message):
        assert "root:" not in text
        assert not any(line in text for line in lines)


def test_size_limit() -> None:
    padding = "<parameter><valueName>pad</valueName><value>" + "x" * 2_000_000 + "</value></parameter>"
    big = alert_xml(infos=info_xml(extra=padding))
    assert len(big) > 2_000_000
    assert rejected(big).code == "size"
    small = alert_xml()
    assert rejected(small, max_bytes=len(small) - 1).code == "size"
    assert parse_cap(small, max_bytes=len(small)).identifier == "SW-1"


def ring_of(points: int) -> str:
    """A closed ring of `points` points (the last repeats the first) round Honghai Bay."""
    coords = [
        (
            22.8 + 0.1 * math.sin(2 * math.pi * i / (points - 1)),
            115.4 + 0.1 * math.cos(2 * math.pi * i / (points - 1)),
        )
        for i in range(points - 1)
    ]
    coords.append(coords[0])
    return " ".join(f"{lat:.6f},{lon:.6f}" for lat, lon in coords)


def polygon_doc(ring: str) -> bytes:
    return alert_xml(infos=info_xml(area=f"<area><areaDesc>x</areaDesc><polygon>{ring}</polygon></area>"))


def test_polygon_point_limit() -> None:
    (polygon,) = parse_cap(polygon_doc(ring_of(MAX_POLYGON_POINTS))).infos[0].areas[0].polygons
    assert len(polygon.exterior.coords) == MAX_POLYGON_POINTS
    assert rejected(polygon_doc(ring_of(20_000))).code == "limit"


@pytest.mark.parametrize(
    "ring",
    [
        "22.7,115.3 22.7,115.5 22.9,115.5 22.9,115.3",  # does not close
        "22.7,115.3 22.7,115.5 22.7,115.3",  # three points
        "22.7,115.3 22.7,115.5 22.9,115.5, 22.7,115.3",  # stray comma
        "22.7;115.3 22.7,115.5 22.9,115.5 22.7,115.3",
        "nan,115.3 22.7,115.5 22.9,115.5 nan,115.3",
        "1e1,115.3 22.7,115.5 22.9,115.5 1e1,115.3",
        "95,115.3 22.7,115.5 22.9,115.5 95,115.3",  # latitude out of range
        "22.7,195.3 22.7,115.5 22.9,115.5 22.7,195.3",  # longitude out of range
        "22.5,115.5 23,116 23.5,116.5 22.5,115.5",  # on a line: no area
    ],
)
def test_malformed_polygons(ring: str) -> None:
    assert rejected(polygon_doc(ring)).code == "polygon"


def circle_doc(circle: str) -> bytes:
    return alert_xml(infos=info_xml(area=f"<area><areaDesc>x</areaDesc><circle>{circle}</circle></area>"))


def equal_area_km2(polygon: Polygon, lon0: float) -> float:
    """Area on the sphere via the sinusoidal projection, which preserves area."""
    projected = Polygon(
        [
            (
                EARTH_RADIUS_KM * math.radians(lon - lon0) * math.cos(math.radians(lat)),
                EARTH_RADIUS_KM * math.radians(lat),
            )
            for lon, lat in polygon.exterior.coords
        ]
    )
    return float(projected.area)


@pytest.mark.parametrize(("lat", "lon"), [(22.8, 115.4), (60.0, 5.0), (-35.0, 147.0), (0.0, -179.0)])
def test_circle_area_is_about_right(lat: float, lon: float) -> None:
    (circle,) = parse_cap(circle_doc(f"{lat},{lon} 10")).infos[0].areas[0].circles
    assert (circle.lat, circle.lon, circle.radius_km) == (lat, lon, 10.0)
    assert equal_area_km2(circle.polygon, lon) == pytest.approx(math.pi * 100, rel=0.02)
    assert circle.polygon.contains(Point(lon, lat))
    # 9.9 km north is inside, 10.1 km north outside (1 degree of latitude ≈ 111.2 km).
    km_per_degree = math.radians(1) * EARTH_RADIUS_KM
    assert circle.polygon.contains(Point(lon, lat + 9.9 / km_per_degree))
    assert not circle.polygon.contains(Point(lon, lat + 10.1 / km_per_degree))


def test_circle_polygon_is_wider_in_degrees_at_high_latitude() -> None:
    equator = circle_polygon(0.0, 0.0, 50.0).bounds
    north = circle_polygon(0.0, 60.0, 50.0).bounds
    assert (north[2] - north[0]) == pytest.approx(2 * (equator[2] - equator[0]), rel=0.02)


@pytest.mark.parametrize(
    "circle",
    [
        "22.8,115.4",
        "22.8,115.4 -5",
        "22.8,115.4 ten",
        "22.8,115.4 10 km",
        "22.8,115.4 3000",
        "89.9,0 50",
        "95,0 1",
    ],
)
def test_malformed_circles(circle: str) -> None:
    assert rejected(circle_doc(circle)).code == "circle"


@pytest.mark.parametrize(
    ("document", "code"),
    [
        (b"", "xml"),
        (b"not xml at all", "xml"),
        (b'<?xml version="1.0" encoding="nonsense"?><alert/>', "xml"),
        (alert_xml().replace(b"UTF-8", b"UTF-7"), "xml"),  # found by fuzzing: expat raises ValueError
        (alert_xml()[:-5], "xml"),
        (b'<feed xmlns="http://www.w3.org/2005/Atom"/>', "feed"),
        (b"<rss/>", "not_cap"),
        (alert_xml(ns="urn:oasis:names:tc:emergency:cap:1.3"), "version"),
        (alert_xml().replace(b' xmlns="urn:oasis:names:tc:emergency:cap:1.2"', b""), "version"),
        (alert_xml(identifier=""), "missing"),
        (alert_xml().replace(b"<scope>Public</scope>", b""), "missing"),
        (alert_xml(infos=info_xml().replace("<event>Gale</event>", "")), "missing"),
        (alert_xml(infos=info_xml().replace("<category>Met</category>", "")), "missing"),
        (alert_xml(infos=info_xml(area="<area><polygon>" + RING + "</polygon></area>")), "missing"),
        (alert_xml(identifier="SW 1"), "invalid"),
        (alert_xml(identifier="SW,1"), "invalid"),
        (alert_xml(msg_type="Warning"), "invalid"),
        (alert_xml(infos=info_xml(severity="Catastrophic")), "invalid"),
        (alert_xml(infos=info_xml().replace("Met", "Weather")), "invalid"),
        (alert_xml(sent="2025-06-01T08:00:00"), "time"),  # no offset: the instant is unknown
        (alert_xml(sent="2025-06-01 08:00:00+08:00"), "time"),
        (alert_xml(sent="2025-13-01T08:00:00+08:00"), "time"),
        (alert_xml(infos=info_xml(extra="<expires>tomorrow</expires>")), "time"),
        (alert_xml(head="<references>met@example.cn,SW-0</references>"), "references"),
        (alert_xml(head="<references>met@example.cn,SW-0,yesterday</references>"), "time"),
        (alert_xml(head="<references> </references>"), "references"),
        (alert_xml(ns="http://www.incident.com/cap/1.0", head="<references>SW-0</references>"), "references"),
        (alert_xml(infos=info_xml() * (MAX_INFOS + 1)), "limit"),
        (alert_xml(infos=info_xml(area="<area><areaDesc>x</areaDesc></area>" * (MAX_AREAS + 1))), "limit"),
    ],
)
def test_rejections(document: bytes, code: str) -> None:
    assert rejected(document).code == code


def test_sent_with_z_and_fractional_seconds_is_accepted() -> None:
    assert parse_cap(alert_xml(sent="2025-06-01T00:00:00.5Z")).sent == datetime(
        2025, 6, 1, 0, 0, 0, 500_000, tzinfo=UTC
    )


def test_cap_error_carries_code_and_message() -> None:
    error = rejected(alert_xml(msg_type="Warning"))
    assert error.code == "invalid"
    assert "msgType" in error.message
    assert str(error).startswith("invalid: ")


# --- helpers for the rules --------------------------------------------------------------------------------


def test_effective_window() -> None:
    sent = "2025-06-01T08:00:00+08:00"
    onset = "<effective>2025-06-01T09:00:00+08:00</effective><onset>2025-06-01T12:00:00+08:00</onset>"
    expires = "<expires>2025-06-02T08:00:00+08:00</expires>"
    cases = [
        (onset + expires, t("2025-06-01T12:00:00+08:00"), t("2025-06-02T08:00:00+08:00")),
        ("<effective>2025-06-01T09:00:00+08:00</effective>", t("2025-06-01T09:00:00+08:00"), None),
        ("", t(sent), None),
    ]
    for extra, start, end in cases:
        alert = parse_cap(alert_xml(infos=info_xml(extra=extra), sent=sent))
        assert effective_window(alert.infos[0], alert.sent) == (start, end)


def test_seawatch_severity() -> None:
    assert [seawatch_severity(s) for s in ("Extreme", "Severe", "Moderate", "Minor", "Unknown")] == [
        "critical",
        "high",
        "medium",
        "low",
        "info",
    ]


def test_areas_geojson_merges_overlaps() -> None:
    second = "22.80,115.40 22.80,115.60 23.00,115.60 23.00,115.40 22.80,115.40"
    area = f"<area><areaDesc>a</areaDesc><polygon>{RING}</polygon><polygon>{second}</polygon></area>"
    alert = parse_cap(alert_xml(infos=info_xml(area=area)))
    geojson = areas_geojson(alert)
    assert geojson is not None
    assert geojson["type"] == "MultiPolygon"
    assert len(geojson["coordinates"]) == 1  # the two overlapping squares become one outline
    assert alert.infos[0].geometry().area == pytest.approx(0.04 + 0.04 - 0.01)


# --- fuzzing: nothing but CapError escapes -----------------------------------------------------------------

# The small reference documents: mutating the 100-460 kB ones would only slow the search down.
SEEDS = [load(name) for name in cap_files() if (CAP_DIR / name).stat().st_size < 30_000]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_reject(document: bytes) -> None:
    try:
        alert = parse_cap(document)
    except CapError:
        return
    for info in alert.infos:
        effective_window(info, alert.sent)
        for area in info.areas:
            area.to_json()
    areas_geojson(alert)


@FUZZ
@given(st.binary(max_size=2_000))
def test_random_bytes_only_raise_cap_error(document: bytes) -> None:
    parse_or_reject(document)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    document = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(document)))
        end = draw(st.integers(start, min(len(document), start + 40)))
        replacement = draw(
            st.one_of(
                st.binary(max_size=12),
                st.sampled_from(
                    [b"", b"<", b">", b"&", b",", b" ", b"-", b"0", b"9", b"</info>", b"<polygon>"]
                ),
            )
        )
        document[start:end] = replacement
    return bytes(document)


VALUE_CHARS = b"0123456789.,-+: T"


@st.composite
def value_mutated(draw: st.DrawFn) -> bytes:
    """Mutations that keep the XML well-formed and break the values instead: times, points, radii."""
    document = bytearray(draw(st.sampled_from(SEEDS)))
    positions = [i for i, byte in enumerate(document) if byte in VALUE_CHARS]
    for _ in range(draw(st.integers(1, 6))):
        document[draw(st.sampled_from(positions))] = draw(st.sampled_from(VALUE_CHARS))
    return bytes(document)


@FUZZ
@given(st.one_of(mutated(), value_mutated()))
def test_mutated_documents_only_raise_cap_error(document: bytes) -> None:
    parse_or_reject(document)


@FUZZ
@given(
    st.lists(
        st.tuples(st.floats(-91, 91, allow_nan=False), st.floats(-181, 181, allow_nan=False)),
        min_size=0,
        max_size=8,
    ),
    st.booleans(),
)
def test_random_polygons_only_raise_cap_error(points: list[tuple[float, float]], close: bool) -> None:
    if close and points:
        points = [*points, points[0]]
    parse_or_reject(polygon_doc(" ".join(f"{lat},{lon}" for lat, lon in points)))


@FUZZ
@given(st.floats(-91, 91), st.floats(-181, 181), st.floats(-1, 2_100))
def test_random_circles_only_raise_cap_error(lat: float, lon: float, radius_km: float) -> None:
    parse_or_reject(circle_doc(f"{lat},{lon} {radius_km}"))


def test_timezones_are_kept_not_converted() -> None:
    alert = parse_file("google/australia.cap")
    assert alert.sent.utcoffset() == timedelta(hours=10)
