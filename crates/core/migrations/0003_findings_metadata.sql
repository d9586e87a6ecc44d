-- Findings keep an embedding (f32 little-endian BLOB) with the model that made it, so that
-- similar findings can be found across audits; all nullable, the backend never sets them.
ALTER TABLE audit_findings ADD COLUMN embedding BLOB;
ALTER TABLE audit_findings ADD COLUMN embedding_model TEXT;
ALTER TABLE audit_findings ADD COLUMN embedding_model_version TEXT;
-- A finding's identity within its audit (the producer's id, or pattern_type + confidence
-- the way the backend derives ids), so the same finding received twice is stored once.
ALTER TABLE audit_findings ADD COLUMN finding_key TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS idx_findings_audit_key
  ON audit_findings (audit_id, finding_key) WHERE finding_key IS NOT NULL;
-- Serves similar-findings look-ups: only rows with an embedding of one model.
CREATE INDEX IF NOT EXISTS idx_findings_embedding_model
  ON audit_findings (embedding_model, embedding_model_version) WHERE embedding IS NOT NULL;
