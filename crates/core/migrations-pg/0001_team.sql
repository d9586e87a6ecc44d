-- Team mode (issue 15): the audits of several producers and analysts in one PostgreSQL
-- database. The columns are the SQLite schema's (docs/VERITAS_SCHEMA.md), typed by what the
-- core reads them as: JSON as jsonb, scores as double precision. Times stay the text the
-- producers wrote (the same values the SQLite database holds; the core parses both alike).
-- Row ids are this database's own; an audit's findings, screenshots and events also carry
-- `seq`, their order within the audit, which is what `push` matches on so that pushing the
-- same folder twice changes nothing (and a finding keeps its id, which triage refers to).

CREATE TABLE projects (
  name TEXT PRIMARY KEY,
  created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE audits (
  id TEXT PRIMARY KEY,
  project TEXT NOT NULL REFERENCES projects (name),
  url TEXT NOT NULL,
  status TEXT NOT NULL,
  audit_tier TEXT,
  verdict_mode TEXT,
  trust_score DOUBLE PRECISION,
  risk_level TEXT,
  signal_scores JSONB,
  narrative TEXT,
  site_type TEXT,
  site_type_confidence DOUBLE PRECISION,
  security_results JSONB,
  pages_scanned BIGINT,
  screenshots_count BIGINT,
  elapsed_seconds DOUBLE PRECISION,
  errors JSONB,
  error_message TEXT,
  started_at TEXT,
  completed_at TEXT,
  created_at TEXT,
  updated_at TEXT
);
-- The list's orders, as the list sorts (text in byte order, "C", as SQLite compares it):
-- keyset paging walks these in either direction.
CREATE INDEX audits_list_created ON audits (project, (COALESCE(created_at, '') COLLATE "C"), (id COLLATE "C"));
CREATE INDEX audits_list_score ON audits (project, (COALESCE(trust_score, -1.0)), (id COLLATE "C"));
CREATE INDEX audits_list_url ON audits (project, (url COLLATE "C"), (id COLLATE "C"));
-- Full-text search, PostgreSQL's own (team/read.rs): the same expressions as the queries.
CREATE INDEX audits_search ON audits USING GIN (to_tsvector('simple', url || ' ' || COALESCE(narrative, '')));

CREATE TABLE audit_findings (
  id BIGSERIAL PRIMARY KEY,
  audit_id TEXT NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  pattern_type TEXT NOT NULL,
  category TEXT,
  severity TEXT NOT NULL,
  confidence DOUBLE PRECISION NOT NULL,
  description TEXT NOT NULL,
  plain_english TEXT,
  screenshot_index BIGINT,
  created_at TEXT,
  finding_key TEXT,
  -- The problem it is, the same across a site's audits (SQLite's migration 10 derives it;
  -- push copies it): what triage decisions are about.
  fingerprint TEXT,
  embedding REAL[],
  embedding_model TEXT,
  embedding_model_version TEXT,
  cwe_id TEXT,
  cvss_score DOUBLE PRECISION,
  run BIGINT NOT NULL,
  UNIQUE (audit_id, seq)
);
CREATE INDEX audit_findings_search ON audit_findings
  USING GIN (to_tsvector('simple', pattern_type || ' ' || description || ' ' || COALESCE(plain_english, '')));

-- A screenshot's bytes live in the object store under `object_key` (content-addressed:
-- sha256 of the bytes), written before this row is committed; NULL when the producer's file
-- was missing, as the SQLite database records it by its path alone.
CREATE TABLE audit_screenshots (
  id BIGSERIAL PRIMARY KEY,
  audit_id TEXT NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  object_key TEXT,
  -- What the bytes are, read from them when they were stored (the store is not asked again).
  format TEXT,
  width INTEGER,
  height INTEGER,
  file_path TEXT NOT NULL,
  label TEXT NOT NULL,
  index_num BIGINT NOT NULL,
  file_size_bytes BIGINT,
  created_at TEXT,
  run BIGINT NOT NULL,
  UNIQUE (audit_id, seq)
);
CREATE INDEX audit_screenshots_object ON audit_screenshots (object_key);

CREATE TABLE audit_events (
  id BIGSERIAL PRIMARY KEY,
  audit_id TEXT NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
  seq INTEGER NOT NULL,
  event_type TEXT NOT NULL,
  data JSONB,
  timestamp TEXT,
  run BIGINT NOT NULL,
  UNIQUE (audit_id, seq)
);

-- Triage decisions, as `veritas-db triage export` writes them: by project and site, each
-- decision once (its id is made from its content).
CREATE TABLE triage (
  project TEXT NOT NULL REFERENCES projects (name),
  id TEXT NOT NULL,
  site TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  audit_id TEXT,
  verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'false_positive', 'accepted_risk', 'needs_review')),
  note TEXT NOT NULL DEFAULT '',
  author TEXT NOT NULL,
  decided_at TEXT NOT NULL,
  origin_audit_id TEXT NOT NULL,
  origin_finding_id BIGINT,
  replaces JSONB NOT NULL DEFAULT '[]',
  recorded_at TEXT NOT NULL,
  imported_from TEXT,
  PRIMARY KEY (project, site, id)
);

-- Live updates: every committed change to the audits, their rows or triage notifies the
-- channel veritas_changed once per statement; the app LISTENs (team/live.rs) instead of
-- polling. NOTIFY is delivered at commit, and a transaction's duplicates are folded.
CREATE FUNCTION veritas_notify_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('veritas_changed', TG_TABLE_NAME);
  RETURN NULL;
END
$$;
CREATE TRIGGER audits_changed AFTER INSERT OR UPDATE OR DELETE ON audits
  FOR EACH STATEMENT EXECUTE FUNCTION veritas_notify_changed();
CREATE TRIGGER audit_findings_changed AFTER INSERT OR UPDATE OR DELETE ON audit_findings
  FOR EACH STATEMENT EXECUTE FUNCTION veritas_notify_changed();
CREATE TRIGGER audit_screenshots_changed AFTER INSERT OR UPDATE OR DELETE ON audit_screenshots
  FOR EACH STATEMENT EXECUTE FUNCTION veritas_notify_changed();
CREATE TRIGGER triage_changed AFTER INSERT OR UPDATE OR DELETE ON triage
  FOR EACH STATEMENT EXECUTE FUNCTION veritas_notify_changed();
