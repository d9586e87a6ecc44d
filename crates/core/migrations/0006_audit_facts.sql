-- Facts of an audit that the list filters and counts by, one row each: MITRE ATT&CK
-- techniques (`mitre`), weaknesses (`cwe`, as CWE-<n>) and whether it has green flags
-- (`green_flags`, value `yes`). `source` says who keeps the row: `event` rows are written
-- by our writer from the events it stores, `security` rows by the triggers below from
-- the `security_results` column, so CWE ids of modules the backend itself writes are
-- found too.
CREATE TABLE IF NOT EXISTS audit_facts (
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  audit_id TEXT NOT NULL,
  source TEXT NOT NULL,
  PRIMARY KEY (kind, value, audit_id, source)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_audit_facts_audit ON audit_facts (audit_id, kind, value);

-- CWE ids named by security modules' findings: {"module": {"findings": [{"cwe_id": ...}]}}.
CREATE VIEW IF NOT EXISTS security_result_cwes AS
  SELECT a.id AS audit_id,
         'CWE-' || CASE WHEN upper(CAST(json_extract(f.value, '$.cwe_id') AS TEXT)) LIKE 'CWE-%'
                        THEN substr(CAST(json_extract(f.value, '$.cwe_id') AS TEXT), 5)
                        ELSE CAST(json_extract(f.value, '$.cwe_id') AS TEXT) END AS cwe
  FROM audits a, json_each(a.security_results) m, json_each(m.value, '$.findings') f
  WHERE json_valid(a.security_results) AND json_type(a.security_results) = 'object'
    AND json_type(m.value) = 'object' AND json_type(m.value, '$.findings') = 'array'
    AND json_type(f.value) = 'object' AND json_type(f.value, '$.cwe_id') IN ('integer', 'text');

CREATE TRIGGER IF NOT EXISTS audit_facts_security_insert AFTER INSERT ON audits BEGIN
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'cwe', cwe, audit_id, 'security' FROM security_result_cwes WHERE audit_id = new.id;
END;
CREATE TRIGGER IF NOT EXISTS audit_facts_security_update AFTER UPDATE OF security_results ON audits BEGIN
  DELETE FROM audit_facts WHERE audit_id = new.id AND source = 'security';
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'cwe', cwe, audit_id, 'security' FROM security_result_cwes WHERE audit_id = new.id;
END;
CREATE TRIGGER IF NOT EXISTS audit_facts_delete AFTER DELETE ON audits BEGIN
  DELETE FROM audit_facts WHERE audit_id = old.id;
END;

INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
  SELECT 'cwe', cwe, audit_id, 'security' FROM security_result_cwes;
INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
  SELECT 'cwe', cwe_id, audit_id, 'event' FROM audit_findings WHERE cwe_id IS NOT NULL;

-- Which run an arriving event joins is asked for every event (write/runs.rs): the latest
-- run of its audit, read from this index's end instead of from all the audit's events.
CREATE INDEX IF NOT EXISTS idx_events_audit_run ON audit_events (audit_id, run);
