-- `facet_totals`: `facet_counts` summed over the trust score (issue 13). The sidebar with no
-- score range reads a few thousand rows from here instead of summing the whole cube (about
-- 9x more rows, one per score): a filter by status or site type, a finding facet, or none.
--
-- Kept by triggers on `facet_counts` itself, so every path that changes a count (the audit
-- and fact triggers of migration 7, a rebuild by `doctor --repair`) moves the total with it.
-- `doctor` compares it with `facet_totals_expected`, from the rows.

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
