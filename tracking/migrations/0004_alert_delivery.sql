-- seawatch schema, version 4: what alert delivery needs.

-- Who the alert is about, as known when it was raised (the registry may change later; the alert keeps
-- what the dispatcher saw).
ALTER TABLE alerts ADD COLUMN vessel_mmsi bigint;
ALTER TABLE alerts ADD COLUMN vessel_name text;
-- When the alert was last sent out, for re-notifying unacknowledged critical alerts.
ALTER TABLE alerts ADD COLUMN notified_at timestamptz;
-- The role of who did each action, kept with the action: roles change, the record must not.
ALTER TABLE alert_audit ADD COLUMN actor_role text;
-- The seq the alert got from this action: replaying history and the audit trail line up.
ALTER TABLE alert_audit ADD COLUMN seq bigint;
CREATE INDEX alerts_seq ON alerts (seq);
