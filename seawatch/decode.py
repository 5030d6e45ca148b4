"""`seawatch decode`: records as JSON Lines on stdout, problems as JSON Lines on stderr.

`seawatch decode` is a filter that runs in shell pipelines, so it starts without the service's imports:
`seawatch.cli` hands ``decode`` to `main` here before it loads settings or builds its parser, and
the decoders are imported only once the arguments are read.

NMEA input is decoded by ``--jobs`` worker processes (default: one per core). The main process cuts the
input into chunks that decode independently (`ingest.decode_stream.nmea_chunks`: never inside a
multi-sentence group), the workers decode and encode them, and the main process writes their output in
input order, holding at most a few chunks per worker. JT/T 808 input is decoded in the main process.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import orjson

if TYPE_CHECKING:
    from ingest.decode_stream import Protocol

JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
#: Output is encoded and written in batches of this many lines.
ENCODE_BATCH = 256
#: Bytes per chunk handed to a worker (about 3,000 lines), and chunks in flight per worker.
CHUNK_BYTES = 256 * 1024
CHUNKS_PER_JOB = 3


def default_jobs() -> int:
    """One worker per core this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _jobs(text: str) -> int:
    jobs = int(text)
    if jobs < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return jobs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `seawatch decode` (besides the common --config and --db)."""
    parser.add_argument("--protocol", choices=["auto", "nmea", "jt808"], default="auto")
    parser.add_argument(
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="processes decoding NMEA in parallel (default: one per core); output stays in input order",
    )
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
        run_decode(args.file, args.protocol, sys.stdout.buffer, sys.stderr.buffer, jobs=args.jobs)
    except OSError as exc:
        print(f"seawatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


def run_decode(
    source: str,
    protocol: Protocol,
    out: IO[bytes],
    err: IO[bytes],
    *,
    jobs: int | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> None:
    """Decode `source` (a path, or `-` for stdin). Raises OSError only if the input cannot be read."""
    from ingest.decode_stream import decode_stream, nmea_chunks, sniff

    jobs = default_jobs() if jobs is None else jobs
    with ExitStack() as stack:
        stream: BinaryIO = sys.stdin.buffer if source == "-" else stack.enter_context(Path(source).open("rb"))
        chosen, _, whole = sniff(stream, protocol)
        if chosen == "nmea" and jobs > 1:
            _decode_in_parallel(nmea_chunks(whole, chunk_bytes), jobs, out, err)
        else:
            _encode(
                decode_stream(whole, chosen), lambda records, problems: _write(out, err, records, problems)
            )
    out.flush()
    err.flush()


def _encode(items: Iterable[Mapping[str, object]], sink: Callable[[bytes, bytes], object]) -> None:
    """Records and problems as JSON lines, handed to `sink` in batches (records, problems).

    Batches are joined every `ENCODE_BATCH` lines: thousands of small encoded lines alive at once cost
    several times more than encoding them.
    """
    dumps = orjson.dumps
    records: list[bytes] = []
    problems: list[bytes] = []
    for item in items:
        (problems if "error" in item else records).append(dumps(item, option=JSON_OPTIONS, default=_default))
        if len(records) + len(problems) >= ENCODE_BATCH:
            sink(b"".join(records), b"".join(problems))
            records.clear()
            problems.clear()
    sink(b"".join(records), b"".join(problems))


def _decode_chunk(chunk: bytes) -> tuple[bytes, bytes]:
    """In a worker: one chunk's records and problems, encoded."""
    from ingest.decode_stream import decode_nmea_chunk

    records: list[bytes] = []
    problems: list[bytes] = []

    def keep(encoded_records: bytes, encoded_problems: bytes) -> None:
        records.append(encoded_records)
        problems.append(encoded_problems)

    _encode(decode_nmea_chunk(chunk), keep)
    return b"".join(records), b"".join(problems)


def _decode_in_parallel(chunks: Iterable[bytes], jobs: int, out: IO[bytes], err: IO[bytes]) -> None:
    chunks = iter(chunks)
    first = list(itertools.islice(chunks, 2))
    if len(first) < 2:  # one chunk: not worth starting workers
        for chunk in first:
            _write(out, err, *_decode_chunk(chunk))
        return
    # fork: the workers start with everything already imported (a spawned one would import it again).
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else None)
    with context.Pool(jobs, initializer=_worker_start) as pool:
        in_flight: deque[multiprocessing.pool.AsyncResult[tuple[bytes, bytes]]] = deque()
        for chunk in itertools.chain(first, chunks):
            in_flight.append(pool.apply_async(_decode_chunk, (chunk,)))
            if len(in_flight) >= jobs * CHUNKS_PER_JOB:
                _write(out, err, *in_flight.popleft().get())
        while in_flight:
            _write(out, err, *in_flight.popleft().get())


def _worker_start() -> None:
    # Ctrl-C reaches the whole process group: the main process stops the workers, which stay quiet.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _write(out: IO[bytes], err: IO[bytes], records: bytes, problems: bytes) -> None:
    if problems:
        err.write(problems)
    if records:
        out.write(records)


def _default(value: Any) -> str:
    return str(value)
