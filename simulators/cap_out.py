"""CAP warnings out: a CAP 1.2 typhoon warning with a return-to-port deadline, POSTed to seawatch's
`/api/weather/cap` with a bearer token (a role with `weather.write`: operator, dispatcher or admin).

In a drill the document's `status` is `Exercise`, which the weather rule treats as a drill warning, so
its alerts are drill alerts and go only to drill channels; `Actual` is for a real warning service.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from xml.sax.saxutils import escape

import httpx

from ingest.jt808.bcd import CHINA_TZ

log = logging.getLogger(__name__)

SENDER = "simulator@seawatch.invalid"


def typhoon_cap(
    *,
    identifier: str,
    sent: datetime,
    area: Sequence[tuple[float, float]],
    onset: datetime,
    expires: datetime,
    deadline: datetime,
    headline: str,
    drill: bool = True,
) -> bytes:
    """A CAP 1.2 alert, Chinese and English infos, for the polygon `area` (lon, lat pairs)."""
    ring = list(area)
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    polygon = " ".join(f"{lat:.5f},{lon:.5f}" for lon, lat in ring)  # CAP writes lat,lon
    by = deadline.astimezone(CHINA_TZ).strftime("%H:%M")

    def stamp(when: datetime) -> str:
        return when.astimezone(CHINA_TZ).isoformat(timespec="seconds")

    infos = []
    for language, event, instruction in (
        ("zh-CN", "台风预警", f"所有渔船须于北京时间{by}前回港避风。"),
        ("en-US", "Typhoon warning", f"All fishing vessels must be back in port by {by} (Beijing time)."),
    ):
        infos.append(
            f"<info><language>{language}</language><category>Met</category><event>{event}</event>"
            "<urgency>Expected</urgency><severity>Severe</severity><certainty>Likely</certainty>"
            f"<effective>{stamp(sent)}</effective><onset>{stamp(onset)}</onset>"
            f"<expires>{stamp(expires)}</expires><headline>{escape(headline)}</headline>"
            f"<instruction>{escape(instruction)}</instruction>"
            "<parameter><valueName>return_to_port_by</valueName>"
            f"<value>{stamp(deadline)}</value></parameter>"
            "<area><areaDesc>Shanwei coastal waters</areaDesc>"
            f"<polygon>{polygon}</polygon></area></info>"
        )
    status = "Exercise" if drill else "Actual"
    document = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">'
        f"<identifier>{escape(identifier)}</identifier><sender>{SENDER}</sender>"
        f"<sent>{stamp(sent)}</sent><status>{status}</status><msgType>Alert</msgType>"
        f"<scope>Public</scope>{''.join(infos)}</alert>"
    )
    return document.encode()


class CapPoster:
    """Sends CAP documents to a seawatch API; a refusal or an unreachable API is logged, not raised."""

    def __init__(self, api_url: str, token: str, *, timeout_s: float = 10.0) -> None:
        self.url = api_url.rstrip("/") + "/api/weather/cap"
        self.token = token
        self.timeout_s = timeout_s
        self.sent = 0
        self.failed = 0

    async def post(self, document: bytes) -> bool:
        try:
            async with httpx.AsyncClient(timeout=self.timeout_s) as http:
                answer = await http.post(
                    self.url,
                    content=document,
                    headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/xml"},
                )
        except httpx.HTTPError as exc:
            self.failed += 1
            log.warning("CAP warning not delivered to %s: %s", self.url, exc)
            return False
        if answer.status_code not in (200, 201):
            self.failed += 1
            log.warning("CAP warning refused by %s: %d %s", self.url, answer.status_code, answer.text[:300])
            return False
        self.sent += 1
        return True
