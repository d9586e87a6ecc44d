-- Projects: every audit belongs to exactly one. The column has a default so the Python
-- backend's INSERTs, which name only the original columns, land in project 'default'.
CREATE TABLE IF NOT EXISTS projects (
  name TEXT NOT NULL PRIMARY KEY,
  created_at DATETIME
);
INSERT OR IGNORE INTO projects (name, created_at) VALUES ('default', strftime('%Y-%m-%d %H:%M:%f', 'now'));
ALTER TABLE audits ADD COLUMN project TEXT NOT NULL DEFAULT 'default';

-- The list view's sort orders, scoped to a project, with the id as tie-breaker so keyset
-- pagination is exact. COALESCE gives NULLs (counters the backend left empty) a place in
-- the order; queries use the very same expressions so SQLite picks these indexes.
CREATE INDEX IF NOT EXISTS idx_audits_project_created ON audits (project, COALESCE(created_at, ''), id);
CREATE INDEX IF NOT EXISTS idx_audits_project_score ON audits (project, COALESCE(trust_score, -1.0), id);
CREATE INDEX IF NOT EXISTS idx_audits_project_url ON audits (project, url, id);
-- Serves "status X and risk level Y, by trust score": the backend writes status in upper
-- case, so the index is on lower(status), as every status filter is.
CREATE INDEX IF NOT EXISTS idx_audits_project_status_risk_score
  ON audits (project, lower(status), risk_level, COALESCE(trust_score, -1.0), id);
