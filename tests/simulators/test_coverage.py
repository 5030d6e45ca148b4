"""Terminals out of coverage, without I/O: while out they send nothing and store their reports; back in
coverage they upload them, oldest first, as batches of at most `BATCH_MAX`; gateway terminals are
marked to go out as JSON. The background fleet's shares of both follow its spec."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime

import pytest

from simulators.fleet import Fleet, FleetSpec, Kind
from simulators.geography import Geography
from simulators.scenario import parse_scenario
from simulators.simulation import BATCH_MAX, ScenarioProblem, Simulation, TerminalOut

START = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # 09:00 in Shanwei
FLEET = """
duration: %s
vessels:
  - {id: v, kind: trawler, ais: none, terminal: true, at: [115.45, 22.56], activity: fishing}
  - {id: w, kind: trawler, ais: none, terminal: true, terminal_json: true, at: [115.60, 22.56]}
events:
  - {at: 2m, action: lose_coverage, vessel: v, params: {for: %s}}
"""


@pytest.fixture(scope="module")
def geography() -> Geography:
    return Geography.shanwei()


def terminal_out(geography: Geography, duration: str, gap: str) -> tuple[Simulation, list[TerminalOut]]:
    simulation = Simulation(parse_scenario(FLEET % (duration, gap), "t"), geography, start=START)
    return simulation, [e for e in simulation.run() if isinstance(e, TerminalOut)]


def test_reports_stored_out_of_coverage_go_up_in_one_batch_when_it_is_back(geography: Geography) -> None:
    simulation, out = terminal_out(geography, "40m", "20m")
    mine = [e for e in out if e.terminal == simulation.named["v"].ident.terminal]
    (batch,) = [e for e in mine if e.kind == "batch"]
    assert batch.t == 120.0 + 1200.0 and not batch.json
    assert not [e for e in mine if 120.0 <= e.t < 1320.0 and e.kind != "batch"]  # silent, heartbeats too
    stored = [r.t for r in batch.batch]
    assert stored and all(120.0 <= t < 1320.0 for t in stored) and stored == sorted(stored)
    assert {r.kind for r in batch.batch} == {"report"}
    # Nothing lost: sent and stored reports together keep the terminal's own interval.
    every = sorted([e.t for e in mine if e.kind == "report"] + stored)
    interval = simulation.named["v"].ident.terminal_interval_s
    steps = [b - a for a, b in itertools.pairwise(every)]
    assert steps == pytest.approx([interval] * len(steps))


def test_a_long_gap_goes_up_in_batches_that_fit_one_frame(geography: Geography) -> None:
    _, out = terminal_out(geography, "370m", "6h")
    batches = [e for e in out if e.kind == "batch"]
    sizes = [len(b.batch) for b in batches]
    assert len(batches) >= 3 and max(sizes) == BATCH_MAX and sum(sizes) >= 6 * 3600 / 300
    times = [r.t for b in batches for r in b.batch]
    assert times == sorted(times)  # the oldest first, across batches too


def test_a_gateway_terminal_is_marked_for_json(geography: Geography) -> None:
    simulation, out = terminal_out(geography, "10m", "1m")
    by_terminal = {e.terminal: e.json for e in out if e.kind == "report"}
    assert by_terminal == {
        simulation.named["v"].ident.terminal: False,
        simulation.named["w"].ident.terminal: True,
    }


def test_losing_coverage_needs_a_terminal(geography: Geography) -> None:
    scenario = parse_scenario(
        """
vessels:
  - {id: v, kind: trawler, ais: A, at: [115.45, 22.56]}
events:
  - {at: 1m, action: lose_coverage, vessel: v}
""",
        "t",
    )
    with pytest.raises(ScenarioProblem, match="no terminal"):
        Simulation(scenario, geography, start=START)


def test_the_background_fleet_has_its_shares_of_gateway_and_gappy_terminals(geography: Geography) -> None:
    fleet = Fleet(geography, FleetSpec(terminal_fraction=0.5), seed=3, start=START)
    idents = [fleet.identity(n, Kind.TRAWLER, random.Random(n)) for n in range(1000)]
    terminals = [i for i in idents if i.terminal is not None]
    assert len(terminals) > 400
    json_share = sum(i.terminal_json for i in terminals) / len(terminals)
    gaps_share = sum(i.terminal_gaps for i in terminals) / len(terminals)
    assert 0.15 < json_share < 0.25 and 0.15 < gaps_share < 0.25
    others = [i for i in idents if i.terminal is None]
    assert not any(i.terminal_json or i.terminal_gaps for i in others)


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_background_terminals_lose_coverage_at_sea_only_if_the_spec_says_so(
    geography: Geography, share: float
) -> None:
    scenario = parse_scenario("duration: 6h\n", "t")
    spec = FleetSpec(fishing=10, terminal_fraction=1.0, terminal_gap_fraction=share)
    simulation = Simulation(scenario, geography, start=START, fleet=spec)
    batches = [e for e in simulation.run() if isinstance(e, TerminalOut) and e.kind == "batch"]
    assert bool(batches) == bool(share)
