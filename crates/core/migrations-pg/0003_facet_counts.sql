-- Maintained facet counts on PostgreSQL (issue 15): SQLite's approach (its migrations 7-8),
-- so that the sidebar sums a few rows of counts instead of counting the audits and joining
-- their findings at each request. Everything is kept by triggers, so every writer (ingest,
-- push, a delete, a program of another team's) keeps it right.
--
-- 1. `audit_facts`: an audit's finding facts, one row per distinct severity (lower case) and
--    pattern of its findings, with how many of its findings have it (so the last one's
--    removal removes the fact).
-- 2. `facet_counts`: audits per combination of the audit-level facets (project, status in
--    lower case, risk level, tier, site type, the trust score's floor and whether it is
--    whole), and per finding fact within that combination; kind `audit` counts the audits.
--    NULL is a value of its own here (NULLS NOT DISTINCT), as in the facets; so is a score
--    too large for a whole number (kept with a NULL floor, and answered from the rows).

CREATE TABLE audit_facts (
  audit_id TEXT NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('severity', 'pattern')),
  value TEXT NOT NULL,
  findings BIGINT NOT NULL,
  PRIMARY KEY (audit_id, kind, value)
);
CREATE INDEX audit_facts_value ON audit_facts (kind, value, audit_id);

CREATE TABLE facet_counts (
  project TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  status TEXT,
  risk_level TEXT,
  audit_tier TEXT,
  site_type TEXT,
  score BIGINT,
  whole BOOLEAN,
  n BIGINT NOT NULL,
  UNIQUE NULLS NOT DISTINCT (project, kind, value, status, risk_level, audit_tier, site_type, score, whole)
);

-- Add `d` audits of `a`'s combination to the count of fact (k, v).
CREATE FUNCTION veritas_facet_add(a audits, k TEXT, v TEXT, d BIGINT) RETURNS void LANGUAGE sql AS $$
  INSERT INTO facet_counts (project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n)
  VALUES (a.project, k, v, lower(a.status), a.risk_level, a.audit_tier, a.site_type,
          CASE WHEN a.trust_score BETWEEN -1e15 AND 1e15 THEN floor(a.trust_score)::bigint END,
          a.trust_score = floor(a.trust_score), d)
  ON CONFLICT (project, kind, value, status, risk_level, audit_tier, site_type, score, whole)
  DO UPDATE SET n = facet_counts.n + EXCLUDED.n
$$;

-- Add `d` of `a` with every fact it has: its own count and its facts'.
CREATE FUNCTION veritas_facet_add_all(a audits, d BIGINT) RETURNS void LANGUAGE plpgsql AS $$
DECLARE f RECORD;
BEGIN
  PERFORM veritas_facet_add(a, 'audit', '', d);
  FOR f IN SELECT kind, value FROM audit_facts WHERE audit_id = a.id ORDER BY kind, value LOOP
    PERFORM veritas_facet_add(a, f.kind, f.value, d);
  END LOOP;
END
$$;

-- An audit: counted when it comes; moved when a facet column changes; removed before it
-- goes (BEFORE: its facts are still there to be counted off; the cascade that removes them
-- afterwards finds no audit and counts nothing).
CREATE FUNCTION veritas_audit_facets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM veritas_facet_add_all(NEW, 1);
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM veritas_facet_add_all(OLD, -1);
    PERFORM veritas_facet_add_all(NEW, 1);
  ELSE
    PERFORM veritas_facet_add_all(OLD, -1);
    RETURN OLD;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER audits_facets_insert AFTER INSERT ON audits
  FOR EACH ROW EXECUTE FUNCTION veritas_audit_facets();
CREATE TRIGGER audits_facets_update AFTER UPDATE OF project, status, risk_level, audit_tier, site_type, trust_score
  ON audits FOR EACH ROW
  WHEN ((OLD.project, lower(OLD.status), OLD.risk_level, OLD.audit_tier, OLD.site_type, OLD.trust_score)
        IS DISTINCT FROM (NEW.project, lower(NEW.status), NEW.risk_level, NEW.audit_tier, NEW.site_type, NEW.trust_score))
  EXECUTE FUNCTION veritas_audit_facets();
CREATE TRIGGER audits_facets_delete BEFORE DELETE ON audits
  FOR EACH ROW EXECUTE FUNCTION veritas_audit_facets();

-- A fact that comes or goes is counted at its audit's combination (none once the audit is
-- gone: its delete counted it off).
CREATE FUNCTION veritas_fact_facets() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE a audits;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO a FROM audits WHERE id = NEW.audit_id;
    PERFORM veritas_facet_add(a, NEW.kind, NEW.value, 1);
  ELSE
    SELECT * INTO a FROM audits WHERE id = OLD.audit_id;
    IF FOUND THEN
      PERFORM veritas_facet_add(a, OLD.kind, OLD.value, -1);
    END IF;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER audit_facts_counted AFTER INSERT OR DELETE ON audit_facts
  FOR EACH ROW EXECUTE FUNCTION veritas_fact_facets();

-- A finding adds to its audit's facts, and its removal (or a change of its severity or
-- pattern) takes away, the fact going with the last finding that had it.
CREATE FUNCTION veritas_finding_fact(audit TEXT, k TEXT, v TEXT, d BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF v IS NULL THEN
    RETURN;
  END IF;
  IF d > 0 THEN
    INSERT INTO audit_facts (audit_id, kind, value, findings) VALUES (audit, k, v, d)
    ON CONFLICT (audit_id, kind, value) DO UPDATE SET findings = audit_facts.findings + EXCLUDED.findings;
  ELSE
    UPDATE audit_facts SET findings = findings + d WHERE audit_id = audit AND kind = k AND value = v;
    DELETE FROM audit_facts WHERE audit_id = audit AND kind = k AND value = v AND findings <= 0;
  END IF;
END
$$;
CREATE FUNCTION veritas_finding_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    PERFORM veritas_finding_fact(OLD.audit_id, 'severity', lower(OLD.severity), -1);
    PERFORM veritas_finding_fact(OLD.audit_id, 'pattern', OLD.pattern_type, -1);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM veritas_finding_fact(NEW.audit_id, 'severity', lower(NEW.severity), 1);
    PERFORM veritas_finding_fact(NEW.audit_id, 'pattern', NEW.pattern_type, 1);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER audit_findings_facts AFTER INSERT OR DELETE ON audit_findings
  FOR EACH ROW EXECUTE FUNCTION veritas_finding_facts();
CREATE TRIGGER audit_findings_facts_update AFTER UPDATE OF audit_id, severity, pattern_type ON audit_findings
  FOR EACH ROW
  WHEN ((OLD.audit_id, lower(OLD.severity), OLD.pattern_type) IS DISTINCT FROM (NEW.audit_id, lower(NEW.severity), NEW.pattern_type))
  EXECUTE FUNCTION veritas_finding_facts();

-- What the tables should hold, from the rows alone: the backfill here, and the check of
-- `facet_mismatches` (team/facets.rs).
CREATE VIEW audit_facts_expected AS
  SELECT audit_id, 'severity' AS kind, lower(severity) AS value, count(*) AS findings
    FROM audit_findings WHERE severity IS NOT NULL GROUP BY 1, 3
  UNION ALL
  SELECT audit_id, 'pattern', pattern_type, count(*)
    FROM audit_findings WHERE pattern_type IS NOT NULL GROUP BY 1, 3;

CREATE VIEW facet_counts_expected AS
  SELECT a.project, k.kind, k.value, lower(a.status) AS status, a.risk_level, a.audit_tier, a.site_type,
         CASE WHEN a.trust_score BETWEEN -1e15 AND 1e15 THEN floor(a.trust_score)::bigint END AS score,
         a.trust_score = floor(a.trust_score) AS whole, count(*) AS n
  FROM audits a
  JOIN (SELECT id AS audit_id, 'audit' AS kind, '' AS value FROM audits
        UNION ALL SELECT audit_id, kind, value FROM audit_facts) k ON k.audit_id = a.id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

-- Backfill: the facts first (their trigger is off while they are copied), then the counts.
ALTER TABLE audit_facts DISABLE TRIGGER audit_facts_counted;
INSERT INTO audit_facts (audit_id, kind, value, findings) SELECT * FROM audit_facts_expected;
ALTER TABLE audit_facts ENABLE TRIGGER audit_facts_counted;
INSERT INTO facet_counts SELECT * FROM facet_counts_expected;
