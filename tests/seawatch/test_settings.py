from pathlib import Path

import pytest
from pydantic import ValidationError

from seawatch.settings import ConfigFileError, load_settings, setting_env_names

README = Path(__file__).resolve().parents[2] / "README.md"


def test_defaults_need_no_file_and_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in setting_env_names():
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.http.port == 8080
    assert settings.mqtt_url == "mqtt://127.0.0.1:1883"
    assert settings.database_url is None


def test_environment_beats_toml_and_flags_beat_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "seawatch.toml"
    config.write_text(
        'database_url = "postgresql://from-file/db"\n[http]\nport = 9000\nhost = "0.0.0.0"\n'
        "[supervisor]\nrestart_max_s = 5.0\n"
    )
    monkeypatch.setenv("SEAWATCH_HTTP__PORT", "9100")
    monkeypatch.setenv("SEAWATCH_SUPERVISOR__RESTART_MAX_S", "7")
    settings = load_settings(config, database_url="postgresql://from-flag/db")
    assert settings.database_url == "postgresql://from-flag/db"
    assert settings.http.port == 9100  # environment over file
    assert settings.http.host == "0.0.0.0"  # the file still fills what the environment leaves
    assert settings.supervisor.restart_max_s == 7.0


def test_nested_flag_override_keeps_the_other_nested_values(tmp_path: Path) -> None:
    config = tmp_path / "seawatch.toml"
    config.write_text('[http]\nhost = "0.0.0.0"\n')
    settings = load_settings(config, http={"port": 8181})
    assert (settings.http.host, settings.http.port) == ("0.0.0.0", 8181)


def test_a_flag_not_given_does_not_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEAWATCH_DATABASE_URL", "postgresql://env/db")
    assert load_settings(database_url=None).database_url == "postgresql://env/db"


def test_a_misspelt_toml_key_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "seawatch.toml"
    config.write_text("[htp]\nport = 1\n")
    with pytest.raises(ValidationError, match="htp"):
        load_settings(config)


def test_a_value_out_of_range_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEAWATCH_HTTP__PORT", "70000")
    with pytest.raises(ValidationError):
        load_settings()


def test_a_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="not found"):
        load_settings(tmp_path / "absent.toml")


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = README.read_text(encoding="utf-8")
    missing = [name for name in setting_env_names() if f"`{name}`" not in readme]
    assert missing == [], f"settings missing from README.md: {missing}"


def test_env_names_cover_nested_sections() -> None:
    names = setting_env_names()
    assert "SEAWATCH_DATABASE_URL" in names
    assert "SEAWATCH_HTTP__PORT" in names
    assert "SEAWATCH_SUPERVISOR__SHUTDOWN_TIMEOUT_S" in names
    assert "SEAWATCH_HTTP" not in names  # sections themselves are not settings
