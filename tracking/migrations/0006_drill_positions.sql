-- seawatch schema, version 6: stored positions and static reports say whether they belong to a drill.

-- Drill traffic is marked `drill: true` at the front of ingest; alerts carry the mark in their own column
-- and events inside `data`. A drill vessel's stored track must be told apart from a real one's, by every
-- reader (track API, exports, the fisheries report). A constant default adds the column without
-- rewriting the table, on a hypertable and on plain PostgreSQL alike.
ALTER TABLE positions ADD COLUMN drill boolean NOT NULL DEFAULT false;
ALTER TABLE static_reports ADD COLUMN drill boolean NOT NULL DEFAULT false;
