"""A simulated BeiDou safety terminal speaking JT/T 808 (2013) over TCP, as the real ones do.

On connecting it registers (0x0100), takes the authentication code from the platform's answer
(0x8100) and authenticates with it (0x0102); then it sends location reports (0x0200, time in BCD,
GMT+8 as the standard fixes) and heartbeats (0x0002). A lost connection is opened again, with the
whole handshake, on the next message: a message that cannot be sent is lost. Reports a terminal
stored while out of coverage go up as 0x0704 batches (type 1, blind-area supplementary) with `batch`.
The platform's answers are read by a task of their own; `acked` counts 0x0200 reports the platform
confirmed, `batches_acked` 0x0704 batches.

Frames are built by the project's own codec (`ingest.jt808.encode_message`), the same one the server
decodes with.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime

from ingest.jt808 import FrameSplitter, Jt808Error, Problem, decode_message, encode_message, parse_frame
from ingest.jt808.alarms import STATUS_POSITIONED, STATUS_SOUTH, STATUS_WEST
from ingest.jt808.bcd import CHINA_TZ
from ingest.jt808.messages import (
    BatchLocationUpload,
    Heartbeat,
    LocationReport,
    TerminalAuth,
    TerminalRegister,
)

log = logging.getLogger(__name__)

ANSWER_TIMEOUT_S = 10.0
BLIND_AREA = 1  # 0x0704 batch type: positions stored while out of coverage
KMH_PER_KNOT = 1.852
STATUS_ACC_ON = 1 << 0


class AuthRefused(ConnectionError):
    """The platform did not accept the terminal's authentication code."""


def bcd_time(when: datetime) -> str:
    """YYMMDDhhmmss in GMT+8."""
    return when.astimezone(CHINA_TZ).strftime("%y%m%d%H%M%S")


def location_report(
    *, lon: float, lat: float, knots: float, course: float, when: datetime, alarm_bits: int = 0
) -> LocationReport:
    status = STATUS_ACC_ON | STATUS_POSITIONED
    status |= STATUS_SOUTH if lat < 0 else 0
    status |= STATUS_WEST if lon < 0 else 0
    return LocationReport(
        alarm_bits=alarm_bits,
        status_bits=status,
        lat_e6=round(abs(lat) * 1e6),
        lon_e6=round(abs(lon) * 1e6),
        altitude=0,
        speed_dkmh=round(knots * KMH_PER_KNOT * 10),
        course=round(course) % 360,
        time=bcd_time(when),
    )


class Jt808Terminal:
    def __init__(self, host: str, port: int, terminal: str, *, plate: str = "") -> None:
        self.host = host
        self.port = port
        self.terminal = terminal
        self.plate = plate or f"SIM{terminal[-5:]}"
        self.serial = 0
        self.acked = 0
        self.batches_acked = 0
        self.sent = 0
        self.lost = 0
        self.sessions = 0
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._answers: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        self._listener: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()

    def _next_serial(self) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial

    async def report(self, report: LocationReport) -> None:
        await self._send(encode_message(report, terminal=self.terminal, serial=self._next_serial()))

    async def batch(self, reports: list[LocationReport], *, batch_type: int = BLIND_AREA) -> None:
        message = BatchLocationUpload(count=len(reports), batch_type=batch_type, positions=tuple(reports))
        await self._send(encode_message(message, terminal=self.terminal, serial=self._next_serial()))

    async def heartbeat(self) -> None:
        await self._send(encode_message(Heartbeat(), terminal=self.terminal, serial=self._next_serial()))

    async def _send(self, frame: bytes) -> None:
        async with self._lock:
            try:
                writer = await self._session()
                writer.write(frame)
                await writer.drain()
                self.sent += 1
            except (OSError, TimeoutError, Jt808Error) as exc:
                self.lost += 1
                log.info("terminal %s: %s; message lost, reconnecting on the next one", self.terminal, exc)
                await self.close()

    async def _session(self) -> asyncio.StreamWriter:
        if self._writer is not None and not self._writer.is_closing():
            return self._writer
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            reader, writer = await asyncio.open_connection(self.host, self.port)
        self._reader, self._writer = reader, writer
        self._answers = asyncio.Queue()
        self._listener = asyncio.create_task(
            self._listen(reader, writer), name=f"jt808-terminal-{self.terminal}"
        )
        register = TerminalRegister(
            province_id=44,  # Guangdong
            city_id=1500,  # Shanwei
            manufacturer_id="SIMUL",
            terminal_model="SEAWATCH-SIM",
            terminal_id=self.terminal[-7:],
            plate_color=0,
            plate=self.plate,
            layout=2013,
        )
        writer.write(encode_message(register, terminal=self.terminal, serial=self._next_serial()))
        await writer.drain()
        answer = await self._answer("register_response")
        code = str(answer.get("auth_code") or "")
        writer.write(
            encode_message(
                TerminalAuth(auth_code=code, imei="", software_version=""),
                terminal=self.terminal,
                serial=self._next_serial(),
            )
        )
        await writer.drain()
        auth = await self._answer("platform_response")
        if auth.get("result") != 0:
            raise AuthRefused(f"authentication refused (result {auth.get('result')})")
        self.sessions += 1
        return writer

    async def _answer(self, kind: str) -> dict[str, object]:
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            while True:
                answer = await self._answers.get()
                if answer.get("kind") == kind:
                    return answer

    async def _listen(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        splitter = FrameSplitter()
        while True:
            data = await reader.read(4096)
            if not data:
                # The platform hung up (an idle timeout, say): closing our side makes the next message
                # open a new session instead of vanishing into a dead one.
                writer.close()
                return
            for item in splitter.feed(data):
                if isinstance(item, Problem):
                    continue
                try:
                    record = decode_message(parse_frame(item))
                except Jt808Error:
                    continue
                if record.get("kind") == "platform_response" and record.get("result") == 0:
                    replied = record.get("reply_msg_id")
                    self.acked += replied == LocationReport.MSG_ID
                    self.batches_acked += replied == BatchLocationUpload.MSG_ID
                self._answers.put_nowait(record)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            # asyncio.wait never raises the listener's error, and never swallows our own cancellation.
            await asyncio.wait([self._listener], timeout=ANSWER_TIMEOUT_S)
            self._listener = None
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = None
