"""Top-level decoding: wire frame or hex text in, JSON-ready record out."""

from __future__ import annotations

import string

import ingest.jt808.messages  # noqa: F401  (registers the message classes)
from ingest.jt808.errors import Jt808Error
from ingest.jt808.packet import Frame, parse_frame
from ingest.jt808.registry import MESSAGES

SOURCE = "jt808"
_HEX_TEXT = frozenset((string.hexdigits + string.whitespace).encode())


def _body_record(msg_id: int, body: bytes, version: int, utc: bool) -> dict[str, object]:
    cls = MESSAGES.get(msg_id)
    if cls is None:
        return {"kind": "raw", "body_hex": body.hex()}
    message, extra = cls.decode(body, version=version)
    out: dict[str, object] = {"kind": cls.KIND, **message.record(utc=utc)}
    if extra:  # bytes after the standard layout: vendor extensions, kept for inspection
        out["extra_hex"] = extra.hex()
    return out


def _ordered(fields: dict[str, object], header: dict[str, object]) -> dict[str, object]:
    # kind, source and ts first, then the header, then the body: easier to read in JSON Lines.
    return {"kind": fields.pop("kind"), "source": SOURCE, "ts": fields.pop("ts", None), **header, **fields}


def decode_message(frame: Frame, *, terminal_sends_utc: bool = False) -> dict[str, object]:
    """The record for a parsed frame.

    A subpackage frame becomes a ``fragment`` record (feed it to a Reassembler first to get the whole
    message); an encrypted body or an unsupported message id becomes a ``raw`` record with its body
    as hex. Raises :class:`Jt808Error` (``body``) when a supported body is too short for its layout.
    """
    head = frame.header
    header: dict[str, object] = {
        "msg_id": head.msg_id,
        "terminal": head.terminal,
        "serial": head.serial,
        "version": head.version,
        "protocol_version": head.protocol_version,
        "encryption": head.encryption,
        "checksum_ok": frame.checksum_ok,
        "length_ok": frame.length_ok,
    }
    if head.subpackage:
        fields: dict[str, object] = {
            "kind": "fragment",
            "packet_total": head.packet_total,
            "packet_index": head.packet_index,
            "body_hex": frame.body.hex(),
        }
    elif head.encryption:
        fields = {"kind": "raw", "body_hex": frame.body.hex()}
    else:
        fields = _body_record(head.msg_id, frame.body, head.version, terminal_sends_utc)
    return _ordered(fields, header)


def decode_frame(
    frame: bytes, *, terminal_sends_utc: bool = False, strict_checksum: bool = False
) -> dict[str, object]:
    """Decode one wire frame into a record; raises :class:`Jt808Error` for frames that cannot be read.

    ``ts`` is an aware UTC datetime (or None); the caller serialises. Position times are GMT+8 as the
    standard says unless ``terminal_sends_utc``.
    """
    parsed = parse_frame(frame, strict_checksum=strict_checksum)
    return decode_message(parsed, terminal_sends_utc=terminal_sends_utc)


def decode_body(
    msg_id: int, body: bytes, *, version: int = 2013, terminal_sends_utc: bool = False
) -> dict[str, object]:
    """Decode a message body on its own (no header fields in the record)."""
    fields = _body_record(msg_id, body, version, terminal_sends_utc)
    return _ordered(fields, {"msg_id": msg_id})


def decode_hex_line(
    line: str, *, terminal_sends_utc: bool = False, strict_checksum: bool = False
) -> dict[str, object]:
    """Decode one frame written as hex text (whitespace between bytes allowed), as logs and the
    reference projects' tests write them; ``seawatch decode --protocol jt808`` reads one per line."""
    text = "".join(line.split())
    if not text:
        raise Jt808Error("empty", "blank line")
    try:
        frame = bytes.fromhex(text)
    except ValueError as exc:
        raise Jt808Error("hex", f"not hex text: {text[:40]!r}") from exc
    return decode_frame(frame, terminal_sends_utc=terminal_sends_utc, strict_checksum=strict_checksum)


def looks_like_hex_text(sample: bytes) -> bool:
    """Whether the start of an input is hex text rather than binary frames (which start with 0x7e)."""
    return bool(sample.strip()) and all(byte in _HEX_TEXT for byte in sample)


def expand_batch(record: dict[str, object]) -> list[dict[str, object]]:
    """Standalone position records (with the frame's header fields) for a ``position_batch`` record;
    any other record is returned alone."""
    positions = record.get("positions")
    if record.get("kind") != "position_batch" or not isinstance(positions, list):
        return [record]
    skip = ("kind", "source", "ts", "count", "batch_type", "positions")
    header = {k: v for k, v in record.items() if k not in skip}
    return [
        {
            "kind": "position",
            "source": SOURCE,
            "ts": position.get("ts"),
            **header,
            **{k: v for k, v in position.items() if k != "ts"},
            "batch_type": record.get("batch_type"),
        }
        for position in positions
    ]
