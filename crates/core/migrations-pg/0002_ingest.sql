-- Ingest straight into the team database (issue 15): what an event stream's writer needs
-- beyond what push copies.

-- An event's identity as its producer numbered it (SQLite's migration 5): the same id and
-- content again is a replay, the same id with other content the next run of the audit.
ALTER TABLE audit_events ADD COLUMN event_id TEXT, ADD COLUMN event_hash TEXT;
CREATE INDEX audit_events_identity ON audit_events (audit_id, event_id, event_hash);
CREATE INDEX audit_events_run ON audit_events (audit_id, run);
CREATE INDEX audit_screenshots_run ON audit_screenshots (audit_id, run);

-- A finding's fingerprint, computed by the database from the row as SQLite's view
-- `finding_fingerprints_expected` computes it (migration 10), so every writer (push, ingest,
-- a finding enriched by a later copy) keeps it right. "C": lower/upper of ASCII only, as
-- SQLite's are.
ALTER TABLE audit_findings DROP COLUMN fingerprint;
ALTER TABLE audit_findings ADD COLUMN fingerprint TEXT GENERATED ALWAYS AS (
  lower(trim(COALESCE(category, '')) COLLATE "C") || '|'
    || replace(replace(lower(trim(pattern_type) COLLATE "C"), ' ', '_'), '-', '_') || '|'
    || CASE WHEN cwe_id IS NULL OR trim(cwe_id) = '' THEN ''
            WHEN upper(trim(cwe_id) COLLATE "C") LIKE 'CWE-%' THEN 'cwe-' || substr(trim(cwe_id), 5)
            ELSE 'cwe-' || trim(cwe_id) END
) STORED;
CREATE INDEX audit_findings_fingerprint ON audit_findings (audit_id, fingerprint);
