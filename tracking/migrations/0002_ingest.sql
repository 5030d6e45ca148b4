-- seawatch schema, version 2: what the record store needs to write every batch exactly once.

-- One row per batch the store committed, written in the same transaction as the batch's rows. A batch
-- replayed from the on-disk spool (after a crash between the commit and the deletion of its spool file)
-- finds its id here and is skipped, so no row is ever written twice.
CREATE TABLE ingest_batches (
    id              uuid PRIMARY KEY,
    committed_at    timestamptz NOT NULL DEFAULT now(),
    rows            integer NOT NULL CHECK (rows >= 0)
);
-- For pruning old entries: a batch id only needs remembering while its spool file could still exist.
CREATE INDEX ingest_batches_committed_at ON ingest_batches (committed_at);
