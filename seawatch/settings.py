"""All of seawatch's settings, in one pydantic-settings model.

Precedence, highest first: command-line flags (passed as overrides), `SEAWATCH_` environment variables
(nested with `__`), the TOML file given with `--config`, then the defaults below. Every field is listed
in the README; `tests/seawatch/test_settings.py` fails when one is not.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

ENV_PREFIX = "SEAWATCH_"
ENV_NESTED_DELIMITER = "__"


class Section(BaseModel):
    # A typo in a TOML key must be an error, not a silently ignored setting.
    model_config = ConfigDict(extra="forbid")


class HttpSettings(Section):
    host: str = Field("127.0.0.1", description="Address the HTTP/websocket server binds to.")
    port: int = Field(8080, ge=0, le=65535, description="HTTP/websocket port (0 picks a free one).")


class DatabaseSettings(Section):
    pool_min: int = Field(1, ge=1, description="Connections the pool keeps open.")
    pool_max: int = Field(10, ge=1, description="Most connections the pool opens.")
    connect_timeout_s: float = Field(10.0, gt=0, description="How long to wait for a connection.")


class MqttSettings(Section):
    topic_prefix: str = Field("seawatch", description="First level of every topic seawatch uses.")
    client_id: str = Field("seawatch", description="Client id prefix; the component name is appended.")
    keepalive_s: int = Field(30, ge=5, description="MQTT keep-alive interval.")


class SupervisorSettings(Section):
    restart_initial_s: float = Field(
        0.5, gt=0, description="First delay before restarting a crashed component."
    )
    restart_max_s: float = Field(30.0, gt=0, description="Longest delay between restarts (doubling backoff).")
    stable_after_s: float = Field(
        60.0, gt=0, description="A component that ran this long is healthy again: its backoff resets."
    )
    shutdown_timeout_s: float = Field(
        8.0, gt=0, description="How long SIGTERM waits for components to drain."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter=ENV_NESTED_DELIMITER,
        extra="forbid",
    )

    database_url: str | None = Field(
        None,
        description="PostgreSQL/TimescaleDB DSN; `run` needs it, `demo` embeds a server without it.",
    )
    mqtt_url: str = Field(
        "mqtt://127.0.0.1:1883", description="MQTT broker, `mqtt://[user:pass@]host[:port]`."
    )
    data_dir: Path = Field(Path(".seawatch"), description="Where the demo keeps its database and files.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="Log level.")
    http: HttpSettings = HttpSettings()
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    supervisor: SupervisorSettings = SupervisorSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = cls.model_config.get("toml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if toml_file is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_file))
        return tuple(sources)


class ConfigFileError(ValueError):
    """The file named with --config is missing or is not TOML."""


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from defaults, an optional TOML file, the environment and explicit overrides.

    `overrides` are command-line flags; `None` values mean "flag not given" and are dropped.
    """
    given = {key: value for key, value in overrides.items() if value is not None}
    if config_file is None:
        return Settings(**given)
    if not config_file.is_file():
        raise ConfigFileError(f"config file not found: {config_file}")

    class FileSettings(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

    return FileSettings(**given)


def setting_env_names(model: type[BaseModel] = Settings, prefix: str = ENV_PREFIX) -> list[str]:
    """Every environment variable name the settings model reads, nested fields included."""
    names: list[str] = []
    for name, field in model.model_fields.items():
        env = f"{prefix}{name.upper()}"
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names.extend(setting_env_names(annotation, env + ENV_NESTED_DELIMITER))
        else:
            names.append(env)
    return names
