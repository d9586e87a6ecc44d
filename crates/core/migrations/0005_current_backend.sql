-- What the current backend's stream needs (Jinish2170/elliotAI, backend/services/audit_runner.py).
--
-- Every event carries an `event_id` (`<audit>:<sequence>`); with a hash of its content it
-- makes a replay idempotent: the same event received again is stored once. The sequence
-- restarts when the backend re-runs an audit whose stream reconnected, so the same id with
-- other content begins a new run. `run` numbers an audit's runs from 1; rows of other
-- programs have none, and their runs are derived when read (screenshot indexes repeat).
ALTER TABLE audit_events ADD COLUMN event_id TEXT;
ALTER TABLE audit_events ADD COLUMN event_hash TEXT;
ALTER TABLE audit_events ADD COLUMN run INTEGER;
-- Once per run: a re-run repeats some of its first run's events word for word.
CREATE UNIQUE INDEX IF NOT EXISTS idx_events_audit_event_id
  ON audit_events (audit_id, event_id, event_hash, run) WHERE event_id IS NOT NULL;

ALTER TABLE audit_screenshots ADD COLUMN run INTEGER;
-- A finding's weakness and score where the producer gives them (`finding.cwe_id`,
-- `finding.cvss_score`).
ALTER TABLE audit_findings ADD COLUMN run INTEGER;
ALTER TABLE audit_findings ADD COLUMN cwe_id TEXT;
ALTER TABLE audit_findings ADD COLUMN cvss_score REAL;

-- A finding's key is unique within one run of its audit, not across runs: a re-run finds
-- the same things again, and they belong to it.
UPDATE audit_findings SET run = 1 WHERE finding_key IS NOT NULL;
DROP INDEX IF EXISTS idx_findings_audit_key;
CREATE UNIQUE INDEX IF NOT EXISTS idx_findings_audit_run_key
  ON audit_findings (audit_id, run, finding_key) WHERE finding_key IS NOT NULL;
