-- Full-text search on stored vectors (issue 15): each audit's and finding's `tsvector` is
-- computed once, when the row is written, instead of again for every candidate a search
-- rechecks (a phrase search read every matching narrative again: 390 ms p95 at 20k). The
-- text is the same as migration 1's indexed expressions; the queries in team/read.rs match
-- these columns.
ALTER TABLE audits ADD COLUMN search_vector tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', url || ' ' || COALESCE(narrative, ''))) STORED;
CREATE INDEX audits_search_vector ON audits USING GIN (search_vector);
DROP INDEX audits_search;

ALTER TABLE audit_findings ADD COLUMN search_vector tsvector
  GENERATED ALWAYS AS (to_tsvector('simple', pattern_type || ' ' || description || ' ' || COALESCE(plain_english, ''))) STORED;
CREATE INDEX audit_findings_search_vector ON audit_findings USING GIN (search_vector);
DROP INDEX audit_findings_search;
