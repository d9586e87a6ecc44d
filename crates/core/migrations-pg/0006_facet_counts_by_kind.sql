-- `facet_counts` partitioned by kind (issue 15). Every sidebar query reads one kind (a
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
