"""`seawatch simulate` options that shape the fleet: given ones replace the scenario's, checked alike."""

from __future__ import annotations

import pytest

from simulators.command import SimulateOptions, fleet_spec
from simulators.scenario import load_scenario


def test_terminal_shares_given_on_the_command_line_replace_the_scenarios() -> None:
    scenario = load_scenario("demo")
    spec = fleet_spec(scenario, SimulateOptions(terminal_json=0.5, coverage_gaps=0.0, fishing=3))
    assert (spec.terminal_json_fraction, spec.terminal_gap_fraction, spec.fishing) == (0.5, 0.0, 3)
    default = fleet_spec(scenario, SimulateOptions())
    assert (default.terminal_json_fraction, default.terminal_gap_fraction) == (0.2, 0.2)
    assert default.fishing == scenario.fleet.fishing


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_a_share_outside_0_to_1_is_refused(share: float) -> None:
    with pytest.raises(ValueError, match="terminal_json_fraction"):
        fleet_spec(load_scenario("demo"), SimulateOptions(terminal_json=share))
