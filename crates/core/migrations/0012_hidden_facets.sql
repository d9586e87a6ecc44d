-- Triaged-away findings out of the facets (issue 14): a finding whose verdict in force is
-- a false positive or an accepted risk no longer gives its audit a severity or pattern
-- fact, so the sidebar's counts and the list's severity and pattern filters leave it out,
-- as the findings view does. A switch brings them back: such a finding gives its audit a
-- `severity_hidden` / `pattern_hidden` fact instead, but only while the audit has no
-- visible finding of the same value. An audit's visible and hidden-only facts of a value
-- are so never both there, and "with the hidden ones" is the sum of the two kinds' counts,
-- per value and per pair, read from the maintained counts like any other fact.

-- The verdict in force of each triage key (site, fingerprint and `scope`: the audit id of
-- an audit's own decisions, '' for the site's), as `triage::judge` reads it: it hides when
-- the key's current decisions (those no other replaces) agree on a verdict that hides; a
-- conflict hides nothing. Kept by the trigger on `triage` below; doctor compares it with
-- the view.
CREATE TABLE IF NOT EXISTS triage_state (
  site TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  scope TEXT NOT NULL,
  hides INTEGER NOT NULL,
  PRIMARY KEY (site, fingerprint, scope)
) WITHOUT ROWID;

-- `replaces` that is not JSON (another program's row) replaces nothing, as Rust reads it.
CREATE VIEW IF NOT EXISTS triage_heads AS
  SELECT t.*, NOT EXISTS (
           SELECT 1 FROM triage e,
                  json_each(CASE WHEN json_valid(e.replaces) THEN e.replaces ELSE '[]' END) r
           WHERE e.site = t.site AND e.fingerprint = t.fingerprint AND e.audit_id IS t.audit_id
             AND r.value = t.id) AS head
  FROM triage t;

CREATE VIEW IF NOT EXISTS triage_state_expected AS
  SELECT site, fingerprint, ifnull(audit_id, '') AS scope,
         ifnull(count(DISTINCT CASE WHEN head THEN verdict END) = 1
                AND max(head AND verdict IN ('false_positive', 'accepted_risk')), 0) AS hides
  FROM triage_heads GROUP BY 1, 2, 3;

-- Whether each finding is hidden: its audit's own decisions if there are any, else its
-- site's (a finding of no site yet is not hidden).
CREATE VIEW IF NOT EXISTS finding_visibility AS
  SELECT f.id AS finding_id, f.audit_id, lower(f.severity) AS severity, f.pattern_type,
         ifnull((SELECT ifnull(
                   (SELECT s.hides FROM triage_state s
                    WHERE s.site = fp.site AND s.fingerprint = fp.fingerprint AND s.scope = fp.audit_id),
                   (SELECT s.hides FROM triage_state s
                    WHERE s.site = fp.site AND s.fingerprint = fp.fingerprint AND s.scope = ''))
                 FROM finding_fingerprints fp WHERE fp.finding_id = f.id), 0) AS hidden
  FROM audit_findings f;

-- The findings hidden now, driven from the few triage keys that hide (CROSS JOIN keeps
-- that order whatever the planner guesses of a table it has no statistics for).
CREATE VIEW IF NOT EXISTS hidden_findings AS
  SELECT fp.finding_id, fp.audit_id, fp.site
  FROM triage_state ts CROSS JOIN finding_fingerprints fp
    ON fp.site = ts.site AND fp.fingerprint = ts.fingerprint AND fp.audit_id = ts.scope
  WHERE ts.hides
  UNION
  SELECT fp.finding_id, fp.audit_id, fp.site
  FROM triage_state ts CROSS JOIN finding_fingerprints fp
    ON fp.site = ts.site AND fp.fingerprint = ts.fingerprint
  WHERE ts.hides AND ts.scope = ''
    AND NOT EXISTS (SELECT 1 FROM triage_state o
                    WHERE o.site = fp.site AND o.fingerprint = fp.fingerprint AND o.scope = fp.audit_id);

-- Migration 7's view, now by visibility: the rebuild and the doctor's check.
DROP VIEW IF EXISTS finding_facts_expected;
CREATE VIEW finding_facts_expected AS
  SELECT CASE WHEN min(hidden) THEN 'severity_hidden' ELSE 'severity' END AS kind,
         severity AS value, audit_id
    FROM finding_visibility WHERE severity IS NOT NULL AND audit_id IN (SELECT id FROM audits)
    GROUP BY audit_id, severity
  UNION ALL
  SELECT CASE WHEN min(hidden) THEN 'pattern_hidden' ELSE 'pattern' END, pattern_type, audit_id
    FROM finding_visibility WHERE pattern_type IS NOT NULL AND audit_id IN (SELECT id FROM audits)
    GROUP BY audit_id, pattern_type;

INSERT OR REPLACE INTO triage_state (site, fingerprint, scope, hides)
  SELECT site, fingerprint, scope, hides FROM triage_state_expected;

-- A decision: its key's verdict in force again, then the facts of the findings it can
-- change (its problem's on the site, or on its audit alone) taken out and put back by
-- visibility; the fact triggers move the counts.
CREATE TRIGGER IF NOT EXISTS triage_state_insert AFTER INSERT ON triage BEGIN
  -- Deleted and inserted, not INSERT OR REPLACE: the writer adds decisions with INSERT OR
  -- IGNORE, and an outer statement's conflict policy overrides its triggers' own.
  DELETE FROM triage_state
    WHERE site = new.site AND fingerprint = new.fingerprint AND scope = ifnull(new.audit_id, '');
  INSERT INTO triage_state (site, fingerprint, scope, hides)
    SELECT new.site, new.fingerprint, ifnull(new.audit_id, ''),
           ifnull(count(DISTINCT CASE WHEN head THEN verdict END) = 1
                  AND max(head AND verdict IN ('false_positive', 'accepted_risk')), 0)
    FROM triage_heads
    WHERE site = new.site AND fingerprint = new.fingerprint AND audit_id IS new.audit_id;
  DELETE FROM audit_facts WHERE source = 'finding' AND kind IN ('severity', 'severity_hidden')
    AND (value, audit_id) IN (
      SELECT lower(f.severity), f.audit_id FROM finding_fingerprints fp JOIN audit_findings f ON f.id = fp.finding_id
      WHERE fp.site = new.site AND fp.fingerprint = new.fingerprint
        AND (new.audit_id IS NULL OR fp.audit_id = new.audit_id));
  DELETE FROM audit_facts WHERE source = 'finding' AND kind IN ('pattern', 'pattern_hidden')
    AND (value, audit_id) IN (
      SELECT f.pattern_type, f.audit_id FROM finding_fingerprints fp JOIN audit_findings f ON f.id = fp.finding_id
      WHERE fp.site = new.site AND fp.fingerprint = new.fingerprint
        AND (new.audit_id IS NULL OR fp.audit_id = new.audit_id));
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT CASE WHEN min(v.hidden) THEN 'severity_hidden' ELSE 'severity' END, v.severity, v.audit_id, 'finding'
    FROM (SELECT DISTINCT f.audit_id, lower(f.severity) AS severity
          FROM finding_fingerprints fp JOIN audit_findings f ON f.id = fp.finding_id
          WHERE fp.site = new.site AND fp.fingerprint = new.fingerprint
            AND (new.audit_id IS NULL OR fp.audit_id = new.audit_id)
            AND f.severity IS NOT NULL AND f.audit_id IN (SELECT id FROM audits)) k
    JOIN finding_visibility v ON v.audit_id = k.audit_id AND v.severity = k.severity
    GROUP BY v.audit_id, v.severity;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT CASE WHEN min(v.hidden) THEN 'pattern_hidden' ELSE 'pattern' END, v.pattern_type, v.audit_id, 'finding'
    FROM (SELECT DISTINCT f.audit_id, f.pattern_type
          FROM finding_fingerprints fp JOIN audit_findings f ON f.id = fp.finding_id
          WHERE fp.site = new.site AND fp.fingerprint = new.fingerprint
            AND (new.audit_id IS NULL OR fp.audit_id = new.audit_id)
            AND f.pattern_type IS NOT NULL AND f.audit_id IN (SELECT id FROM audits)) k
    JOIN finding_visibility v ON v.audit_id = k.audit_id AND v.pattern_type = k.pattern_type
    GROUP BY v.audit_id, v.pattern_type;
END;

-- Findings: migration 7's fact triggers folded into migration 10's fingerprint triggers,
-- one per event, because visibility is read from the fingerprint the same event writes
-- (and SQLite does not promise an order between triggers).
DROP TRIGGER IF EXISTS finding_facts_insert;
DROP TRIGGER IF EXISTS finding_facts_update;
DROP TRIGGER IF EXISTS finding_facts_delete;

DROP TRIGGER IF EXISTS finding_fingerprints_insert;
CREATE TRIGGER finding_fingerprints_insert AFTER INSERT ON audit_findings BEGIN
  INSERT OR REPLACE INTO finding_fingerprints (finding_id, audit_id, fingerprint, site, seq)
    SELECT finding_id, audit_id, fingerprint, site, seq FROM finding_fingerprints_expected
    WHERE finding_id = new.id;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'change', change, audit_id, 'fingerprint' FROM finding_changes
    WHERE finding_id = new.id AND change IS NOT NULL AND audit_id IN (SELECT id FROM audits);
  -- A visible finding gives its value's fact and ends a hidden-only one; a hidden one gives
  -- the hidden-only fact unless a visible finding of the value is there already.
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT CASE WHEN v.hidden THEN 'severity_hidden' ELSE 'severity' END, v.severity, v.audit_id, 'finding'
    FROM finding_visibility v
    WHERE v.finding_id = new.id AND v.severity IS NOT NULL
      AND EXISTS (SELECT 1 FROM audits WHERE id = new.audit_id)
      AND NOT (v.hidden AND EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = 'severity'
                                    AND x.value = v.severity AND x.audit_id = v.audit_id));
  DELETE FROM audit_facts WHERE kind = 'severity_hidden' AND value = lower(new.severity)
    AND audit_id = new.audit_id
    AND EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = 'severity'
                AND x.value = lower(new.severity) AND x.audit_id = new.audit_id);
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT CASE WHEN v.hidden THEN 'pattern_hidden' ELSE 'pattern' END, v.pattern_type, v.audit_id, 'finding'
    FROM finding_visibility v
    WHERE v.finding_id = new.id AND v.pattern_type IS NOT NULL
      AND EXISTS (SELECT 1 FROM audits WHERE id = new.audit_id)
      AND NOT (v.hidden AND EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = 'pattern'
                                    AND x.value = v.pattern_type AND x.audit_id = v.audit_id));
  DELETE FROM audit_facts WHERE kind = 'pattern_hidden' AND value = new.pattern_type
    AND audit_id = new.audit_id
    AND EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = 'pattern'
                AND x.value = new.pattern_type AND x.audit_id = new.audit_id);
END;

-- A changed finding: fingerprinted again (and its audits' change flags judged again) when
-- what makes the fingerprint changed; the facts of its old and new values worked out again
-- from the audit's findings.
DROP TRIGGER IF EXISTS finding_fingerprints_update;
CREATE TRIGGER finding_fingerprints_update
  AFTER UPDATE OF audit_id, category, pattern_type, cwe_id, severity ON audit_findings
  WHEN old.audit_id IS NOT new.audit_id OR old.category IS NOT new.category
    OR old.pattern_type IS NOT new.pattern_type OR old.cwe_id IS NOT new.cwe_id
    OR old.severity IS NOT new.severity
BEGIN
  INSERT OR REPLACE INTO finding_fingerprints (finding_id, audit_id, fingerprint, site, seq)
    SELECT finding_id, audit_id, fingerprint, site, seq FROM finding_fingerprints_expected
    WHERE finding_id = new.id;
  DELETE FROM audit_facts WHERE kind = 'change' AND audit_id IN (old.audit_id, new.audit_id);
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', change, audit_id, 'fingerprint' FROM finding_changes
    WHERE audit_id IN (old.audit_id, new.audit_id) AND change IS NOT NULL
      AND audit_id IN (SELECT id FROM audits);
  DELETE FROM audit_facts WHERE source = 'finding' AND (
       (kind IN ('severity', 'severity_hidden')
        AND (value, audit_id) IN (SELECT lower(old.severity), old.audit_id UNION SELECT lower(new.severity), new.audit_id))
    OR (kind IN ('pattern', 'pattern_hidden')
        AND (value, audit_id) IN (SELECT old.pattern_type, old.audit_id UNION SELECT new.pattern_type, new.audit_id)));
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT CASE WHEN min(v.hidden) THEN 'severity_hidden' ELSE 'severity' END, v.severity, v.audit_id, 'finding'
    FROM finding_visibility v
    WHERE (v.audit_id, v.severity) IN (SELECT old.audit_id, lower(old.severity) UNION SELECT new.audit_id, lower(new.severity))
      AND v.audit_id IN (SELECT id FROM audits)
    GROUP BY v.audit_id, v.severity;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT CASE WHEN min(v.hidden) THEN 'pattern_hidden' ELSE 'pattern' END, v.pattern_type, v.audit_id, 'finding'
    FROM finding_visibility v
    WHERE (v.audit_id, v.pattern_type) IN (SELECT old.audit_id, old.pattern_type UNION SELECT new.audit_id, new.pattern_type)
      AND v.audit_id IN (SELECT id FROM audits)
    GROUP BY v.audit_id, v.pattern_type;
END;

-- A deleted finding: its value's facts follow the findings left (each EXISTS stops at the
-- first, so deleting an audit's findings one by one stays linear when nothing is hidden).
DROP TRIGGER IF EXISTS finding_fingerprints_delete;
CREATE TRIGGER finding_fingerprints_delete AFTER DELETE ON audit_findings BEGIN
  DELETE FROM finding_fingerprints WHERE finding_id = old.id;
  DELETE FROM audit_facts WHERE kind = 'change' AND audit_id = old.audit_id;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', change, audit_id, 'fingerprint' FROM finding_changes
    WHERE audit_id = old.audit_id AND change IS NOT NULL AND audit_id IN (SELECT id FROM audits);
  DELETE FROM audit_facts WHERE kind = 'severity' AND value = lower(old.severity) AND audit_id = old.audit_id
    AND NOT EXISTS (SELECT 1 FROM finding_visibility v WHERE v.audit_id = old.audit_id
                    AND v.severity = lower(old.severity) AND NOT v.hidden);
  DELETE FROM audit_facts WHERE kind = 'severity_hidden' AND value = lower(old.severity) AND audit_id = old.audit_id
    AND (EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = 'severity' AND x.value = lower(old.severity)
                 AND x.audit_id = old.audit_id)
         OR NOT EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = old.audit_id
                        AND lower(f.severity) = lower(old.severity)));
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'severity_hidden', lower(old.severity), old.audit_id, 'finding'
    WHERE EXISTS (SELECT 1 FROM audits WHERE id = old.audit_id)
      AND NOT EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = 'severity' AND x.value = lower(old.severity)
                      AND x.audit_id = old.audit_id)
      AND EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = old.audit_id
                  AND lower(f.severity) = lower(old.severity));
  DELETE FROM audit_facts WHERE kind = 'pattern' AND value = old.pattern_type AND audit_id = old.audit_id
    AND NOT EXISTS (SELECT 1 FROM finding_visibility v WHERE v.audit_id = old.audit_id
                    AND v.pattern_type = old.pattern_type AND NOT v.hidden);
  DELETE FROM audit_facts WHERE kind = 'pattern_hidden' AND value = old.pattern_type AND audit_id = old.audit_id
    AND (EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = 'pattern' AND x.value = old.pattern_type
                 AND x.audit_id = old.audit_id)
         OR NOT EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = old.audit_id
                        AND f.pattern_type = old.pattern_type));
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'pattern_hidden', old.pattern_type, old.audit_id, 'finding'
    WHERE EXISTS (SELECT 1 FROM audits WHERE id = old.audit_id)
      AND NOT EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = 'pattern' AND x.value = old.pattern_type
                      AND x.audit_id = old.audit_id)
      AND EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = old.audit_id
                  AND f.pattern_type = old.pattern_type);
END;

-- A new audit: migration 10's trigger again, with the facts of findings written before it
-- moved after its place on its site, where their visibility can be read.
DROP TRIGGER IF EXISTS audit_facets_insert;
CREATE TRIGGER audit_facets_insert AFTER INSERT ON audits BEGIN
  INSERT INTO facet_counts (project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n)
    SELECT d.project, k.kind, k.value, d.status, d.risk_level, d.audit_tier, d.site_type, d.score, d.whole, 1
    FROM audit_facet_dims d,
         (SELECT 'audit' AS kind, '' AS value
          UNION SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = new.id) k
    WHERE d.audit_id = new.id
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
    SELECT ifnull(new.project, x''), x.kind, x.value, y.kind, y.value, 1
    FROM (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = new.id) x,
         (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = new.id) y
    WHERE (x.kind, x.value) <> (y.kind, y.value)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'cwe', cwe, audit_id, 'security' FROM security_result_cwes WHERE audit_id = new.id;
  INSERT OR REPLACE INTO site_audits (site, seq, audit_id) VALUES (new.project || char(31) || rtrim(new.url, '/'), ifnull(new.created_at, '') || ' ' || new.id, new.id);
  UPDATE finding_fingerprints SET site = new.project || char(31) || rtrim(new.url, '/'), seq = ifnull(new.created_at, '') || ' ' || new.id WHERE audit_id = new.id;
  -- Findings written before their audit (or left behind by a delete with foreign keys
  -- off) give it their facts now, by visibility; the fact trigger counts them.
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT CASE WHEN min(hidden) THEN 'severity_hidden' ELSE 'severity' END, severity, audit_id, 'finding'
      FROM finding_visibility WHERE audit_id = new.id AND severity IS NOT NULL GROUP BY severity
    UNION ALL
    SELECT CASE WHEN min(hidden) THEN 'pattern_hidden' ELSE 'pattern' END, pattern_type, audit_id, 'finding'
      FROM finding_visibility WHERE audit_id = new.id AND pattern_type IS NOT NULL GROUP BY pattern_type;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', change, audit_id, 'fingerprint' FROM finding_changes
    WHERE audit_id = new.id AND change IS NOT NULL;
END;

-- Facts of findings already hidden by decisions made before this migration: their audits'
-- finding facts made again by visibility (driven from the hidden findings, so nothing is
-- read when no decision hides anything).
DELETE FROM audit_facts WHERE audit_id IN (SELECT audit_id FROM hidden_findings)
  AND source = 'finding' AND kind IN ('severity', 'severity_hidden', 'pattern', 'pattern_hidden');
INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
  SELECT CASE WHEN min(v.hidden) THEN 'severity_hidden' ELSE 'severity' END, v.severity, v.audit_id, 'finding'
    FROM (SELECT DISTINCT audit_id FROM hidden_findings) h CROSS JOIN finding_visibility v ON v.audit_id = h.audit_id
    WHERE v.severity IS NOT NULL AND h.audit_id IN (SELECT id FROM audits)
    GROUP BY v.audit_id, v.severity
  UNION ALL
  SELECT CASE WHEN min(v.hidden) THEN 'pattern_hidden' ELSE 'pattern' END, v.pattern_type, v.audit_id, 'finding'
    FROM (SELECT DISTINCT audit_id FROM hidden_findings) h CROSS JOIN finding_visibility v ON v.audit_id = h.audit_id
    WHERE v.pattern_type IS NOT NULL AND h.audit_id IN (SELECT id FROM audits)
    GROUP BY v.audit_id, v.pattern_type;

-- A deleted audit leaves its site: migration 10 judged again only the audit after it, but
-- every later audit of the site may have had a finding "seen before" only in the deleted
-- one (new now, not regressed), so all of them are judged again.
DROP TRIGGER IF EXISTS site_audits_delete;
CREATE TRIGGER site_audits_delete AFTER DELETE ON audits BEGIN
  -- Its findings go with it (foreign keys on); left behind, they belong to no site.
  UPDATE finding_fingerprints SET site = NULL, seq = NULL WHERE audit_id = old.id;
  DELETE FROM site_audits WHERE audit_id = old.id;
  DELETE FROM audit_facts WHERE kind = 'change' AND audit_id IN (
    SELECT s.audit_id FROM site_audits s
    WHERE s.site = old.project || char(31) || rtrim(old.url, '/')
      AND s.seq > ifnull(old.created_at, '') || ' ' || old.id);
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', c.change, c.audit_id, 'fingerprint'
    FROM site_audits s JOIN finding_changes c ON c.audit_id = s.audit_id
    WHERE s.site = old.project || char(31) || rtrim(old.url, '/')
      AND s.seq > ifnull(old.created_at, '') || ' ' || old.id
      AND c.change IS NOT NULL;
END;
