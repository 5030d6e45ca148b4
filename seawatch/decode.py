"""`seawatch decode`: records as JSON Lines on stdout, problems as JSON Lines on stderr.

`seawatch decode` is a filter that runs in shell pipelines, so it starts without the service's imports:
`seawatch.cli` hands ``decode`` to `main` here before it loads settings or builds its parser, and
the decoders are imported only once the arguments are read.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import orjson

if TYPE_CHECKING:
    from ingest.decode_stream import Protocol

JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
#: Output is written in batches of this many lines: one write per line costs more than encoding it.
WRITE_BATCH = 2048


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `seawatch decode` (besides the common --config and --db)."""
    parser.add_argument("--protocol", choices=["auto", "nmea", "jt808"], default="auto")
    parser.add_argument(
        "file", nargs="?", default="-", metavar="FILE|-", help="input (default: standard input)"
    )


def main(argv: Sequence[str]) -> int | None:
    """`seawatch decode ARGS` without the rest of the command line; None where `seawatch.cli` must run it.

    A ``--config`` file is read for its settings by the full command line (and refused there when it is
    bad); decoding itself uses no setting.
    """
    if any(arg == "--config" or arg.startswith("--config=") for arg in argv):
        return None
    parser = argparse.ArgumentParser(
        prog="seawatch decode", description="decode NMEA or JT/T 808 to JSON Lines (problems on stderr)"
    )
    parser.add_argument("--config", type=Path, metavar="FILE", help="TOML settings file")
    parser.add_argument("--db", metavar="DSN", help="database; overrides SEAWATCH_DATABASE_URL")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        run_decode(args.file, args.protocol, sys.stdout.buffer, sys.stderr.buffer)
    except OSError as exc:
        print(f"seawatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def run_decode(source: str, protocol: Protocol, out: IO[bytes], err: IO[bytes]) -> None:
    """Decode `source` (a path, or `-` for stdin). Raises OSError only if the input cannot be read."""
    from ingest.decode_stream import decode_stream

    dumps = orjson.dumps
    records: list[bytes] = []
    problems: list[bytes] = []
    with ExitStack() as stack:
        stream: BinaryIO = sys.stdin.buffer if source == "-" else stack.enter_context(Path(source).open("rb"))
        for item in decode_stream(stream, protocol):
            line = dumps(item, option=JSON_OPTIONS, default=_default)
            (problems if "error" in item else records).append(line)
            if len(records) + len(problems) >= WRITE_BATCH:
                _write(out, records, err, problems)
    _write(out, records, err, problems)
    out.flush()
    err.flush()


def _write(out: IO[bytes], records: list[bytes], err: IO[bytes], problems: list[bytes]) -> None:
    if problems:
        err.write(b"".join(problems))
        problems.clear()
    if records:
        out.write(b"".join(records))
        records.clear()


def _default(value: Any) -> str:
    return str(value)
