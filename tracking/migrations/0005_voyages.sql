-- seawatch schema, version 5: the live state of each vessel, port calls and voyages.

-- The latest position of every vessel and what the tracker derived from it, one row per vessel (a boat
-- known only to the harbour gates has a row without a position, for its tracker state). The API
-- answers "where is everyone" from here, whichever process runs the tracker: a bounding box over this
-- table is an index scan over one row per vessel, where DISTINCT ON over `positions` would visit every
-- vessel's newest row in the whole history (bench/tracks.py measures both).
CREATE TABLE vessel_latest (
    vessel_id       bigint PRIMARY KEY REFERENCES vessels (id) ON DELETE CASCADE,
    ts              timestamptz,
    source          text,
    lon             double precision,
    lat             double precision,
    speed           real,
    course          real,
    heading         real,
    status          smallint,
    in_port         boolean NOT NULL DEFAULT false,  -- inside a harbour or shelter, with hysteresis
    port_zone_id    text,                            -- which one
    zone_ids        text[] NOT NULL DEFAULT '{}',    -- every zone holding the position
    detector        jsonb NOT NULL DEFAULT '{}',     -- the tracker's state: a restart resumes exactly
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Built-in GiST over points: bounding-box queries without PostGIS, on the embedded server too.
CREATE INDEX vessel_latest_point ON vessel_latest USING gist (point(lon, lat));
CREATE INDEX vessel_latest_ts ON vessel_latest (ts);

-- A stay in a harbour or shelter. Zones are referenced by id without a foreign key: a zone may be
-- redrawn or deleted, and the log of who was where must stay, with the name it had.
CREATE TABLE port_calls (
    id                  bigserial PRIMARY KEY,
    vessel_id           bigint NOT NULL REFERENCES vessels (id) ON DELETE CASCADE,
    zone_id             text NOT NULL,
    zone_name           text NOT NULL,
    zone_kind           text NOT NULL,
    arrived_at          timestamptz NOT NULL,
    -- track: inside and slow for the dwell time; gate: an RFID read with no track to say otherwise;
    -- initial: first seen moored there (not an arrival: the daily report does not count it).
    arrival_method      text NOT NULL CHECK (arrival_method IN ('track', 'gate', 'initial')),
    arrival_gate_at     timestamptz,                 -- the gate read that confirms the arrival
    departed_at         timestamptz,                 -- null while the vessel is in port
    departure_method    text CHECK (departure_method IN ('track', 'gate')),
    departure_gate_at   timestamptz,
    CHECK (departed_at IS NULL OR departed_at >= arrived_at)
);
CREATE UNIQUE INDEX port_calls_one_open ON port_calls (vessel_id) WHERE departed_at IS NULL;
CREATE INDEX port_calls_vessel ON port_calls (vessel_id, arrived_at DESC);
CREATE INDEX port_calls_zone_arrived ON port_calls (zone_id, arrived_at);
CREATE INDEX port_calls_zone_departed ON port_calls (zone_id, departed_at);

-- From a departure to the next arrival. Kept when raw positions are dropped by retention, so the
-- figures are computed as the voyage goes and stored here.
CREATE TABLE voyages (
    id                  bigserial PRIMARY KEY,
    vessel_id           bigint NOT NULL REFERENCES vessels (id) ON DELETE CASCADE,
    from_zone_id        text NOT NULL,
    to_zone_id          text,
    departed_at         timestamptz NOT NULL,
    arrived_at          timestamptz,                 -- null while at sea
    distance_m          double precision NOT NULL DEFAULT 0,
    max_speed_kn        real,
    positions           integer NOT NULL DEFAULT 0,
    zone_seconds        jsonb NOT NULL DEFAULT '{}', -- zone id → seconds inside (harbours excluded)
    fishing_s           double precision,            -- estimated fishing effort, set on arrival
    updated_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (arrived_at IS NULL OR arrived_at >= departed_at)
);
CREATE UNIQUE INDEX voyages_one_open ON voyages (vessel_id) WHERE arrived_at IS NULL;
CREATE INDEX voyages_vessel ON voyages (vessel_id, departed_at DESC);
CREATE INDEX voyages_departed ON voyages (departed_at);

-- A gate read the track disagrees with: an "out" read while the boat stays moored, an "in" read while
-- it is at sea. Evidence for the official, not an automatic correction.
CREATE TABLE gate_contradictions (
    id              bigserial PRIMARY KEY,
    vessel_id       bigint NOT NULL REFERENCES vessels (id) ON DELETE CASCADE,
    read_at         timestamptz NOT NULL,
    direction       text NOT NULL,
    zone_id         text,
    reader          text,
    reason          text NOT NULL,
    found_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX gate_contradictions_vessel ON gate_contradictions (vessel_id, read_at DESC);

-- How far the tracker has read, so a restart neither skips nor repeats (it re-reads `lookback_s` and
-- skips what each vessel's state has already seen).
CREATE TABLE tracker_cursor (
    name            text PRIMARY KEY,
    ts              timestamptz NOT NULL
);
