-- seawatch schema, version 1.
-- Plain PostgreSQL: runs on TimescaleDB and on the embedded PostgreSQL of `seawatch demo` alike. The
-- migration runner turns the time-series tables into hypertables afterwards where TimescaleDB is there.

-- Vessels and the identities that point at them ------------------------------------------------------

CREATE TABLE vessels (
    id              bigserial PRIMARY KEY,
    hull_number     text UNIQUE,                -- 船号, e.g. 粤汕尾渔12345
    name            text,
    owner_name      text,
    owner_contact   text,
    home_port       text,
    licensed_area   text,                       -- name of the fishing_area zone the licence allows
    vessel_type     text,                       -- e.g. trawler, gillnetter, cargo
    is_fishing      boolean NOT NULL DEFAULT false,
    provisional     boolean NOT NULL DEFAULT false, -- created automatically for an unknown identity
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- One vessel carries several identities (AIS MMSI, BeiDou/JT808 terminal, RFID tag), each valid for a
-- period: transponders move between hulls, and history must still resolve to the right vessel.
CREATE TABLE vessel_identities (
    id              bigserial PRIMARY KEY,
    vessel_id       bigint NOT NULL REFERENCES vessels (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('mmsi', 'terminal', 'tag')),
    value           text NOT NULL,
    valid_from      timestamptz NOT NULL DEFAULT '-infinity',
    valid_to        timestamptz NOT NULL DEFAULT 'infinity',
    CHECK (valid_from < valid_to),
    UNIQUE (kind, value, valid_from)
);
CREATE INDEX vessel_identities_lookup ON vessel_identities (kind, value, valid_to DESC);
CREATE INDEX vessel_identities_vessel ON vessel_identities (vessel_id);

-- Static and voyage reports (AIS type 5/24, terminal registration), kept as history.
CREATE TABLE static_reports (
    id              bigserial PRIMARY KEY,
    ts              timestamptz NOT NULL,
    vessel_id       bigint REFERENCES vessels (id) ON DELETE CASCADE,
    source          text NOT NULL,
    mmsi            bigint,
    imo             bigint,
    callsign        text,
    shipname        text,
    ship_type       integer,
    to_bow          integer,
    to_stern        integer,
    to_port         integer,
    to_starboard    integer,
    draught         real,
    destination     text,
    data            jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX static_reports_vessel_ts ON static_reports (vessel_id, ts DESC);

-- Time series ----------------------------------------------------------------------------------------

-- One row per position fix from any source; the vessel's single track.
CREATE TABLE positions (
    ts              timestamptz NOT NULL,
    vessel_id       bigint NOT NULL,
    source          text NOT NULL,               -- ais, jt808, terminal_json, tag, sim
    lon             double precision NOT NULL,
    lat             double precision NOT NULL,
    speed           real,                        -- knots
    course          real,                        -- degrees
    heading         real,                        -- degrees
    status          smallint,                    -- AIS navigational status
    receivers       smallint NOT NULL DEFAULT 1, -- how many receivers heard this same report
    received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX positions_vessel_ts ON positions (vessel_id, ts DESC);
CREATE INDEX positions_ts ON positions (ts DESC);

-- Everything else that happens at a time: tag reads at gates, terminal alarms and log-ins, anomalies.
CREATE TABLE events (
    ts              timestamptz NOT NULL,
    vessel_id       bigint,
    source          text NOT NULL,
    kind            text NOT NULL,
    data            jsonb NOT NULL DEFAULT '{}',
    received_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX events_vessel_ts ON events (vessel_id, ts DESC);
CREATE INDEX events_kind_ts ON events (kind, ts DESC);

-- Alerts and their audit trail -----------------------------------------------------------------------

-- seq orders every alert change for websocket resume; each update takes a new seq.
CREATE SEQUENCE alert_seq;

CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    seq             bigint NOT NULL UNIQUE DEFAULT nextval('alert_seq'),
    kind            text NOT NULL CHECK (kind IN (
                        'distress', 'geofence', 'weather', 'lost_contact', 'collision_risk', 'spoofing',
                        'identity_mismatch', 'not_under_command', 'anchor_drag', 'encounter', 'loitering',
                        'moratorium', 'feed_outage')),
    severity        text NOT NULL CHECK (severity IN ('critical', 'high', 'medium', 'low', 'info')),
    state           text NOT NULL DEFAULT 'open'
                        CHECK (state IN ('open', 'acknowledged', 'assigned', 'resolved')),
    dedup_key       text NOT NULL,               -- one open alert per persistent condition
    vessel_id       bigint REFERENCES vessels (id) ON DELETE SET NULL,
    lon             double precision,
    lat             double precision,
    title           text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}',
    drill           boolean NOT NULL DEFAULT false,
    assigned_to     text,
    opened_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    resolved_at     timestamptz
);
CREATE UNIQUE INDEX alerts_one_open_per_condition ON alerts (dedup_key) WHERE state <> 'resolved';
CREATE INDEX alerts_state_opened ON alerts (state, opened_at DESC);
CREATE INDEX alerts_vessel ON alerts (vessel_id, opened_at DESC);

CREATE TABLE alert_audit (
    id              bigserial PRIMARY KEY,
    alert_id        bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    ts              timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,               -- user name, or 'system'
    action          text NOT NULL,               -- open, update, ack, assign, note, resolve
    from_state      text,
    to_state        text,
    note            text
);
CREATE INDEX alert_audit_alert ON alert_audit (alert_id, ts);

-- Zones and weather ----------------------------------------------------------------------------------

CREATE TABLE zones (
    id              text PRIMARY KEY DEFAULT gen_random_uuid()::text,  -- a readable slug where given
    name            text NOT NULL,
    kind            text NOT NULL CHECK (kind IN (
                        'prohibited', 'restricted', 'fishing_area', 'harbour', 'shelter', 'shipping_lane',
                        'protected', 'moratorium', 'anchorage')),
    geometry        jsonb NOT NULL,              -- GeoJSON geometry, WGS84
    properties      jsonb NOT NULL DEFAULT '{}', -- schedule, speed limits, owner…
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- CAP 1.2 warnings as received; areas kept as GeoJSON for evaluation, the document for audit.
CREATE TABLE weather_warnings (
    id              bigserial PRIMARY KEY,
    identifier      text NOT NULL,
    sender          text NOT NULL,
    sent            timestamptz NOT NULL,
    msg_type        text NOT NULL,               -- Alert, Update, Cancel
    status          text NOT NULL,               -- Actual, Exercise, Test…
    event           text,
    severity        text,
    urgency         text,
    certainty       text,
    headline        text,
    onset           timestamptz,
    expires         timestamptz,
    areas           jsonb NOT NULL DEFAULT '[]',
    references_ids  text[] NOT NULL DEFAULT '{}',
    cancelled_at    timestamptz,
    document        text NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (sender, identifier, sent)
);

-- Users and API tokens -------------------------------------------------------------------------------

CREATE TABLE users (
    id              bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE,
    role            text NOT NULL CHECK (role IN ('viewer', 'operator', 'dispatcher', 'official', 'admin')),
    disabled        boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 of each token is stored: a leaked table does not leak working tokens.
CREATE TABLE api_tokens (
    id              bigserial PRIMARY KEY,
    user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_sha256    bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at      timestamptz
);
