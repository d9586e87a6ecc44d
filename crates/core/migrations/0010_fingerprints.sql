-- Finding fingerprints and what changed since the previous audit of a site (issue 14).
--
-- A finding's fingerprint names the problem, not the row: its category, its pattern type and
-- the weakness it points at (CWE), each normalised (case, surrounding space; in the pattern,
-- spaces and dashes as `_`, as the writer already compares patterns). Confidence, severity,
-- wording, screenshot index and row ids are left out on purpose: a re-run re-scores and
-- re-words the same problem. So two findings of one pattern on one site are one problem
-- for review: a verdict on it is a verdict on both.
--
-- A site is an audit's url without trailing slashes, within its project (as `history`
-- reads it). An audit's place among its site's audits is `seq`: its created_at (empty when
-- missing) and id, the order `history` lists them in.
--
-- Everything here is derived from the backend's rows by triggers, so rows the Python
-- backend inserts are fingerprinted too; the backend's own tables are not changed.
-- `veritas-db doctor` compares all of it with the `*_expected` views and repairs it.

CREATE TABLE IF NOT EXISTS site_audits (
  site TEXT NOT NULL,
  seq TEXT NOT NULL,
  audit_id TEXT NOT NULL,
  PRIMARY KEY (site, seq)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_site_audits_audit ON site_audits (audit_id);

CREATE VIEW IF NOT EXISTS site_audits_expected AS
  SELECT a.project || char(31) || rtrim(a.url, '/') AS site,
         ifnull(a.created_at, '') || ' ' || a.id AS seq,
         a.id AS audit_id
  FROM audits a;

-- `site` and `seq` are copied from the finding's audit (NULL while the audit is not there
-- yet: the audit's insert trigger fills them), so that "seen before on this site" is one
-- probe of `idx_fingerprints_site`.
CREATE TABLE IF NOT EXISTS finding_fingerprints (
  finding_id INTEGER PRIMARY KEY,
  audit_id TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  site TEXT,
  seq TEXT
);
CREATE INDEX IF NOT EXISTS idx_fingerprints_audit ON finding_fingerprints (audit_id, fingerprint);
CREATE INDEX IF NOT EXISTS idx_fingerprints_site ON finding_fingerprints (site, fingerprint, seq);

-- The one definition of a fingerprint (Rust reads it, never recomputes it).
CREATE VIEW IF NOT EXISTS finding_fingerprints_expected AS
  SELECT f.id AS finding_id, f.audit_id,
         lower(trim(ifnull(f.category, ''))) || '|'
           || replace(replace(lower(trim(f.pattern_type)), ' ', '_'), '-', '_') || '|'
           || CASE WHEN f.cwe_id IS NULL OR trim(f.cwe_id) = '' THEN ''
                   WHEN upper(trim(f.cwe_id)) LIKE 'CWE-%' THEN 'cwe-' || substr(trim(f.cwe_id), 5)
                   ELSE 'cwe-' || trim(f.cwe_id) END AS fingerprint,
         s.site, s.seq
  FROM audit_findings f LEFT JOIN site_audits s ON s.audit_id = f.audit_id;

-- Per fingerprint row: `new` (never on the site before), `regressed` (seen before, but not
-- in the site's previous audit), NULL (persisting: in the previous audit).
CREATE VIEW IF NOT EXISTS finding_changes AS
  SELECT x.finding_id, x.audit_id, x.fingerprint,
         CASE
           WHEN NOT EXISTS (SELECT 1 FROM finding_fingerprints y
                            WHERE y.site = x.site AND y.fingerprint = x.fingerprint AND y.seq < x.seq)
             THEN 'new'
           WHEN NOT EXISTS (SELECT 1 FROM finding_fingerprints y
                            WHERE y.site = x.site AND y.fingerprint = x.fingerprint
                              AND y.seq = (SELECT max(s.seq) FROM site_audits s
                                           WHERE s.site = x.site AND s.seq < x.seq))
             THEN 'regressed'
         END AS change
  FROM finding_fingerprints x
  WHERE x.site IS NOT NULL;

-- The list's flags: an audit with a new finding has the fact (change, new); with a
-- regression, (change, regressed). They are `audit_facts`, so migration 7's triggers count
-- them in the facets like any other fact.
CREATE VIEW IF NOT EXISTS change_facts_expected AS
  SELECT DISTINCT 'change' AS kind, change AS value, audit_id
  FROM finding_changes WHERE change IS NOT NULL AND audit_id IN (SELECT id FROM audits);

-- Backfill before the triggers exist.
INSERT OR REPLACE INTO site_audits (site, seq, audit_id) SELECT site, seq, audit_id FROM site_audits_expected;
INSERT OR REPLACE INTO finding_fingerprints (finding_id, audit_id, fingerprint, site, seq)
  SELECT finding_id, audit_id, fingerprint, site, seq FROM finding_fingerprints_expected;
INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
  SELECT kind, value, audit_id, 'fingerprint' FROM change_facts_expected;

-- Audits: migration 7's insert and update triggers again, each with what migration 10 adds
-- at its end. One trigger per event, because SQLite does not promise an order between
-- triggers, and a fact added before the audit's counts are made (or moved) would be
-- counted twice (or moved from where it never was).
DROP TRIGGER IF EXISTS audit_facets_insert;
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
  -- Migration 10: its place on its site, its findings' site and seq, and the findings
  -- written before it judged now (last, so the facts are counted under its combination).
  INSERT OR REPLACE INTO site_audits (site, seq, audit_id) VALUES (new.project || char(31) || rtrim(new.url, '/'), ifnull(new.created_at, '') || ' ' || new.id, new.id);
  UPDATE finding_fingerprints SET site = new.project || char(31) || rtrim(new.url, '/'), seq = ifnull(new.created_at, '') || ' ' || new.id WHERE audit_id = new.id;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', change, audit_id, 'fingerprint' FROM finding_changes
    WHERE audit_id = new.id AND change IS NOT NULL;
END;

DROP TRIGGER IF EXISTS audit_facets_update;
CREATE TRIGGER IF NOT EXISTS audit_facets_update
  AFTER UPDATE OF project, status, risk_level, audit_tier, site_type, trust_score, security_results, url, created_at
  ON audits BEGIN
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
  -- Migration 10, last (after the counts have moved): a changed site or time moves the
  -- audit on its sites, and it, the audit after it on its new site and the one after its
  -- old place are judged again.
  DELETE FROM site_audits WHERE audit_id = old.id AND (old.project IS NOT new.project OR old.url IS NOT new.url OR old.created_at IS NOT new.created_at);
  INSERT OR REPLACE INTO site_audits (site, seq, audit_id)
    SELECT new.project || char(31) || rtrim(new.url, '/'), ifnull(new.created_at, '') || ' ' || new.id, new.id WHERE (old.project IS NOT new.project OR old.url IS NOT new.url OR old.created_at IS NOT new.created_at);
  UPDATE finding_fingerprints SET site = new.project || char(31) || rtrim(new.url, '/'), seq = ifnull(new.created_at, '') || ' ' || new.id
    WHERE audit_id = new.id AND (old.project IS NOT new.project OR old.url IS NOT new.url OR old.created_at IS NOT new.created_at);
  DELETE FROM audit_facts WHERE kind = 'change' AND (old.project IS NOT new.project OR old.url IS NOT new.url OR old.created_at IS NOT new.created_at) AND audit_id IN (
    SELECT new.id UNION SELECT (SELECT s.audit_id FROM site_audits s
                  WHERE s.site = new.project || char(31) || rtrim(new.url, '/')
                    AND s.seq > ifnull(new.created_at, '') || ' ' || new.id ORDER BY s.seq LIMIT 1) UNION SELECT (SELECT s.audit_id FROM site_audits s
                  WHERE s.site = old.project || char(31) || rtrim(old.url, '/')
                    AND s.seq > ifnull(old.created_at, '') || ' ' || old.id ORDER BY s.seq LIMIT 1));
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', c.change, c.audit_id, 'fingerprint' FROM finding_changes c
    WHERE c.change IS NOT NULL AND (old.project IS NOT new.project OR old.url IS NOT new.url OR old.created_at IS NOT new.created_at) AND c.audit_id IN (
      SELECT new.id UNION SELECT (SELECT s.audit_id FROM site_audits s
                  WHERE s.site = new.project || char(31) || rtrim(new.url, '/')
                    AND s.seq > ifnull(new.created_at, '') || ' ' || new.id ORDER BY s.seq LIMIT 1) UNION SELECT (SELECT s.audit_id FROM site_audits s
                  WHERE s.site = old.project || char(31) || rtrim(old.url, '/')
                    AND s.seq > ifnull(old.created_at, '') || ' ' || old.id ORDER BY s.seq LIMIT 1));
END;

-- A deleted audit leaves its site; the next audit of the site now follows the one before,
-- so its flags are worked out again.
CREATE TRIGGER IF NOT EXISTS site_audits_delete AFTER DELETE ON audits BEGIN
  -- Its findings go with it (foreign keys on); left behind, they belong to no site.
  UPDATE finding_fingerprints SET site = NULL, seq = NULL WHERE audit_id = old.id;
  DELETE FROM site_audits WHERE audit_id = old.id;
  DELETE FROM audit_facts WHERE kind = 'change' AND audit_id = (
    SELECT s.audit_id FROM site_audits s
    WHERE s.site = old.project || char(31) || rtrim(old.url, '/')
      AND s.seq > ifnull(old.created_at, '') || ' ' || old.id
    ORDER BY s.seq LIMIT 1);
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', c.change, c.audit_id, 'fingerprint' FROM finding_changes c
    WHERE c.change IS NOT NULL AND c.audit_id = (
      SELECT s.audit_id FROM site_audits s
      WHERE s.site = old.project || char(31) || rtrim(old.url, '/')
        AND s.seq > ifnull(old.created_at, '') || ' ' || old.id
      ORDER BY s.seq LIMIT 1);
END;

-- Findings: fingerprinted as they arrive, and their audit flagged when the fingerprint is
-- new or back on the site. Audits of a site arrive in time order; one written out of order
-- (or a finding changed afterwards) leaves later audits' flags to `doctor --repair`.
CREATE TRIGGER IF NOT EXISTS finding_fingerprints_insert AFTER INSERT ON audit_findings BEGIN
  INSERT OR REPLACE INTO finding_fingerprints (finding_id, audit_id, fingerprint, site, seq)
    SELECT finding_id, audit_id, fingerprint, site, seq FROM finding_fingerprints_expected
    WHERE finding_id = new.id;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT 'change', change, audit_id, 'fingerprint' FROM finding_changes
    WHERE finding_id = new.id AND change IS NOT NULL AND audit_id IN (SELECT id FROM audits);
END;

CREATE TRIGGER IF NOT EXISTS finding_fingerprints_update
  AFTER UPDATE OF audit_id, category, pattern_type, cwe_id ON audit_findings
  WHEN old.audit_id IS NOT new.audit_id OR old.category IS NOT new.category
    OR old.pattern_type IS NOT new.pattern_type OR old.cwe_id IS NOT new.cwe_id
BEGIN
  INSERT OR REPLACE INTO finding_fingerprints (finding_id, audit_id, fingerprint, site, seq)
    SELECT finding_id, audit_id, fingerprint, site, seq FROM finding_fingerprints_expected
    WHERE finding_id = new.id;
  DELETE FROM audit_facts WHERE kind = 'change' AND audit_id IN (old.audit_id, new.audit_id);
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', change, audit_id, 'fingerprint' FROM finding_changes
    WHERE audit_id IN (old.audit_id, new.audit_id) AND change IS NOT NULL
      AND audit_id IN (SELECT id FROM audits);
END;

CREATE TRIGGER IF NOT EXISTS finding_fingerprints_delete AFTER DELETE ON audit_findings BEGIN
  DELETE FROM finding_fingerprints WHERE finding_id = old.id;
  DELETE FROM audit_facts WHERE kind = 'change' AND audit_id = old.audit_id;
  INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source)
    SELECT DISTINCT 'change', change, audit_id, 'fingerprint' FROM finding_changes
    WHERE audit_id = old.audit_id AND change IS NOT NULL AND audit_id IN (SELECT id FROM audits);
END;
