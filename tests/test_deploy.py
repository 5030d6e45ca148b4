"""The deployment files in deploy/ stay valid as the settings change."""

import configparser
from pathlib import Path

from seawatch.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def test_the_example_production_config_loads() -> None:
    settings = load_settings(DEPLOY / "seawatch.toml")
    assert settings.database_url == "postgresql://seawatch@127.0.0.1:5432/seawatch"
    assert settings.database.pool_max == 20


def test_systemd_units_run_existing_commands() -> None:
    for unit in ("seawatch.service", "seawatch@.service"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.read(DEPLOY / "systemd" / unit)
        start = parser["Service"]["ExecStart"]
        assert " run " in start and "--config /etc/seawatch/seawatch.toml" in start
