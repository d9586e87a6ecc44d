-- Migration 5's facts at a lower price (issue 15), three changes measured on the benchmark's
-- own databases (BENCHMARKS.md, sixth session): the facet counts partitioned by kind, the
-- count upsert in PL/pgSQL, and changes judged once per audit and transaction.
--
-- 1. `facet_counts` partitioned by kind. Every sidebar query reads one kind (a
-- facet's fact, or `audit` for the audit-level facets), but with migration 5's kinds the
-- table held about 6 count rows per audit at 20k (120k rows) and each of the sidebar's 12
-- queries scanned all of them: 70 ms p95 for the facets without a filter, where migration 3
-- measured 27. A partition per kind is scanned alone. An index would do it too, but would
-- hold `n` and so turn every count update (the triggers' hot path) into a non-HOT one.
--
-- The columns, their order (`INSERT ... SELECT *` from `facet_counts_expected`) and the
-- unique key (the triggers' ON CONFLICT) stay as they were; the key holds the partition's
-- column, as PostgreSQL requires.

ALTER TABLE facet_counts RENAME TO facet_counts_unpartitioned;
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
) PARTITION BY LIST (kind);
CREATE TABLE facet_counts_audit PARTITION OF facet_counts FOR VALUES IN ('audit');
CREATE TABLE facet_counts_severity PARTITION OF facet_counts FOR VALUES IN ('severity');
CREATE TABLE facet_counts_severity_shown PARTITION OF facet_counts FOR VALUES IN ('severity_shown');
CREATE TABLE facet_counts_pattern PARTITION OF facet_counts FOR VALUES IN ('pattern');
CREATE TABLE facet_counts_pattern_shown PARTITION OF facet_counts FOR VALUES IN ('pattern_shown');
CREATE TABLE facet_counts_mitre PARTITION OF facet_counts FOR VALUES IN ('mitre');
CREATE TABLE facet_counts_cwe PARTITION OF facet_counts FOR VALUES IN ('cwe');
CREATE TABLE facet_counts_change PARTITION OF facet_counts FOR VALUES IN ('change');
CREATE TABLE facet_counts_green_flags PARTITION OF facet_counts FOR VALUES IN ('green_flags');
-- A kind a later migration adds before it makes its own partition.
CREATE TABLE facet_counts_other PARTITION OF facet_counts DEFAULT;

INSERT INTO facet_counts SELECT * FROM facet_counts_unpartitioned WHERE n <> 0;
DROP TABLE facet_counts_unpartitioned;

-- 2. The count's upsert in PL/pgSQL: as an SQL function it was planned again at every call
-- (0.55 ms of each, 11 calls an audit of 5 findings, measured on W1's database); PL/pgSQL
-- keeps its plan for the session.
CREATE OR REPLACE FUNCTION veritas_facet_add(a audits, k TEXT, v TEXT, d BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO facet_counts (project, kind, value, status, risk_level, audit_tier, site_type, score, whole, n)
  VALUES (a.project, k, v, lower(a.status), a.risk_level, a.audit_tier, a.site_type,
          CASE WHEN a.trust_score BETWEEN -1e15 AND 1e15 THEN floor(a.trust_score)::bigint END,
          a.trust_score = floor(a.trust_score), d)
  ON CONFLICT (project, kind, value, status, risk_level, audit_tier, site_type, score, whole)
  DO UPDATE SET n = facet_counts.n + EXCLUDED.n;
END
$$;

-- 3. Changes judged once per audit and transaction, at commit, instead of once per finding
-- written (an audit of n findings was judged n times, each judgement reading its n
-- findings: half of a W1 audit's trigger time). `veritas_site_changed` now queues the
-- audits it would have judged; a deferred trigger judges each queued audit once, still
-- inside the transaction and under the site's advisory lock, and empties the queue. The
-- queue is unlogged: a row lives only until its own transaction commits.
CREATE UNLOGGED TABLE change_pending (audit_id TEXT PRIMARY KEY);
CREATE FUNCTION veritas_judge_pending() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM change_pending WHERE audit_id = NEW.audit_id;
  PERFORM veritas_judge_changes(NEW.audit_id);
  RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER change_pending_judged AFTER INSERT ON change_pending
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION veritas_judge_pending();

-- Migration 5's function, queueing where it judged.
CREATE OR REPLACE FUNCTION veritas_site_changed(s_site TEXT, s_fp TEXT, s_seq TEXT, s_audit TEXT) RETURNS void LANGUAGE plpgsql AS $$
-- The ids and names take the default collation (see migration 5: the site's "C" would
-- otherwise pass to them and no index could serve their lookups).
DECLARE
  nxt TEXT COLLATE "default";
  later TEXT COLLATE "default";
  s_project TEXT COLLATE "default";
  s_url TEXT COLLATE "default";
  s_id TEXT COLLATE "default" := s_audit COLLATE "default";
BEGIN
  IF s_site IS NULL THEN
    RETURN;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext('veritas site ' || s_site));
  s_project := split_part(s_site, chr(31), 1) COLLATE "default";
  s_url := substr(s_site, length(s_project) + 2) COLLATE "default";
  INSERT INTO change_pending VALUES (s_id) ON CONFLICT DO NOTHING;
  nxt := veritas_next_audit(s_project, s_url, s_seq COLLATE "default");
  IF nxt IS NOT NULL THEN
    INSERT INTO change_pending VALUES (nxt) ON CONFLICT DO NOTHING;
  END IF;
  IF s_fp IS NOT NULL THEN
    SELECT g.audit_id INTO later FROM audit_findings g
      WHERE g.site = s_site AND g.fingerprint = s_fp COLLATE "default" AND g.site_seq > s_seq COLLATE "C"
      ORDER BY g.site_seq LIMIT 1;
    IF later IS NOT NULL THEN
      INSERT INTO change_pending VALUES (later) ON CONFLICT DO NOTHING;
    END IF;
  END IF;
END
$$;
