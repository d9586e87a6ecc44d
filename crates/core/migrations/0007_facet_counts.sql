-- Maintained facet counts, so that the list's sidebar never counts the audits or joins
-- the findings (issue 13). Everything here is kept by triggers, so rows the Python backend
-- inserts behind our back are counted too; `veritas-db doctor` rebuilds it all from the
-- rows and compares (`maintenance.rs`), and `--repair` replaces what differs.
--
-- 1. Per-audit facts of findings: `audit_facts` rows of kind `severity` (lower case) and
--    `pattern` (source `finding`), one per distinct value of an audit's findings, so a
--    finding facet or filter reads one small row per audit instead of every finding.
-- 2. `facet_counts`: audits per combination of the audit-level facets (project, status,
--    risk level, tier, site type, whole trust score and whether it is whole), and per fact
--    (kind, value) within that combination; kind `audit` counts the audits themselves.
--    Columns have no type (BLOB affinity), so a NULL stored as x'' stays apart from any text,
--    and a score that is no number is kept as 't' (SQLite orders text above numbers, so
--    such a score passes every lower bound and no upper one, as the list's own query does).
-- 3. `facet_pairs`: audits per pair of facts (a pattern and a severity, say), for a
--    finding facet under one finding filter.

CREATE TABLE IF NOT EXISTS facet_counts (
  project NOT NULL, kind NOT NULL, value NOT NULL,
  status NOT NULL, risk_level NOT NULL, audit_tier NOT NULL, site_type NOT NULL,
  score NOT NULL, whole NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (project, kind, value, status, risk_level, audit_tier, site_type, score, whole)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS facet_pairs (
  project NOT NULL, kind NOT NULL, value NOT NULL, kind2 NOT NULL, value2 NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (project, kind, value, kind2, value2)
) WITHOUT ROWID;

-- An audit's place in `facet_counts`. The same expressions are written out on `old.` in
-- the triggers below (a view cannot be asked about a row that is gone).
CREATE VIEW IF NOT EXISTS audit_facet_dims AS
  SELECT a.id AS audit_id,
         ifnull(a.project, x'') AS project,
         ifnull(lower(a.status), x'') AS status,
         ifnull(a.risk_level, x'') AS risk_level,
         ifnull(a.audit_tier, x'') AS audit_tier,
         ifnull(a.site_type, x'') AS site_type,
         CASE typeof(a.trust_score)
           WHEN 'integer' THEN a.trust_score
           WHEN 'real' THEN CAST(a.trust_score AS INTEGER) - (a.trust_score < CAST(a.trust_score AS INTEGER))
           WHEN 'null' THEN x''
           ELSE 't' END AS score,
         CASE typeof(a.trust_score)
           WHEN 'integer' THEN 1
           WHEN 'real' THEN a.trust_score = CAST(a.trust_score AS INTEGER)
           ELSE 0 END AS whole
  FROM audits a;

-- What the counts should be, from the rows alone: the rebuild and the doctor's check.
CREATE VIEW IF NOT EXISTS facet_counts_expected AS
  SELECT d.project, k.kind, k.value, d.status, d.risk_level, d.audit_tier, d.site_type,
         d.score, d.whole, count(*) AS n
  FROM audit_facet_dims d
  JOIN (SELECT id AS audit_id, 'audit' AS kind, '' AS value FROM audits
        UNION ALL SELECT DISTINCT audit_id, kind, value FROM audit_facts) k
    ON k.audit_id = d.audit_id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

CREATE VIEW IF NOT EXISTS facet_pairs_expected AS
  SELECT d.project, x.kind, x.value, y.kind AS kind2, y.value AS value2, count(*) AS n
  FROM (SELECT DISTINCT audit_id, kind, value FROM audit_facts) x
  JOIN (SELECT DISTINCT audit_id, kind, value FROM audit_facts) y
    ON y.audit_id = x.audit_id AND (y.kind, y.value) <> (x.kind, x.value)
  JOIN audit_facet_dims d ON d.audit_id = x.audit_id
  GROUP BY 1, 2, 3, 4, 5;

-- The finding facts each audit should have: those of its findings (findings of no audit
-- give none; their facts come when the audit does).
CREATE VIEW IF NOT EXISTS finding_facts_expected AS
  SELECT 'severity' AS kind, lower(f.severity) AS value, f.audit_id FROM audit_findings f
    WHERE f.severity IS NOT NULL AND f.audit_id IN (SELECT id FROM audits)
  UNION SELECT 'pattern', f.pattern_type, f.audit_id FROM audit_findings f
    WHERE f.pattern_type IS NOT NULL AND f.audit_id IN (SELECT id FROM audits);

-- Backfill, before the triggers exist (one pass each instead of a trigger per row).
INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
  SELECT kind, value, audit_id, 'finding' FROM finding_facts_expected;
DELETE FROM facet_counts;
INSERT INTO facet_counts SELECT * FROM facet_counts_expected;
DELETE FROM facet_pairs;
INSERT INTO facet_pairs SELECT * FROM facet_pairs_expected;

-- The audit triggers of migration 6 move into the ones below, so that what each does to
-- the counts happens in a fixed order (SQLite does not promise an order between triggers).
DROP TRIGGER IF EXISTS audit_facts_security_insert;
DROP TRIGGER IF EXISTS audit_facts_security_update;
DROP TRIGGER IF EXISTS audit_facts_delete;

-- A new audit: counted, with any facts already recorded for its id (and their pairs); then its security
-- modules' CWE ids become facts (and are counted by the fact trigger).
CREATE TRIGGER IF NOT EXISTS audit_facets_insert AFTER INSERT ON audits BEGIN
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
  -- Findings written before their audit (or left behind by a delete with foreign keys
  -- off) give it their facts now; the fact trigger counts them.
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'severity', lower(severity), audit_id, 'finding' FROM audit_findings
      WHERE audit_id = new.id AND severity IS NOT NULL
    UNION SELECT 'pattern', pattern_type, audit_id, 'finding' FROM audit_findings
      WHERE audit_id = new.id AND pattern_type IS NOT NULL;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'cwe', cwe, audit_id, 'security' FROM security_result_cwes WHERE audit_id = new.id;
END;

-- A changed audit: where its facet columns changed, its counts move from the old
-- combination to the new one; then its security facts are written again (the fact
-- triggers count what that adds or removes, under the new combination).
CREATE TRIGGER IF NOT EXISTS audit_facets_update
  AFTER UPDATE OF project, status, risk_level, audit_tier, site_type, trust_score, security_results ON audits BEGIN
  INSERT INTO facet_counts (project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n)
    SELECT ifnull(old.project, x''), k.kind, k.value, ifnull(lower(old.status), x''),
           ifnull(old.risk_level, x''), ifnull(old.audit_tier, x''), ifnull(old.site_type, x''),
           CASE typeof(old.trust_score)
             WHEN 'integer' THEN old.trust_score
             WHEN 'real' THEN CAST(old.trust_score AS INTEGER) - (old.trust_score < CAST(old.trust_score AS INTEGER))
             WHEN 'null' THEN x''
             ELSE 't' END,
           CASE typeof(old.trust_score)
             WHEN 'integer' THEN 1
             WHEN 'real' THEN old.trust_score = CAST(old.trust_score AS INTEGER)
             ELSE 0 END,
           -1
    FROM (SELECT 'audit' AS kind, '' AS value
          UNION SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = old.id) k
    WHERE old.project IS NOT new.project OR old.status IS NOT new.status
       OR old.risk_level IS NOT new.risk_level OR old.audit_tier IS NOT new.audit_tier
       OR old.site_type IS NOT new.site_type OR old.trust_score IS NOT new.trust_score
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO facet_counts (project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n)
    SELECT d.project, k.kind, k.value, d.status, d.risk_level, d.audit_tier, d.site_type, d.score, d.whole, 1
    FROM audit_facet_dims d,
         (SELECT 'audit' AS kind, '' AS value
          UNION SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = new.id) k
    WHERE d.audit_id = new.id
      AND (old.project IS NOT new.project OR old.status IS NOT new.status
       OR old.risk_level IS NOT new.risk_level OR old.audit_tier IS NOT new.audit_tier
       OR old.site_type IS NOT new.site_type OR old.trust_score IS NOT new.trust_score)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  -- The project changed: its pairs move with it.
  INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
    SELECT ifnull(old.project, x''), x.kind, x.value, y.kind, y.value, -1
    FROM (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = old.id) x,
         (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = old.id) y
    WHERE (x.kind, x.value) <> (y.kind, y.value) AND old.project IS NOT new.project
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
    SELECT ifnull(new.project, x''), x.kind, x.value, y.kind, y.value, 1
    FROM (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = new.id) x,
         (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = new.id) y
    WHERE (x.kind, x.value) <> (y.kind, y.value) AND old.project IS NOT new.project
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  DELETE FROM audit_facts WHERE audit_id = new.id AND source = 'security';
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'cwe', cwe, audit_id, 'security' FROM security_result_cwes WHERE audit_id = new.id;
END;

-- A deleted audit: its facts go first, each uncounted by its own trigger while the audit
-- is still there to say where it was counted, then the audit itself. BEFORE, not AFTER:
-- a DELETE with foreign keys on cascades to the findings, whose facts would otherwise go
-- after the audit, uncounted from nowhere.
CREATE TRIGGER IF NOT EXISTS audit_facets_delete BEFORE DELETE ON audits BEGIN
  DELETE FROM audit_facts WHERE audit_id = old.id;
  INSERT INTO facet_counts (project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n)
    SELECT d.project, 'audit', '', d.status, d.risk_level, d.audit_tier, d.site_type, d.score, d.whole, -1
    FROM audit_facet_dims d WHERE d.audit_id = old.id
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

-- A fact an audit did not have yet (from any source) is counted in its audit's
-- combination and paired with the audit's other facts; one it no longer has, uncounted.
CREATE TRIGGER IF NOT EXISTS audit_facts_count_insert AFTER INSERT ON audit_facts
  WHEN NOT EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = new.kind AND x.value = new.value
                   AND x.audit_id = new.audit_id AND x.source <> new.source) BEGIN
  INSERT INTO facet_counts (project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n)
    SELECT d.project, new.kind, new.value, d.status, d.risk_level, d.audit_tier, d.site_type, d.score, d.whole, 1
    FROM audit_facet_dims d WHERE d.audit_id = new.audit_id
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
    SELECT d.project, p.kind, p.value, p.kind2, p.value2, 1
    FROM audit_facet_dims d,
         (SELECT new.kind AS kind, new.value AS value, y.kind AS kind2, y.value AS value2
            FROM (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = new.audit_id) y
            WHERE (y.kind, y.value) <> (new.kind, new.value)
          UNION ALL
          SELECT y.kind, y.value, new.kind, new.value
            FROM (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = new.audit_id) y
            WHERE (y.kind, y.value) <> (new.kind, new.value)) p
    WHERE d.audit_id = new.audit_id
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

CREATE TRIGGER IF NOT EXISTS audit_facts_count_delete AFTER DELETE ON audit_facts
  WHEN NOT EXISTS (SELECT 1 FROM audit_facts x WHERE x.kind = old.kind AND x.value = old.value
                   AND x.audit_id = old.audit_id) BEGIN
  INSERT INTO facet_counts (project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n)
    SELECT d.project, old.kind, old.value, d.status, d.risk_level, d.audit_tier, d.site_type, d.score, d.whole, -1
    FROM audit_facet_dims d WHERE d.audit_id = old.audit_id
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
  INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
    SELECT d.project, p.kind, p.value, p.kind2, p.value2, -1
    FROM audit_facet_dims d,
         (SELECT old.kind AS kind, old.value AS value, y.kind AS kind2, y.value AS value2
            FROM (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = old.audit_id) y
          UNION ALL
          SELECT y.kind, y.value, old.kind, old.value
            FROM (SELECT DISTINCT kind, value FROM audit_facts WHERE audit_id = old.audit_id) y) p
    WHERE d.audit_id = old.audit_id
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

-- Findings give their audit (once it exists) its severity and pattern facts.
CREATE TRIGGER IF NOT EXISTS finding_facts_insert AFTER INSERT ON audit_findings BEGIN
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'severity', lower(new.severity), new.audit_id, 'finding'
      WHERE new.severity IS NOT NULL AND EXISTS (SELECT 1 FROM audits WHERE id = new.audit_id)
    UNION ALL
    SELECT 'pattern', new.pattern_type, new.audit_id, 'finding'
      WHERE new.pattern_type IS NOT NULL AND EXISTS (SELECT 1 FROM audits WHERE id = new.audit_id);
END;

CREATE TRIGGER IF NOT EXISTS finding_facts_delete AFTER DELETE ON audit_findings BEGIN
  DELETE FROM audit_facts
    WHERE kind = 'severity' AND value = lower(old.severity) AND audit_id = old.audit_id AND source = 'finding'
      AND NOT EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = old.audit_id
                      AND lower(f.severity) = lower(old.severity));
  DELETE FROM audit_facts
    WHERE kind = 'pattern' AND value = old.pattern_type AND audit_id = old.audit_id AND source = 'finding'
      AND NOT EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = old.audit_id
                      AND f.pattern_type = old.pattern_type);
END;

CREATE TRIGGER IF NOT EXISTS finding_facts_update
  AFTER UPDATE OF severity, pattern_type, audit_id ON audit_findings BEGIN
  DELETE FROM audit_facts
    WHERE kind = 'severity' AND value = lower(old.severity) AND audit_id = old.audit_id AND source = 'finding'
      AND NOT EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = old.audit_id
                      AND lower(f.severity) = lower(old.severity));
  DELETE FROM audit_facts
    WHERE kind = 'pattern' AND value = old.pattern_type AND audit_id = old.audit_id AND source = 'finding'
      AND NOT EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = old.audit_id
                      AND f.pattern_type = old.pattern_type);
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'severity', lower(new.severity), new.audit_id, 'finding'
      WHERE new.severity IS NOT NULL AND EXISTS (SELECT 1 FROM audits WHERE id = new.audit_id)
    UNION ALL
    SELECT 'pattern', new.pattern_type, new.audit_id, 'finding'
      WHERE new.pattern_type IS NOT NULL AND EXISTS (SELECT 1 FROM audits WHERE id = new.audit_id);
END;
