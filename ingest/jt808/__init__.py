"""JT/T 808 (BeiDou/GNSS terminal protocol): pure decoding and encoding, no I/O.

Typical server loop::

    splitter, reassembler = FrameSplitter(), Reassembler()
    for item in splitter.feed(data):
        if isinstance(item, Problem): report(item); continue
        try:
            frame = reassembler.add(parse_frame(item))
            if frame is not None:
                for record in expand_batch(decode_message(frame)): publish(record)
        except Jt808Error as exc: report(exc.code, item)

Records (``decode_frame``/``decode_message``) all carry ``kind``, ``source`` ("jt808"), ``ts``
(aware UTC datetime or None), then the header: ``msg_id``, ``terminal`` (BCD digits; a binary IMEI
as its 15 digits), ``serial``, ``version`` (2013 or 2019), ``protocol_version`` (2019 only),
``encryption``, ``checksum_ok``, ``length_ok``. Then by kind:

- ``position`` (0x0200; 0x0201 adds ``reply_serial``): ``lat``/``lon`` (None if impossible),
  ``altitude`` (m), ``speed`` (knots), ``speed_kmh``, ``course`` (None if ≥ 360), ``fix``,
  ``alarm_bits``, ``alarms``, ``status_bits``, ``status_flags``, the known additional items
  (``mileage_km``, ``fuel_l``, ``recorder_speed_kmh``, ``alarm_event_id``, ``overspeed_area``,
  ``area_alarm``, ``route_time_alarm``, ``vehicle_signal_bits``, ``io_status_bits``, ``analog``,
  ``signal_strength``, ``gnss_satellites``) when present, and ``additional_raw`` (hex by item id).
- ``position_batch`` (0x0704): ``count``, ``batch_type`` (1 = blind-area backfill), ``positions``;
  ``expand_batch`` turns it into ``position`` records.
- ``register`` (0x0100): ``province_id``, ``city_id``, ``manufacturer_id``, ``terminal_model``,
  ``terminal_id``, ``plate_color``, ``plate``, ``layout`` (2011/2013/2019).
- ``auth`` (0x0102): ``auth_code``, ``imei`` and ``software_version`` (2019).
- ``heartbeat`` (0x0002), ``logout`` (0x0003): header only.
- ``terminal_response`` (0x0001), ``platform_response`` (0x8001): ``reply_serial``,
  ``reply_msg_id``, ``result``, ``result_name``.
- ``register_response`` (0x8100): ``reply_serial``, ``result``, ``result_name``, ``auth_code``.
- ``fragment`` (one packet of a split message): ``packet_total``, ``packet_index``, ``body_hex``.
- ``raw`` (other ids, encrypted bodies): ``body_hex``.
Bytes left over after a known layout are kept in ``extra_hex``.
"""

from ingest.jt808.decode import (
    decode_body,
    decode_frame,
    decode_hex_line,
    decode_message,
    expand_batch,
    looks_like_hex_text,
)
from ingest.jt808.encode import encode_general_response, encode_message, encode_register_response
from ingest.jt808.errors import ErrorCode, Jt808Error
from ingest.jt808.framing import build_frame, checksum, escape, unescape
from ingest.jt808.header import Header, encode_header, parse_header
from ingest.jt808.packet import Frame, parse_frame
from ingest.jt808.reassembly import Reassembler
from ingest.jt808.splitter import FrameSplitter, Problem

__all__ = [
    "ErrorCode",
    "Frame",
    "FrameSplitter",
    "Header",
    "Jt808Error",
    "Problem",
    "Reassembler",
    "build_frame",
    "checksum",
    "decode_body",
    "decode_frame",
    "decode_hex_line",
    "decode_message",
    "encode_general_response",
    "encode_header",
    "encode_message",
    "encode_register_response",
    "escape",
    "expand_batch",
    "looks_like_hex_text",
    "parse_frame",
    "parse_header",
    "unescape",
]
