"""`python -m bench`: run the benchmarks, print their Markdown, and write it into README.md.

    python -m bench                      # everything at full size; writes README.md
    python -m bench --size 20000         # a quick run; README.md is left alone
    python -m bench --no-tcp --no-profile

README.md gets each benchmark's section between `<!-- bench:NAME:start -->` and
`<!-- bench:NAME:end -->`; where the markers are missing, a `## Benchmarks` section holding them is
appended to the end of the file. Nothing else in the README is touched.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from bench import ais_ingest, alert_latency, tracks
from bench.ais_corpus import DEFAULT_SIZE

README = Path(__file__).resolve().parents[1] / "README.md"
INTRO = (
    "Measured by `make bench` (`bench/`, see `bench/README.md`), never by the tests; each full run\n"
    "rewrites the figures between the markers below.\n"
)


def _ais_ingest(args: argparse.Namespace) -> str:
    report = ais_ingest.run_all(
        args.size,
        server_dsn=args.db,
        profile_top=args.profile_top if args.profile else 0,
        tcp=args.tcp,
        log=lambda text: print(text, file=sys.stderr, flush=True),
    )
    return ais_ingest.markdown(report)


def _alert_latency(args: argparse.Namespace) -> str:
    idle, loaded = alert_latency.run(
        server_dsn=args.db, corpus_size=min(args.size, 50_000), probes=100, load_s=40
    )
    return alert_latency.markdown(idle, loaded, 5000)


def _tracks(args: argparse.Namespace) -> str:
    rows, size = tracks.run(server_dsn=args.db, log=lambda text: print(text, file=sys.stderr, flush=True))
    return tracks.markdown(rows, size)


#: Every benchmark: its README marker name and what runs it (returns its Markdown section).
BENCHMARKS: dict[str, Callable[[argparse.Namespace], str]] = {
    "ais-ingest": _ais_ingest,
    "alert-latency": _alert_latency,
    "tracks": _tracks,
}


def markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def write_section(readme: Path, name: str, body: str) -> None:
    """Replace the text between the markers of `name`, or add them under `## Benchmarks` at the end."""
    start, end = markers(name)
    text = readme.read_text(encoding="utf-8")
    block = f"{start}\n{body.rstrip()}\n{end}"
    if start in text and end in text and text.index(start) < text.index(end):
        before, rest = text.split(start, 1)
        after = rest.split(end, 1)[1]
        text = before + block + after
    else:
        if "\n## Benchmarks\n" not in text:
            text = text.rstrip("\n") + "\n\n## Benchmarks\n\n" + INTRO
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    readme.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="messages in the corpus (%(default)s)")
    parser.add_argument("--only", choices=sorted(BENCHMARKS), action="append", help="run only this one")
    parser.add_argument(
        "--db",
        metavar="DSN",
        help="PostgreSQL server to create the bench database on "
        f"(default $SEAWATCH_BENCH_DATABASE_URL or {ais_ingest.DEFAULT_SERVER_DSN})",
    )
    parser.add_argument(
        "--write-readme",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the results into README.md (default: only at the full size)",
    )
    parser.add_argument(
        "--profile", action=argparse.BooleanOptionalAction, default=True, help="profile a full ingest"
    )
    parser.add_argument("--profile-top", type=int, default=6, help="functions listed from the profile")
    parser.add_argument(
        "--tcp", action=argparse.BooleanOptionalAction, default=True, help="also time `seawatch run` over TCP"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    write = args.write_readme if args.write_readme is not None else args.size == DEFAULT_SIZE
    for name in args.only or list(BENCHMARKS):
        body = BENCHMARKS[name](args)
        print(body)
        if write:
            write_section(README, name, body)
            print(f"README.md: section {name} written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
