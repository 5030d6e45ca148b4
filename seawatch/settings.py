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
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Web origins, besides the server's own, whose pages may open the websocket.",
    )
    login_per_minute: int = Field(
        30, ge=1, description="Token checks (`/api/me`) and token issues per client address per minute."
    )


class ConsoleSettings(Section):
    tile_url: str | None = Field(
        None,
        description="Online map tiles, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`; unset: only "
        "the offline coast layer, which needs no internet.",
    )
    tile_attribution: str = Field("", description="Credit shown on the map for the online tiles.")
    coast_file: Path | None = Field(
        None,
        description="GeoJSON land polygons for the offline base layer (default: the shipped GSHHG "
        "full-resolution Shanwei extract).",
    )
    region: tuple[float, float, float, float] = Field(
        (114.5, 22.2, 116.0, 23.2),
        description="[lon1, lat1, lon2, lat2]: the map's home view; the offline coast is clipped to it.",
    )
    drill_mode: bool = Field(
        False, description="A drill or training installation: every console shows the drill banner."
    )


class DatabaseSettings(Section):
    pool_min: int = Field(1, ge=1, description="Connections the pool keeps open.")
    pool_max: int = Field(10, ge=1, description="Most connections the pool opens.")
    connect_timeout_s: float = Field(10.0, gt=0, description="How long to wait for a connection.")


class MqttSettings(Section):
    topic_prefix: str = Field("seawatch", description="First level of every topic seawatch uses.")
    client_id: str | None = Field(
        None,
        description="Client id prefix; the component name is appended. Unset: `seawatch-<host>-<pid>`, unique"
        " per process; set it (different in each process) to keep MQTT feed sessions across restarts.",
    )
    share_group: str = Field(
        "",
        pattern=r"^[^/+#]*$",
        description="Shared-subscription group (`$share/<group>/…`) of the MQTT NMEA and device feeds: ingest"
        " processes with the same group split those messages; empty: each process takes them all.",
    )
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


FeedKind = Literal["tcp_client", "tcp_server", "udp", "mqtt", "file"]


class FeedSettings(Section):
    """One configured input: where raw lines come from and the name they are counted under."""

    name: str = Field(
        min_length=1, max_length=64, description="Name in logs and metrics, e.g. `shanwei-rx1`."
    )
    kind: FeedKind = Field(description="How the lines arrive.")
    address: str = Field(
        description="`host:port` (tcp_client connects, tcp_server/udp bind), an MQTT topic filter, or a path."
    )
    protocol: Literal["nmea"] = Field("nmea", description="What the lines carry.")


class IngestSettings(Section):
    feeds: list[FeedSettings] = Field(
        default_factory=list, description="The inputs to read; JSON list of {name, kind, address, protocol}."
    )
    max_line_bytes: int = Field(
        1024, ge=82, le=65536, description="Longer lines are counted invalid and dropped."
    )
    keep_bad_checksums: bool = Field(False, description="Decode sentences whose NMEA checksum is wrong.")
    fragment_ttl_s: float = Field(
        10.0, gt=0, description="How long a multi-sentence message waits for its parts."
    )
    max_pending_fragments: int = Field(
        1000, ge=1, description="Most incomplete multi-sentence groups held at once."
    )
    dedup_window_s: float = Field(
        5.0, ge=0, description="The same sentence from several receivers within this time is one record."
    )
    queue_max: int = Field(10_000, ge=1, description="Records waiting between decoding and the store.")
    reconnect_initial_s: float = Field(0.5, gt=0, description="First delay before reconnecting a lost feed.")
    reconnect_max_s: float = Field(30.0, gt=0, description="Longest delay between reconnect attempts.")


class StoreSettings(Section):
    batch_max_rows: int = Field(5000, ge=1, description="A batch is written when it has this many rows…")
    flush_interval_ms: int = Field(200, ge=1, description="…or when its oldest row has waited this long.")
    spool_dir: Path | None = Field(
        None, description="On-disk spool for when the database is away (default: `data_dir`/spool)."
    )
    spool_max_bytes: int = Field(1 << 30, ge=1 << 20, description="Spool size at which ingest stops reading.")
    retry_interval_s: float = Field(1.0, gt=0, description="How often to retry the database while spooling.")


class Jt808Settings(Section):
    enabled: bool = Field(True, description="Run the JT/T 808 terminal server (with `run` and `demo`).")
    host: str = Field("0.0.0.0", description="Address the JT/T 808 server binds to.")  # noqa: S104 (devices connect)
    port: int = Field(6808, ge=0, le=65535, description="JT/T 808 TCP port (0 picks a free one).")
    max_frame_bytes: int = Field(4096, ge=64, le=65536, description="Longer frames are dropped and counted.")
    idle_timeout_s: float = Field(600.0, gt=0, description="A connection silent this long is closed.")
    max_bad_frames: int = Field(10, ge=1, description="Malformed frames after which a connection is closed.")
    max_connections: int = Field(10_000, ge=1, description="Most terminals connected at once.")
    registration: Literal["required", "flag"] = Field(
        "flag",
        description="`flag`: accept reports from terminals that never registered or authenticated, marked "
        "`unauthenticated`; `required`: refuse them.",
    )
    utc_terminals: list[str] = Field(
        default_factory=list,
        description="Terminal IDs whose clocks send UTC instead of the standard's GMT+8.",
    )


class DevicesSettings(Section):
    enabled: bool = Field(
        True,
        description="Read gate tag reads and terminal JSON from `{topic_prefix}/tags/+` and `/terminals/+`.",
    )
    max_payload_bytes: int = Field(
        65_536, ge=256, description="Larger MQTT JSON payloads are refused and counted."
    )


class IdentitySettings(Section):
    max_implied_speed_kn: float = Field(
        60.0, gt=0, description="One MMSI moving faster than this between reports is in two places at once."
    )
    ais_terminal_max_distance_m: float = Field(
        2000.0,
        gt=0,
        description="AIS and terminal positions of one vessel further apart than this are an anomaly.",
    )
    sources_max_age_s: float = Field(
        300.0, gt=0, description="Positions from two sources are compared only when both are this recent."
    )
    gate_max_distance_m: float = Field(
        1500.0,
        gt=0,
        description="A gate read further than this from the vessel's last position is an anomaly.",
    )
    gate_silence_s: float = Field(
        1800.0, gt=0, description="A gate read with no position for this long before it is a dark departure."
    )


class LostContactRules(Section):
    after_s: float = Field(
        600.0, gt=0, description="Silence at sea after which a class A vessel is lost (reports every 2-10 s)."
    )
    class_b_after_s: float = Field(
        900.0, gt=0, description="The same for class B transponders (every 30 s to 3 min)."
    )
    terminal_after_s: float = Field(
        1800.0, gt=0, description="The same for BeiDou/JT/T 808 and JSON terminals (minutes)."
    )
    escalate_after_s: float = Field(
        3600.0, gt=0, description="Silence after which a lost contact becomes critical."
    )
    feed_silence_s: float = Field(
        120.0, gt=0, description="A feed silent this long is out: one feed_outage alert."
    )


class GeofenceRules(Section):
    hysteresis_m: float = Field(
        50.0,
        ge=0,
        description="Enter this far inside a zone, leave this far outside it: GPS jitter does not flap.",
    )
    dwell_s: float = Field(300.0, ge=0, description="Time inside a restricted zone before its dwell alert.")


class CollisionRules(Section):
    cpa_nm: float = Field(
        0.5, gt=0, description="Closest point of approach below which two vessels are at risk."
    )
    tcpa_max_s: float = Field(720.0, gt=0, description="Only approaches within this time ahead count.")
    min_speed_kn: float = Field(1.0, ge=0, description="Both vessels must be moving at least this fast.")
    max_age_s: float = Field(120.0, gt=0, description="Positions older than this are not projected.")


class SpoofingRules(Section):
    max_speed_kn: float = Field(
        60.0, gt=0, description="An implied speed above this between two reports is impossible."
    )
    on_land_margin_m: float = Field(200.0, ge=0, description="A position this far inland is on land.")


class BehaviourRules(Section):
    drift_max_kn: float = Field(3.0, gt=0, description="A vessel at sea slower than this, not anchored…")
    drift_after_s: float = Field(
        1800.0, gt=0, description="…for this long, with course unlike heading, is drifting."
    )
    anchor_radius_m: float = Field(
        150.0, gt=0, description="An anchored vessel further than this from where it anchored drags."
    )
    encounter_distance_m: float = Field(500.0, gt=0, description="Two vessels closer than this…")
    encounter_max_kn: float = Field(2.0, gt=0, description="…both slower than this…")
    encounter_after_s: float = Field(
        7200.0, gt=0, description="…for this long, away from anchorages, meet at sea."
    )
    loiter_radius_m: float = Field(1852.0, gt=0, description="A vessel staying within this radius…")
    loiter_after_s: float = Field(
        10800.0, gt=0, description="…for this long, away from harbours and fishing areas, loiters."
    )


class WeatherRules(Section):
    return_speed_kn: float = Field(
        8.0, gt=0, description="Speed assumed for the return-to-port ETA when a vessel is slower."
    )


class RulesSettings(Section):
    renotify_critical_s: float = Field(
        60.0, gt=0, description="An unacknowledged critical alert is sent again this often."
    )
    clear_after_s: float = Field(
        120.0, ge=0, description="A condition must stay gone this long before its alert clears."
    )
    lost_contact: LostContactRules = LostContactRules()
    geofence: GeofenceRules = GeofenceRules()
    collision: CollisionRules = CollisionRules()
    spoofing: SpoofingRules = SpoofingRules()
    behaviour: BehaviourRules = BehaviourRules()
    weather: WeatherRules = WeatherRules()


class WebhookSettings(Section):
    url: str = Field(description="Where alerts are POSTed (JSON).")
    secret: str = Field(
        min_length=16, description="HMAC-SHA256 key; the body's signature is sent in a header."
    )
    min_severity: Literal["critical", "high", "medium", "low", "info"] = Field(
        "high", description="Only alerts at least this severe are sent."
    )
    drill: bool = Field(
        False, description="A drill target receives drill alerts only; others never receive them."
    )


class DeliverySettings(Section):
    mqtt: bool = Field(
        True, description="Publish every alert change to `{topic_prefix}/alerts/{severity}/{kind}`."
    )
    webhooks: list[WebhookSettings] = Field(
        default_factory=list, description="Webhook targets; JSON list of {url, secret, min_severity, drill}."
    )
    webhook_timeout_s: float = Field(5.0, gt=0, description="How long one webhook call may take.")
    webhook_max_attempts: int = Field(
        8, ge=1, description="Attempts per alert, with doubling delays from 1 s."
    )
    queue_max: int = Field(
        10_000, ge=1, description="Alert changes waiting per consumer before the oldest is dropped."
    )


class WeatherSettings(Section):
    inbox_dir: Path | None = Field(
        None,
        description="Folder watched for CAP files (default: `data_dir`/cap-inbox).",
    )
    mqtt: bool = Field(True, description="Take CAP documents published to `{topic_prefix}/weather/cap`.")


class TrackingSettings(Section):
    enabled: bool = Field(
        True, description="Run port-call and voyage detection and keep `vessel_latest` (with `run`/`demo`)."
    )
    poll_interval_s: float = Field(
        5.0, gt=0, description="How often the tracker reads new positions and gate reads from the database."
    )
    lookback_s: float = Field(
        60.0, ge=0, description="Each poll also re-reads this much before the last one, for late commits."
    )
    arrive_dwell_s: float = Field(
        300.0, ge=0, description="Inside a harbour or shelter and slow for this long is an arrival."
    )
    arrive_max_speed_kn: float = Field(2.0, gt=0, description="Slow enough to be arriving, in knots.")
    depart_buffer_m: float = Field(
        200.0, ge=0, description="A vessel in port departs once this far outside the zone's polygon."
    )
    gate_match_s: float = Field(
        1800.0,
        gt=0,
        description="A gate read this close in time to a detected arrival/departure confirms it.",
    )
    max_gap_s: float = Field(
        1800.0, gt=0, description="Silences longer than this are not counted in zone times and effort."
    )
    max_implied_speed_kn: float = Field(
        60.0,
        gt=0,
        description="A jump faster than this between two fixes is not added to a voyage's distance.",
    )
    fishing_min_kn: float = Field(1.5, ge=0, description="Fishing effort: the trawling speed band starts…")
    fishing_max_kn: float = Field(5.5, gt=0, description="…and ends here, in knots.")
    fishing_min_turn_deg_min: float = Field(
        0.5, ge=0, description="…with the track turning at least this much (degrees a minute; 0: speed only)."
    )
    fishing_bucket_s: float = Field(
        600.0, gt=0, description="Effort is judged in stretches of this length (median speed, track bearing)."
    )
    stale_after_s: float = Field(
        900.0, gt=0, description="A vessel with no position for this long is `stale` in the vessel list."
    )
    retention_days: int = Field(
        365, ge=0, description="Raw positions older than this are dropped daily (0 keeps them for ever)."
    )
    track_max_days: int = Field(93, ge=1, description="Longest time range one track or report may cover.")
    track_max_points: int = Field(
        2_000_000, ge=1000, description="Most points one track query reads before it is refused."
    )
    export_max_days: int = Field(31, ge=1, description="Longest time range of a fleet position export.")
    export_max_rows: int = Field(
        10_000_000, ge=1000, description="A fleet export stops after this many rows (streamed, never held)."
    )
    report_timezone: str = Field(
        "Asia/Shanghai", description="Time zone of report days (the harbour's daily departures/arrivals)."
    )


class DrillSettings(Section):
    """Which traffic is a drill. NMEA and JT/T 808 carry no drill flag, so drill traffic is known by the
    identities it uses (the simulator's reserved ranges) or by the feed it arrives on."""

    mmsi_prefixes: list[str] = Field(
        default_factory=list,
        description="AIS records whose MMSI starts with one of these are drill, e.g. `41299` (the "
        "simulator's vessels) and `97099` (its AIS-SARTs).",
    )
    terminal_prefixes: list[str] = Field(
        default_factory=list,
        description="JT/T 808 and terminal JSON records whose terminal id starts with one of these are "
        "drill.",
    )
    tag_prefixes: list[str] = Field(
        default_factory=list,
        description="Gate tag reads whose tag id starts with one of these (case-insensitive) are drill.",
    )
    feeds: list[str] = Field(
        default_factory=list,
        description="Feeds (by name) whose every record is drill, e.g. a drill receiver.",
    )


class RecordBusSettings(Section):
    """`seawatch run --only ingest` hands its records to `--only rules` on `{topic_prefix}/records`."""

    batch_max: int = Field(
        500, ge=1, description="Most records in one MQTT message; a full batch goes out at once…"
    )
    flush_interval_ms: float = Field(
        5.0, gt=0, description="…else when its oldest record has waited this long. Distress never waits."
    )
    queue_max: int = Field(
        100_000,
        ge=1,
        description="Routine records held while the broker is away; beyond it the oldest are dropped.",
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
    console: ConsoleSettings = ConsoleSettings()
    database: DatabaseSettings = DatabaseSettings()
    mqtt: MqttSettings = MqttSettings()
    supervisor: SupervisorSettings = SupervisorSettings()
    ingest: IngestSettings = IngestSettings()
    store: StoreSettings = StoreSettings()
    jt808: Jt808Settings = Jt808Settings()
    devices: DevicesSettings = DevicesSettings()
    identity: IdentitySettings = IdentitySettings()
    rules: RulesSettings = RulesSettings()
    delivery: DeliverySettings = DeliverySettings()
    drill: DrillSettings = DrillSettings()
    tracking: TrackingSettings = TrackingSettings()
    weather: WeatherSettings = WeatherSettings()
    record_bus: RecordBusSettings = RecordBusSettings()

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
