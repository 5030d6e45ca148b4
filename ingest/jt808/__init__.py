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
