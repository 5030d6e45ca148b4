-- seawatch schema, version 8: a vessel's track packed per UTC day, so that a long track read takes a
-- month of days as 30 stored byte strings instead of scanning 260,000 rows.

-- `data` holds exactly the bytes tracking/tracks.py's TRACK_SQL produces for the vessel over
-- [day, day + 1) UTC (fixed-size records, `points` of them), so the same numpy parser reads both.
-- Only closed days (before the current UTC day) are packed, lazily, by the track reads that miss them.
-- Stored uncompressed: the records are floats that compress little, and reading is what this is for.
CREATE TABLE track_days (
    vessel_id   bigint NOT NULL,
    day         date NOT NULL,
    points      integer NOT NULL,
    data        bytea NOT NULL,
    PRIMARY KEY (vessel_id, day)
);
ALTER TABLE track_days ALTER COLUMN data SET STORAGE EXTERNAL;

-- Invalidation lives in the database, so that no writer of positions can bypass it (the ingest COPY,
-- a replay, a manual fix, retention's DELETE on plain PostgreSQL). After each statement that inserts,
-- updates or deletes positions, the packed days its rows fall in are dropped, in its transaction.
-- Only closed days can be packed, so only they are looked at: rows of the current day cost a filter over
-- the statement's transition table, nothing more. Days closing within the hour count as closed, so that
-- a write made just before midnight and committed just after is still covered.
-- The shared advisory lock keeps a packer (which takes it exclusively, trying, and packs nothing if it
-- cannot) from packing, from a snapshot without this transaction's rows, a day this transaction has
-- just invalidated: the lock is held until this transaction ends. The key is TRACK_DAYS_LOCK in
-- tracking/tracks.py.
CREATE FUNCTION track_days_forget() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    horizon timestamptz := date_trunc('day', (clock_timestamp() + interval '1 hour') AT TIME ZONE 'UTC')
        AT TIME ZONE 'UTC';
    vessels bigint[];
    days date[];
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        SELECT array_agg(vessel_id), array_agg(day) INTO vessels, days FROM (
            SELECT DISTINCT vessel_id, (ts AT TIME ZONE 'UTC')::date AS day FROM new_rows WHERE ts < horizon
        ) touched;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        SELECT vessels || array_agg(vessel_id), days || array_agg(day) INTO vessels, days FROM (
            SELECT DISTINCT vessel_id, (ts AT TIME ZONE 'UTC')::date AS day FROM old_rows WHERE ts < horizon
        ) touched;
    END IF;
    IF vessels IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock_shared(1952540019);
        DELETE FROM track_days t USING unnest(vessels, days) AS c (vessel_id, day)
        WHERE t.vessel_id = c.vessel_id AND t.day = c.day;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER positions_forget_track_days_insert AFTER INSERT ON positions
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION track_days_forget();
CREATE TRIGGER positions_forget_track_days_update AFTER UPDATE ON positions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION track_days_forget();
CREATE TRIGGER positions_forget_track_days_delete AFTER DELETE ON positions
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION track_days_forget();
