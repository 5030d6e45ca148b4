"""`seawatch decode`: records as JSON Lines on stdout, problems as JSON Lines on stderr."""

from __future__ import annotations

import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, BinaryIO

import orjson

from ingest.decode_stream import Protocol, decode_stream

JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE


def _json(value: Any) -> bytes:
    return orjson.dumps(value, option=JSON_OPTIONS, default=str)


def run_decode(source: str, protocol: Protocol, out: IO[bytes], err: IO[bytes]) -> None:
    """Decode `source` (a path, or `-` for stdin). Raises OSError only if the input cannot be read."""
    with ExitStack() as stack:
        stream: BinaryIO = sys.stdin.buffer if source == "-" else stack.enter_context(Path(source).open("rb"))
        for item in decode_stream(stream, protocol):
            if "error" in item:
                err.write(_json(item))
            else:
                out.write(_json(item))
    out.flush()
    err.flush()
