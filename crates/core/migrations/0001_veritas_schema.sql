-- The Veritas backend's schema, exactly as its ORM creates it (docs/VERITAS_SCHEMA.md).
-- IF NOT EXISTS: a database the backend already created is adopted as it is.
CREATE TABLE IF NOT EXISTS audits (
  id VARCHAR(16) NOT NULL PRIMARY KEY,
  url TEXT NOT NULL,
  status VARCHAR(12) NOT NULL,
  audit_tier VARCHAR(50),
  verdict_mode VARCHAR(20),
  trust_score FLOAT,
  risk_level VARCHAR(50),
  signal_scores JSON,
  narrative TEXT,
  site_type VARCHAR(50),
  site_type_confidence FLOAT,
  security_results JSON,
  pages_scanned INTEGER,
  screenshots_count INTEGER,
  elapsed_seconds FLOAT,
  errors JSON,
  error_message TEXT,
  started_at DATETIME, completed_at DATETIME, created_at DATETIME, updated_at DATETIME
);
CREATE INDEX IF NOT EXISTS idx_audits_status ON audits (status);
CREATE INDEX IF NOT EXISTS idx_audits_created_at ON audits (created_at);
CREATE INDEX IF NOT EXISTS idx_audits_trust_score ON audits (trust_score);
CREATE INDEX IF NOT EXISTS idx_audits_url ON audits (url);

CREATE TABLE IF NOT EXISTS audit_findings (
  id INTEGER NOT NULL PRIMARY KEY,
  audit_id VARCHAR(16) NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
  pattern_type VARCHAR(100) NOT NULL,
  category VARCHAR(50),
  severity VARCHAR(20) NOT NULL,
  confidence FLOAT NOT NULL,
  description TEXT NOT NULL,
  plain_english TEXT,
  screenshot_index INTEGER,
  created_at DATETIME
);
CREATE INDEX IF NOT EXISTS idx_findings_audit_id ON audit_findings (audit_id);
CREATE INDEX IF NOT EXISTS idx_findings_pattern_type ON audit_findings (pattern_type);

CREATE TABLE IF NOT EXISTS audit_screenshots (
  id INTEGER NOT NULL PRIMARY KEY,
  audit_id VARCHAR(16) NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
  file_path TEXT NOT NULL,
  label TEXT NOT NULL,
  index_num INTEGER NOT NULL,
  file_size_bytes INTEGER,
  created_at DATETIME
);
CREATE INDEX IF NOT EXISTS idx_screenshots_audit_id ON audit_screenshots (audit_id);

CREATE TABLE IF NOT EXISTS audit_events (
  id INTEGER NOT NULL PRIMARY KEY,
  audit_id VARCHAR(16) NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
  event_type VARCHAR(100) NOT NULL,
  data JSON,
  timestamp DATETIME
);
CREATE INDEX IF NOT EXISTS idx_events_audit_id ON audit_events (audit_id);
