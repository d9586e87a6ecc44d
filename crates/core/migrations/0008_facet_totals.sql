-- Two summaries of `facet_counts` (issue 13), below. `facet_totals`: the counts summed over
-- the trust score. The sidebar with no score range reads a few thousand rows from here instead of summing the whole cube (about
-- 9x more rows, one per score): a filter by status or site type, a finding facet, or none.
--
-- Both are kept by triggers on `facet_counts` itself, so every path that changes a count (the audit
-- and fact triggers of migration 7, a rebuild by `doctor --repair`) moves the total with it.
-- `doctor` compares them with `facet_totals_expected` and `facet_scores_expected`, from the rows.

CREATE TABLE IF NOT EXISTS facet_totals (
  project NOT NULL, kind NOT NULL, value NOT NULL,
  status NOT NULL, risk_level NOT NULL, audit_tier NOT NULL, site_type NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (project, kind, value, status, risk_level, audit_tier, site_type)
) WITHOUT ROWID;

CREATE VIEW IF NOT EXISTS facet_totals_expected AS
  SELECT project, kind, value, status, risk_level, audit_tier, site_type, sum(n) AS n
  FROM facet_counts_expected
  GROUP BY 1, 2, 3, 4, 5, 6, 7;

DELETE FROM facet_totals;
INSERT INTO facet_totals
  SELECT project, kind, value, status, risk_level, audit_tier, site_type, sum(n)
  FROM facet_counts GROUP BY 1, 2, 3, 4, 5, 6, 7;

-- The counts' upserts are an INSERT (a new combination) or an UPDATE of n (an existing one).
CREATE TRIGGER IF NOT EXISTS facet_totals_insert AFTER INSERT ON facet_counts BEGIN
  INSERT INTO facet_totals (project, kind, value, status, risk_level, audit_tier, site_type, n)
    VALUES (new.project, new.kind, new.value, new.status, new.risk_level, new.audit_tier, new.site_type, new.n)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER IF NOT EXISTS facet_totals_update AFTER UPDATE OF n ON facet_counts BEGIN
  INSERT INTO facet_totals (project, kind, value, status, risk_level, audit_tier, site_type, n)
    VALUES (new.project, new.kind, new.value, new.status, new.risk_level, new.audit_tier, new.site_type, new.n - old.n)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER IF NOT EXISTS facet_totals_delete AFTER DELETE ON facet_counts BEGIN
  INSERT INTO facet_totals (project, kind, value, status, risk_level, audit_tier, site_type, n)
    VALUES (old.project, old.kind, old.value, old.status, old.risk_level, old.audit_tier, old.site_type, -old.n)
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;

-- `facet_scores`: each facet's counts per trust score alone (issue 13), for a sidebar whose
-- only condition is a score range: every value of every facet (the audit-level ones from
-- kind `audit`, the facts from their own kind) per whole score, a few thousand rows, where
-- the cube under a score range is a quarter of a million at 1,000,000 audits. `facet` is
-- the `facet_counts` kind for facts and `audit` (the total), else the audit column's name.
CREATE TABLE IF NOT EXISTS facet_scores (
  project NOT NULL, facet NOT NULL, value NOT NULL, score NOT NULL, whole NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (project, facet, value, score, whole)
) WITHOUT ROWID;

CREATE VIEW IF NOT EXISTS facet_scores_expected AS
  SELECT project, facet, value, score, whole, sum(n) AS n FROM (
    SELECT project, kind AS facet, value, score, whole, n FROM facet_counts_expected
    UNION ALL SELECT project, 'status', status, score, whole, n FROM facet_counts_expected WHERE kind = 'audit'
    UNION ALL SELECT project, 'risk_level', risk_level, score, whole, n FROM facet_counts_expected WHERE kind = 'audit'
    UNION ALL SELECT project, 'audit_tier', audit_tier, score, whole, n FROM facet_counts_expected WHERE kind = 'audit'
    UNION ALL SELECT project, 'site_type', site_type, score, whole, n FROM facet_counts_expected WHERE kind = 'audit')
  GROUP BY 1, 2, 3, 4, 5;

DELETE FROM facet_scores;
INSERT INTO facet_scores
  SELECT project, facet, value, score, whole, sum(n) FROM (
    SELECT project, kind AS facet, value, score, whole, n FROM facet_counts
    UNION ALL SELECT project, 'status', status, score, whole, n FROM facet_counts WHERE kind = 'audit'
    UNION ALL SELECT project, 'risk_level', risk_level, score, whole, n FROM facet_counts WHERE kind = 'audit'
    UNION ALL SELECT project, 'audit_tier', audit_tier, score, whole, n FROM facet_counts WHERE kind = 'audit'
    UNION ALL SELECT project, 'site_type', site_type, score, whole, n FROM facet_counts WHERE kind = 'audit')
  GROUP BY 1, 2, 3, 4, 5;

-- A change of `n` by `d` in one combination of `facet_counts`: its kind's row, and for the
-- audits themselves one row per audit-level column.
CREATE TRIGGER IF NOT EXISTS facet_scores_insert AFTER INSERT ON facet_counts BEGIN
  INSERT INTO facet_scores (project, facet, value, score, whole, n)
    SELECT new.project, f, v, new.score, new.whole, new.n FROM (
      SELECT new.kind AS f, new.value AS v
      UNION ALL SELECT 'status', new.status WHERE new.kind = 'audit'
      UNION ALL SELECT 'risk_level', new.risk_level WHERE new.kind = 'audit'
      UNION ALL SELECT 'audit_tier', new.audit_tier WHERE new.kind = 'audit'
      UNION ALL SELECT 'site_type', new.site_type WHERE new.kind = 'audit') WHERE true
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER IF NOT EXISTS facet_scores_update AFTER UPDATE OF n ON facet_counts BEGIN
  INSERT INTO facet_scores (project, facet, value, score, whole, n)
    SELECT new.project, f, v, new.score, new.whole, new.n - old.n FROM (
      SELECT new.kind AS f, new.value AS v
      UNION ALL SELECT 'status', new.status WHERE new.kind = 'audit'
      UNION ALL SELECT 'risk_level', new.risk_level WHERE new.kind = 'audit'
      UNION ALL SELECT 'audit_tier', new.audit_tier WHERE new.kind = 'audit'
      UNION ALL SELECT 'site_type', new.site_type WHERE new.kind = 'audit') WHERE true
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
CREATE TRIGGER IF NOT EXISTS facet_scores_delete AFTER DELETE ON facet_counts BEGIN
  INSERT INTO facet_scores (project, facet, value, score, whole, n)
    SELECT old.project, f, v, old.score, old.whole, -old.n FROM (
      SELECT old.kind AS f, old.value AS v
      UNION ALL SELECT 'status', old.status WHERE old.kind = 'audit'
      UNION ALL SELECT 'risk_level', old.risk_level WHERE old.kind = 'audit'
      UNION ALL SELECT 'audit_tier', old.audit_tier WHERE old.kind = 'audit'
      UNION ALL SELECT 'site_type', old.site_type WHERE old.kind = 'audit') WHERE true
  ON CONFLICT DO UPDATE SET n = n + excluded.n;
END;
