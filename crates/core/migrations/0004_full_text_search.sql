-- Full-text search over audits' url and narrative and findings' text. External-content
-- FTS5 tables hold only the index; triggers keep them current, so rows inserted by other
-- programs (the Python backend) are found too. 'rebuild' indexes what exists already.
CREATE VIRTUAL TABLE IF NOT EXISTS audits_fts USING fts5(
  url, narrative,
  content = 'audits', content_rowid = 'rowid',
  tokenize = 'unicode61 remove_diacritics 2'
);
CREATE VIRTUAL TABLE IF NOT EXISTS findings_fts USING fts5(
  pattern_type, category, description, plain_english,
  content = 'audit_findings', content_rowid = 'id',
  tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER IF NOT EXISTS audits_fts_insert AFTER INSERT ON audits BEGIN
  INSERT INTO audits_fts (rowid, url, narrative) VALUES (new.rowid, new.url, new.narrative);
END;
CREATE TRIGGER IF NOT EXISTS audits_fts_delete AFTER DELETE ON audits BEGIN
  INSERT INTO audits_fts (audits_fts, rowid, url, narrative)
    VALUES ('delete', old.rowid, old.url, old.narrative);
END;
-- Only a change of the indexed text touches the index; status and counter updates don't.
CREATE TRIGGER IF NOT EXISTS audits_fts_update AFTER UPDATE OF url, narrative ON audits BEGIN
  INSERT INTO audits_fts (audits_fts, rowid, url, narrative)
    VALUES ('delete', old.rowid, old.url, old.narrative);
  INSERT INTO audits_fts (rowid, url, narrative) VALUES (new.rowid, new.url, new.narrative);
END;

CREATE TRIGGER IF NOT EXISTS findings_fts_insert AFTER INSERT ON audit_findings BEGIN
  INSERT INTO findings_fts (rowid, pattern_type, category, description, plain_english)
    VALUES (new.id, new.pattern_type, new.category, new.description, new.plain_english);
END;
CREATE TRIGGER IF NOT EXISTS findings_fts_delete AFTER DELETE ON audit_findings BEGIN
  INSERT INTO findings_fts (findings_fts, rowid, pattern_type, category, description, plain_english)
    VALUES ('delete', old.id, old.pattern_type, old.category, old.description, old.plain_english);
END;
CREATE TRIGGER IF NOT EXISTS findings_fts_update
  AFTER UPDATE OF pattern_type, category, description, plain_english ON audit_findings BEGIN
  INSERT INTO findings_fts (findings_fts, rowid, pattern_type, category, description, plain_english)
    VALUES ('delete', old.id, old.pattern_type, old.category, old.description, old.plain_english);
  INSERT INTO findings_fts (rowid, pattern_type, category, description, plain_english)
    VALUES (new.id, new.pattern_type, new.category, new.description, new.plain_english);
END;

INSERT INTO audits_fts (audits_fts) VALUES ('rebuild');
INSERT INTO findings_fts (findings_fts) VALUES ('rebuild');
