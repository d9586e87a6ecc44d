-- Triage (issue 14): a person's verdict on a finding's problem, kept as history (rows are
-- only ever added). A decision belongs to the fingerprint within the site (migration 10),
-- so it carries to every audit of the site; one with `audit_id` set overrides it for that
-- audit alone.
--
-- Decisions are exchanged between analysts (`veritas-db triage export/import`), so each has
-- an id made from its content (the same decision imported twice into a project is stored
-- once) and names
-- the decisions it replaced (`replaces`, a JSON array of ids: those that were current for
-- its key when it was made). The current verdict of a key is that of the decisions no other
-- decision replaces; two of them that disagree are a conflict, shown as such until someone
-- decides again.
CREATE TABLE IF NOT EXISTS triage (
  id TEXT NOT NULL,
  site TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  audit_id TEXT,
  verdict TEXT NOT NULL CHECK (verdict IN ('confirmed', 'false_positive', 'accepted_risk', 'needs_review')),
  note TEXT NOT NULL DEFAULT '',
  author TEXT NOT NULL,
  decided_at TEXT NOT NULL,
  -- The audit and finding the decision was made on (the finding's row id is this
  -- database's; an imported decision keeps the exporter's audit id only).
  origin_audit_id TEXT NOT NULL,
  origin_finding_id INTEGER,
  replaces TEXT NOT NULL DEFAULT '[]',
  -- When this database learnt of it, and from which export (NULL: made here).
  recorded_at TEXT NOT NULL,
  imported_from TEXT,
  -- Per site: the same decision may be imported into two projects.
  PRIMARY KEY (site, id)
);
CREATE INDEX IF NOT EXISTS idx_triage_key ON triage (site, fingerprint, audit_id);
