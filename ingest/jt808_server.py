"""The JT/T 808 TCP server: BeiDou/GNSS safety terminals connect here.

Per connection: frames are split and unescaped, split messages reassembled, and each message answered
as the standard asks. A report is acknowledged (0x8001, result 0) only after its records are durable,
so a terminal that gets no answer sends again and nothing it was told is stored is lost. A connection
that keeps sending malformed frames, stays silent too long or sends oversize frames is closed alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ingest.jt808 import (
    FrameSplitter,
    Jt808Error,
    Reassembler,
    decode_message,
    encode_general_response,
    encode_register_response,
    expand_batch,
    parse_frame,
)
from ingest.jt808 import Problem as FrameProblem
from ingest.jt808.encode import RESULT_FAILURE, RESULT_NOT_SUPPORTED, RESULT_OK
from ingest.jt808.packet import Frame
from ingest.metrics import DECODED, FEED_CONNECTED, INVALID, MESSAGES_IN
from ingest.pipeline import RecordSink
from ingest.terminal_auth import TerminalAuthStore
from seawatch.settings import Jt808Settings

log = logging.getLogger(__name__)

FEED = "jt808"
READ_CHUNK = 4096
# Messages whose records are stored; everything else is answered without storing.
STORED_KINDS = frozenset({"position", "position_batch", "register", "auth", "logout"})
ANSWERED_OK = frozenset({0x0002, 0x0003, 0x0200, 0x0704, 0x0102, 0x0001})
REGISTER, AUTH, HEARTBEAT, LOGOUT, TERMINAL_RESPONSE = 0x0100, 0x0102, 0x0002, 0x0003, 0x0001
REPORTS = frozenset({0x0200, 0x0704})

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class TerminalSession:
    """One TCP connection from one terminal."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        settings: Jt808Settings,
        sink: RecordSink,
        auth: TerminalAuthStore,
        clock: Clock = utc_now,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.settings = settings
        self.sink = sink
        self.auth = auth
        self.clock = clock
        self.peer = _peer(writer)
        self.splitter = FrameSplitter(settings.max_frame_bytes)
        self.reassembler = Reassembler()
        self.bad_frames = 0
        self.serial = 0
        self.terminal: str | None = None
        self.authenticated = False
        self.closing = False

    async def run(self) -> None:
        try:
            while not self.closing:
                try:
                    data = await asyncio.wait_for(self.reader.read(READ_CHUNK), self.settings.idle_timeout_s)
                except TimeoutError:
                    log.info("jt808 %s: idle for %.0f s, closing", self.peer, self.settings.idle_timeout_s)
                    return
                if not data:
                    return
                for item in self.splitter.feed(data):
                    if isinstance(item, FrameProblem):
                        self._bad(f"frame_{item.code}", f"{item.size} bytes skipped")
                    else:
                        await self._frame(item)
                    if self.bad_frames >= self.settings.max_bad_frames:
                        log.warning("jt808 %s: %d malformed frames, closing", self.peer, self.bad_frames)
                        return
        except (ConnectionError, OSError) as exc:
            log.info("jt808 %s: connection lost: %s", self.peer, exc)
        finally:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()

    def _bad(self, reason: str, detail: str) -> None:
        self.bad_frames += 1
        INVALID.labels(FEED, reason).inc()
        log.debug("jt808 %s: bad frame (%s): %s", self.peer, reason, detail)

    async def _frame(self, raw: bytes) -> None:
        MESSAGES_IN.labels(FEED).inc()
        try:
            packet = parse_frame(raw)
            frame = self.reassembler.add(packet)
            if frame is None:  # a packet of a split message; answered when complete
                await self._reply_general(packet, RESULT_OK)
                return
            utc = frame.header.terminal in self.settings.utc_terminals
            record = decode_message(frame, terminal_sends_utc=utc)
        except Jt808Error as exc:
            self._bad(exc.code, str(exc))
            return
        DECODED.labels(FEED).inc()
        self.terminal = frame.header.terminal
        await self._dispatch(frame, record)

    async def _dispatch(self, frame: Frame, record: dict[str, Any]) -> None:
        msg_id = frame.header.msg_id
        if msg_id == REGISTER:
            await self._register(frame, record)
        elif msg_id == AUTH:
            await self._authenticate(frame, record)
        elif msg_id in (HEARTBEAT, TERMINAL_RESPONSE):
            if msg_id == HEARTBEAT:
                await self._reply_general(frame, RESULT_OK)
        elif msg_id in REPORTS:
            await self._report(frame, record)
        elif msg_id == LOGOUT:
            await self._store([record])
            await self._reply_general(frame, RESULT_OK)
            self.closing = True
        else:
            await self._reply_general(frame, RESULT_NOT_SUPPORTED)

    async def _register(self, frame: Frame, record: dict[str, Any]) -> None:
        registration = {
            k: record.get(k)
            for k in (
                "province_id",
                "city_id",
                "manufacturer_id",
                "terminal_model",
                "terminal_id",
                "plate_color",
                "plate",
            )
        }
        code = await self.auth.register(frame.header.terminal, registration)
        await self._store([record])
        self._send(
            encode_register_response(
                terminal=frame.header.terminal,
                serial=self._next_serial(),
                reply_serial=frame.header.serial,
                result=RESULT_OK,
                auth_code=code,
                **_version(frame),
            )
        )
        log.info("jt808 %s: terminal %s registered", self.peer, frame.header.terminal)

    async def _authenticate(self, frame: Frame, record: dict[str, Any]) -> None:
        ok = await self.auth.authenticate(frame.header.terminal, str(record.get("auth_code", "")))
        self.authenticated = ok
        record["authenticated"] = ok
        await self._store([record])
        await self._reply_general(frame, RESULT_OK if ok else RESULT_FAILURE)
        if not ok:
            log.warning("jt808 %s: terminal %s failed authentication", self.peer, frame.header.terminal)

    async def _report(self, frame: Frame, record: dict[str, Any]) -> None:
        if not self.authenticated and self.settings.registration == "required":
            await self._reply_general(frame, RESULT_FAILURE)
            return
        records = expand_batch(record)
        if not self.authenticated:
            for each in records:
                each["unauthenticated"] = True
        # The positions table keeps the track, not alarm flags: an alarm also goes to the events table so
        # the emergency button and every other alarm stay in the vessel's history.
        records += [{**each, "kind": "alarm"} for each in records if each.get("alarm_bits")]
        if await self._store(records):
            await self._reply_general(frame, RESULT_OK)
        # Not stored: no answer, so the terminal keeps the report and sends it again.

    async def _store(self, records: list[dict[str, Any]]) -> bool:
        received_at = self.clock()
        futures = []
        for record in records:
            record["feed"] = FEED
            record["received_at"] = received_at
            record["peer"] = self.peer
            futures.append(await self.sink.put(record))
        results = await asyncio.gather(*futures, return_exceptions=True)
        failed = [r for r in results if isinstance(r, BaseException)]
        if failed:
            log.error("jt808 %s: %d record(s) not stored: %s", self.peer, len(failed), failed[0])
        return not failed

    async def _reply_general(self, frame: Frame, result: int) -> None:
        self._send(
            encode_general_response(
                terminal=frame.header.terminal,
                serial=self._next_serial(),
                reply_serial=frame.header.serial,
                reply_msg_id=frame.header.msg_id,
                result=result,
                **_version(frame),
            )
        )
        await self.writer.drain()

    def _send(self, data: bytes) -> None:
        self.writer.write(data)

    def _next_serial(self) -> int:
        self.serial = (self.serial + 1) & 0xFFFF
        return self.serial


def _version(frame: Frame) -> dict[str, int]:
    # Answer in the header version the terminal used.
    return {"version": frame.header.version, "protocol_version": frame.header.protocol_version or 1}


def _peer(writer: asyncio.StreamWriter) -> str:
    info = writer.get_extra_info("peername")
    return f"{info[0]}:{info[1]}" if isinstance(info, tuple) else str(info)


class Jt808Server:
    """Accepts terminal connections until cancelled; a supervised component."""

    def __init__(
        self, settings: Jt808Settings, sink: RecordSink, auth: TerminalAuthStore, *, clock: Clock = utc_now
    ) -> None:
        self.settings = settings
        self.sink = sink
        self.auth = auth
        self.clock = clock
        self.sessions: set[asyncio.Task[None]] = set()
        self.port: int | None = None
        self.listening = asyncio.Event()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if len(self.sessions) >= self.settings.max_connections:
            log.warning(
                "jt808: connection limit %d reached, refusing %s",
                self.settings.max_connections,
                _peer(writer),
            )
            writer.close()
            return
        session = TerminalSession(
            reader, writer, settings=self.settings, sink=self.sink, auth=self.auth, clock=self.clock
        )
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)
        try:
            await session.run()
        except asyncio.CancelledError:
            # Server shutdown. Returning normally keeps asyncio's stream callback from logging the
            # cancellation of this connection's task as an error.
            pass
        finally:
            self.sessions.discard(task)

    async def run(self) -> None:
        server = await asyncio.start_server(self._accept, self.settings.host, self.settings.port)
        self.port = int(server.sockets[0].getsockname()[1])
        FEED_CONNECTED.labels(FEED).set(1)
        log.info("JT/T 808 server listening on %s:%d", self.settings.host, self.port)
        self.listening.set()
        try:
            async with server:
                await server.serve_forever()
        finally:
            FEED_CONNECTED.labels(FEED).set(0)
            for task in list(self.sessions):
                task.cancel()
            if self.sessions:
                await asyncio.wait(set(self.sessions), timeout=5)
