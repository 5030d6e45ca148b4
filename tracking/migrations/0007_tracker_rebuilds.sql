-- seawatch schema, version 7: requests to recompute a vessel's port calls and voyages over a window.

-- Positions that arrive later than the tracker's lookback (a terminal's buffered 0x0704 reports, a late
-- file replay) never reach its detector. `seawatch tracks rebuild` asks for the window to be replayed
-- from the stored positions and gate reads; the tracker, the only writer of port calls and voyages,
-- takes the requests between its polls (the command does it itself when no tracker runs).
CREATE TABLE tracker_rebuilds (
    id              bigserial PRIMARY KEY,
    vessel_id       bigint NOT NULL REFERENCES vessels (id) ON DELETE CASCADE,
    from_ts         timestamptz NOT NULL,
    to_ts           timestamptz NOT NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (from_ts < to_ts)
);
