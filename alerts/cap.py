"""CAP (Common Alerting Protocol) warnings: bytes in, a typed `CapAlert` out, or one `CapError`.

Pure: no I/O, no clock. The HTTP endpoint, the watched folder and the MQTT source all hand the raw
document here and store what comes back (table `weather_warnings`).

Choices worth knowing:
- Safety first: the document is size-checked before parsing, and parsed by defusedxml with DTDs,
  entities and external references all forbidden, so billion-laughs and XXE documents never expand.
- CAP 1.2 is the target; 1.1 and 1.0 are read too, as their element names are the same. CAP 1.0's
  `name=value` geocodes are split into pairs; its bare-identifier `<references>` cannot name the
  messages they mean (no sender, no sent time), so such a document is refused with code `references`.
- What seawatch acts on is checked strictly (identifiers, times, msgType, the closed enumerations,
  geometry); free text is kept as given. `Very Likely` (CAP 1.0, deprecated since 1.1) reads as `Likely`.
- An empty `<polygon/>` or `<circle/>` is treated as absent, with the area kept: the NWS sends one in
  zone-based warnings whose areas are given by geocodes. Such an area has no geometry, as does any
  CAP area described only by `areaDesc` and geocodes.
- A circle of radius 0 (an epicentre) is kept, with an empty polygon: a point contains no vessel.
- An Atom feed is reported as `CapError("feed", …)` so a caller can say "this is a feed, not an alert".
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, cast, get_args

import defusedxml
import defusedxml.ElementTree as SafeET
from shapely.geometry import MultiPolygon, Polygon

from alerts import cap_geometry
from alerts.cap_geometry import excerpt

CAP_NAMESPACES = {
    "urn:oasis:names:tc:emergency:cap:1.2": "1.2",
    "urn:oasis:names:tc:emergency:cap:1.1": "1.1",
    "http://www.incident.com/cap/1.0": "1.0",
}
ATOM_NAMESPACE = "http://www.w3.org/2005/Atom"

# Bounds, so that a hostile or broken sender costs bounded memory and time.
MAX_INFOS = 64  # one per language in practice
MAX_AREAS = 1_000  # over the whole document
MAX_POLYGON_POINTS = 10_000
MAX_REFERENCES = 1_000

CapErrorCode = Literal[
    "size",  # document larger than max_bytes
    "xml",  # not well-formed XML
    "forbidden",  # DTD, entity declaration or external reference
    "feed",  # an Atom feed, not an alert
    "not_cap",  # XML whose root is not a CAP alert
    "version",  # an alert in an unknown namespace or CAP version
    "missing",  # a required element is absent or empty
    "invalid",  # a value outside CAP's enumeration or character rules
    "time",  # a date-time not in CAP's form, or without a UTC offset
    "references",  # a malformed <references>
    "polygon",
    "circle",
    "limit",  # more infos, areas, points or references than the bounds above
]
Status = Literal["Actual", "Exercise", "System", "Test", "Draft"]
MsgType = Literal["Alert", "Update", "Cancel", "Ack", "Error"]
Scope = Literal["Public", "Restricted", "Private"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Certainty = Literal["Observed", "Likely", "Possible", "Unlikely", "Unknown"]
Category = Literal[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
]
AlertSeverity = Literal["critical", "high", "medium", "low", "info"]

_STATUSES: tuple[Status, ...] = get_args(Status)
_MSG_TYPES: tuple[MsgType, ...] = get_args(MsgType)
_SCOPES: tuple[Scope, ...] = get_args(Scope)
_URGENCIES: tuple[Urgency, ...] = get_args(Urgency)
_SEVERITIES: tuple[Severity, ...] = get_args(Severity)
_CERTAINTIES: tuple[Certainty, ...] = get_args(Certainty)
_CATEGORIES: tuple[Category, ...] = get_args(Category)

_SEVERITY_MAP: dict[Severity, AlertSeverity] = {
    "Extreme": "critical",
    "Severe": "high",
    "Moderate": "medium",
    "Minor": "low",
    "Unknown": "info",
}
# CAP's date-time: seconds always present, an explicit offset always present (`Z` tolerated, as real
# feeds use it); fractional seconds tolerated for the same reason.
_DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:[+-]\d\d:\d\d|Z)")
# Identifiers and senders end up comma- and space-separated inside other messages' <references>.
_BAD_ID_CHARS = re.compile(r"[\s,<&]")

_L = TypeVar("_L", bound=str)


class CapError(Exception):
    """Any reason a document is not accepted. `code` is one of `CapErrorCode`, for callers to branch on."""

    def __init__(self, code: CapErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code: CapErrorCode = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Reference:
    """One earlier message named in `<references>`."""

    sender: str
    identifier: str
    sent: datetime


@dataclass(frozen=True, slots=True)
class CapCircle:
    lat: float
    lon: float
    radius_km: float
    polygon: Polygon  # lon/lat; empty when radius_km is 0


@dataclass(frozen=True, slots=True)
class CapArea:
    area_desc: str
    polygons: tuple[Polygon, ...]  # lon/lat, rings as sent
    circles: tuple[CapCircle, ...]
    geocodes: tuple[tuple[str, str], ...]  # (valueName, value)

    def geometry(self) -> MultiPolygon:
        """Polygons and circles as one valid MultiPolygon (empty when the area has no geometry)."""
        return cap_geometry.merge([*self.polygons, *(circle.polygon for circle in self.circles)])

    def to_json(self) -> dict[str, Any]:
        """The area for a jsonb column: the geometry as GeoJSON (or null), circles and geocodes as sent."""
        geometry = self.geometry()
        return {
            "area_desc": self.area_desc,
            "geometry": None if geometry.is_empty else cap_geometry.geojson(geometry),
            "circles": [{"lat": c.lat, "lon": c.lon, "radius_km": c.radius_km} for c in self.circles],
            "geocodes": [list(pair) for pair in self.geocodes],
        }


@dataclass(frozen=True, slots=True)
class CapInfo:
    language: str
    categories: tuple[Category, ...]
    event: str
    urgency: Urgency
    severity: Severity
    certainty: Certainty
    headline: str | None
    description: str | None
    instruction: str | None
    effective: datetime | None
    onset: datetime | None
    expires: datetime | None
    areas: tuple[CapArea, ...]

    def geometry(self) -> MultiPolygon:
        """All areas of this info as one valid MultiPolygon (empty when none has geometry)."""
        return cap_geometry.merge(area.geometry() for area in self.areas)


@dataclass(frozen=True, slots=True)
class CapAlert:
    version: str  # "1.2", "1.1" or "1.0"
    identifier: str
    sender: str
    sent: datetime
    status: Status
    msg_type: MsgType
    scope: Scope
    references: tuple[Reference, ...]
    infos: tuple[CapInfo, ...]


def areas_geojson(alert_or_info: CapAlert | CapInfo) -> dict[str, Any] | None:
    """All areas (of one info, or of every info of an alert) as one GeoJSON MultiPolygon; None if none."""
    infos = alert_or_info.infos if isinstance(alert_or_info, CapAlert) else (alert_or_info,)
    merged = cap_geometry.merge(info.geometry() for info in infos)
    return None if merged.is_empty else cap_geometry.geojson(merged)


def effective_window(info: CapInfo, sent: datetime) -> tuple[datetime, datetime | None]:
    """When the warning applies: from onset, else effective, else the alert's sent time; until expires
    (None: until cancelled or updated)."""
    return (info.onset or info.effective or sent, info.expires)


def seawatch_severity(severity: Severity) -> AlertSeverity:
    """CAP severity → the severity of the seawatch `weather` alert."""
    return _SEVERITY_MAP[severity]


def parse_cap(document: bytes, *, max_bytes: int = 1_000_000) -> CapAlert:
    """Parse one CAP alert document. Raises `CapError` and nothing else for anything not acceptable."""
    if len(document) > max_bytes:
        raise CapError("size", f"document is {len(document)} bytes, more than the {max_bytes} allowed")
    root = _parse_xml(document)
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    if namespace == ATOM_NAMESPACE and local in ("feed", "entry"):
        raise CapError("feed", "this is an Atom feed; post each CAP alert it links to instead")
    if local != "alert":
        raise CapError("not_cap", f"the root element is <{local}>, not a CAP <alert>")
    version = CAP_NAMESPACES.get(namespace)
    if version is None:
        raise CapError("version", f"unsupported alert namespace {namespace!r}; CAP 1.2, 1.1 or 1.0 expected")
    return _Reader(namespace, version).alert(root)


def _parse_xml(document: bytes) -> ET.Element:
    try:
        root = SafeET.fromstring(document, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        refused = type(exc).__name__
        raise CapError(
            "forbidden", f"DTDs, entities and external references are refused ({refused})"
        ) from None
    except ET.ParseError as exc:
        raise CapError("xml", f"not well-formed XML: {exc}") from None
    except (LookupError, ValueError) as exc:  # encoding="…" unknown, or multi-byte (UTF-7) and so unsupported
        raise CapError("xml", f"unusable XML encoding: {exc}") from None
    return cast(ET.Element, root)


class _Reader:
    """Reads elements of one CAP namespace; holds the version for the 1.0 special cases."""

    def __init__(self, namespace: str, version: str) -> None:
        self.ns = "{" + namespace + "}"
        self.version = version

    def alert(self, root: ET.Element) -> CapAlert:
        identifier = self.identifier(root, "identifier")
        sender = self.identifier(root, "sender")
        sent = _time(self.required(root, "sent"), "sent")
        status = _enum(self.required(root, "status"), _STATUSES, "status")
        msg_type = _enum(self.required(root, "msgType"), _MSG_TYPES, "msgType")
        scope = _enum(self.required(root, "scope"), _SCOPES, "scope")
        references = self.references(root)
        info_elements = root.findall(self.ns + "info")
        if len(info_elements) > MAX_INFOS:
            raise CapError("limit", f"{len(info_elements)} <info> blocks, more than {MAX_INFOS}")
        area_count = sum(len(info.findall(self.ns + "area")) for info in info_elements)
        if area_count > MAX_AREAS:
            raise CapError("limit", f"{area_count} <area> blocks, more than {MAX_AREAS}")
        infos = tuple(self.info(info) for info in info_elements)
        return CapAlert(self.version, identifier, sender, sent, status, msg_type, scope, references, infos)

    def references(self, root: ET.Element) -> tuple[Reference, ...]:
        element = root.find(self.ns + "references")
        if element is None:
            return ()
        tokens = (element.text or "").split()
        if not tokens:
            # An empty <references/> usually means the sender meant to cite something and lost it.
            raise CapError("references", "<references> is present but empty")
        if len(tokens) > MAX_REFERENCES:
            raise CapError("limit", f"{len(tokens)} references, more than {MAX_REFERENCES}")
        refs = []
        for token in tokens:
            parts = token.split(",")
            if len(parts) != 3 or not all(parts):
                if self.version == "1.0" and "," not in token:
                    raise CapError(
                        "references", "CAP 1.0 references give identifiers only; send CAP 1.1 or 1.2"
                    )
                raise CapError("references", f"{excerpt(token)} is not 'sender,identifier,sent'")
            refs.append(Reference(parts[0], parts[1], _time(parts[2], "references")))
        return tuple(refs)

    def info(self, element: ET.Element) -> CapInfo:
        categories = tuple(
            _enum(_strip(c.text), _CATEGORIES, "category") for c in self.all(element, "category")
        )
        if not categories:
            raise CapError("missing", "<category> is missing in <info>")
        certainty = self.required(element, "certainty", "info")
        return CapInfo(
            language=self.optional(element, "language") or "en-US",  # CAP's stated default
            categories=categories,
            event=self.required(element, "event", "info"),
            urgency=_enum(self.required(element, "urgency", "info"), _URGENCIES, "urgency"),
            severity=_enum(self.required(element, "severity", "info"), _SEVERITIES, "severity"),
            certainty=_enum("Likely" if certainty == "Very Likely" else certainty, _CERTAINTIES, "certainty"),
            headline=self.optional(element, "headline"),
            description=self.optional(element, "description"),
            instruction=self.optional(element, "instruction"),
            effective=self.optional_time(element, "effective"),
            onset=self.optional_time(element, "onset"),
            expires=self.optional_time(element, "expires"),
            areas=tuple(self.area(area) for area in self.all(element, "area")),
        )

    def area(self, element: ET.Element) -> CapArea:
        polygons = []
        for polygon in self.all(element, "polygon"):
            text = _strip(polygon.text)
            if not text:
                continue  # empty <polygon/>: see the module docstring
            points = len(text.split())
            if points > MAX_POLYGON_POINTS:
                raise CapError("limit", f"a polygon of {points} points, more than {MAX_POLYGON_POINTS}")
            try:
                polygons.append(cap_geometry.parse_polygon(text))
            except ValueError as exc:
                raise CapError("polygon", str(exc)) from None
        circles = []
        for circle in self.all(element, "circle"):
            text = _strip(circle.text)
            if not text:
                continue
            try:
                lon, lat, radius_km = cap_geometry.parse_circle(text)
            except ValueError as exc:
                raise CapError("circle", str(exc)) from None
            circles.append(CapCircle(lat, lon, radius_km, cap_geometry.circle_polygon(lon, lat, radius_km)))
        return CapArea(
            area_desc=self.required(element, "areaDesc", "area"),
            polygons=tuple(polygons),
            circles=tuple(circles),
            geocodes=tuple(self.pair(geocode) for geocode in self.all(element, "geocode")),
        )

    def pair(self, element: ET.Element) -> tuple[str, str]:
        if self.version == "1.0":  # CAP 1.0 writes <geocode>fips6=006109</geocode>
            name, _, value = _strip(element.text).partition("=")
            return name.strip(), value.strip()
        return self.optional(element, "valueName") or "", self.optional(element, "value") or ""

    # --- element access -----------------------------------------------------------------------------

    def all(self, parent: ET.Element, name: str) -> list[ET.Element]:
        return parent.findall(self.ns + name)

    def optional(self, parent: ET.Element, name: str) -> str | None:
        element = parent.find(self.ns + name)
        return (_strip(element.text) or None) if element is not None else None

    def required(self, parent: ET.Element, name: str, where: str = "alert") -> str:
        value = self.optional(parent, name)
        if value is None:
            raise CapError("missing", f"<{name}> is missing or empty in <{where}>")
        return value

    def identifier(self, parent: ET.Element, name: str) -> str:
        value = self.required(parent, name)
        if _BAD_ID_CHARS.search(value):
            raise CapError("invalid", f"<{name}> {excerpt(value)} contains a space, comma, '<' or '&'")
        return value

    def optional_time(self, parent: ET.Element, name: str) -> datetime | None:
        value = self.optional(parent, name)
        return None if value is None else _time(value, name)


def _time(text: str, name: str) -> datetime:
    if _DATETIME.fullmatch(text) is None:
        raise CapError("time", f"<{name}> {excerpt(text)} is not a CAP date-time with a UTC offset")
    try:
        return datetime.fromisoformat(text)
    except ValueError:  # right shape, impossible value (month 13, hour 25, …)
        raise CapError("time", f"<{name}> {excerpt(text)} is not a valid date-time") from None


def _enum(value: str, allowed: tuple[_L, ...], name: str) -> _L:
    """`value` as a member of a closed CAP enumeration (the values of one of the Literal types above)."""
    for option in allowed:
        if option == value:
            return option
    raise CapError("invalid", f"<{name}> {excerpt(value)} is not one of {', '.join(allowed)}")


def _strip(text: str | None) -> str:
    return (text or "").strip()
