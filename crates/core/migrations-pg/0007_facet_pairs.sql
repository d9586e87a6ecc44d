-- Facet pairs on PostgreSQL (issue 15): a fact facet under one fact's choice (the patterns
-- of the audits with a critical finding, say) read from maintained counts, as SQLite's
-- `facet_pairs` (its migration 7) answers it, instead of joining the audits' facts (240 ms
-- p95 at 20k audits, and growing with them).
--
-- SQLite keeps one row per (project, fact, fact) and adds to it. Here every writer of a
-- project would then update the same few rows and hold their locks until it commits, and
-- PostgreSQL's parallel writers (team mode's gain) would queue on them. So the pairs are
-- deltas: a writer only appends rows of +1 and -1 (nothing shared is locked), a reader sums
-- a pair's rows, and `veritas_compact_pairs` folds the deltas into one row per pair, every
-- few hundred audits written (from the writers' own trigger, see below) and at doctor
-- --repair.
--
-- Kept: the pairs of two facts of different kinds in one family, the kinds that count
-- every finding (`severity`, `pattern`) or those that count the findings shown
-- (`severity_shown`, `pattern_shown`), with `mitre`, `cwe`, `change` and `green_flags` in
-- both. A facet's own choice is left out of its counts and the two families are never
-- asked together, so the other pairs would never be read.

CREATE TABLE facet_pairs (
  project TEXT NOT NULL,
  kind TEXT NOT NULL,
  value TEXT NOT NULL,
  kind2 TEXT NOT NULL,
  value2 TEXT NOT NULL,
  n BIGINT NOT NULL
);
-- Rows are appended and deleted, never updated: `n` in the index costs no HOT update and
-- lets a reader sum a pair from the index alone.
CREATE INDEX facet_pairs_key ON facet_pairs (project, kind, value, kind2, value2) INCLUDE (n);

-- Whether facts of kinds k1 and k2 are paired (see above).
CREATE FUNCTION veritas_paired(k1 TEXT, k2 TEXT) RETURNS BOOLEAN LANGUAGE sql IMMUTABLE AS $$
  SELECT k1 <> k2
    AND NOT (k1 IN ('severity', 'pattern') AND k2 IN ('severity_shown', 'pattern_shown'))
    AND NOT (k2 IN ('severity', 'pattern') AND k1 IN ('severity_shown', 'pattern_shown'))
$$;

-- What `facet_pairs` should sum to, from the facts alone: the check and the rebuild.
CREATE VIEW facet_pairs_expected AS
  SELECT a.project, x.kind, x.value, y.kind AS kind2, y.value AS value2, count(*) AS n
  FROM audit_facts x
  JOIN audit_facts y ON y.audit_id = x.audit_id AND veritas_paired(x.kind, y.kind)
  JOIN audits a ON a.id = x.audit_id
  GROUP BY 1, 2, 3, 4, 5;

-- Fold the deltas into one row per pair; pairs that sum to nothing go. One folder at a time
-- (the others skip): it deletes only rows its statement sees, so the rows of writers still
-- in their transactions stay as they are. Returns the rows folded (0 when skipped).
CREATE FUNCTION veritas_compact_pairs() RETURNS BIGINT LANGUAGE plpgsql AS $$
DECLARE folded BIGINT;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('veritas compact pairs')) THEN
    RETURN 0;
  END IF;
  WITH gone AS (DELETE FROM facet_pairs RETURNING *),
       kept AS (INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
                SELECT project, kind, value, kind2, value2, sum(n) FROM gone
                GROUP BY 1, 2, 3, 4, 5 HAVING sum(n) <> 0)
  SELECT count(*) INTO folded FROM gone;
  RETURN folded;
END
$$;

-- Statements that add or remove facts, counted: every 4096th folds the deltas. In a
-- writer's transaction that reads committed data only: the folder's DELETE must see the
-- last fold's rows, which a snapshot taken before that fold committed would not.
CREATE SEQUENCE facet_pairs_writes;
CREATE FUNCTION veritas_pairs_maybe_compact() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF nextval('facet_pairs_writes') % 4096 = 0
     AND current_setting('transaction_isolation') = 'read committed' THEN
    PERFORM veritas_compact_pairs();
  END IF;
END
$$;

-- The facts a statement added (statement-level, from its transition table: a statement that
-- adds two facts of one audit pairs them once): every kept pair of the audit's facts now
-- with at least one of them new. A fact is never updated into another (only its
-- `findings`), so insert and delete are all there is. `veritas.rebuilding` is set by the
-- rebuilds that make the pairs from the view afterwards.
CREATE FUNCTION veritas_fact_pairs_added() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('veritas.rebuilding', true) = 'on' THEN
    RETURN NULL;
  END IF;
  INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
    SELECT a.project, x.kind, x.value, y.kind, y.value, 1
    FROM (SELECT DISTINCT audit_id FROM new_facts) t
    JOIN audits a ON a.id = t.audit_id
    JOIN audit_facts x ON x.audit_id = t.audit_id
    JOIN audit_facts y ON y.audit_id = t.audit_id AND veritas_paired(x.kind, y.kind)
    WHERE EXISTS (SELECT 1 FROM new_facts m WHERE m.audit_id = t.audit_id
                    AND ((m.kind, m.value) = (x.kind, x.value) OR (m.kind, m.value) = (y.kind, y.value)));
  PERFORM veritas_pairs_maybe_compact();
  RETURN NULL;
END
$$;
-- The facts a statement removed: every kept pair of the audit's facts before it with at
-- least one of them gone. None once the audit is gone: its delete took its pairs off first.
CREATE FUNCTION veritas_fact_pairs_removed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('veritas.rebuilding', true) = 'on' THEN
    RETURN NULL;
  END IF;
  INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
    WITH t AS (SELECT DISTINCT audit_id FROM old_facts),
         before AS (SELECT f.audit_id, f.kind, f.value, false AS gone FROM audit_facts f JOIN t USING (audit_id)
                    UNION ALL SELECT audit_id, kind, value, true FROM old_facts)
    SELECT a.project, x.kind, x.value, y.kind, y.value, -1
    FROM before x
    JOIN before y ON y.audit_id = x.audit_id AND veritas_paired(x.kind, y.kind)
    JOIN audits a ON a.id = x.audit_id
    WHERE x.gone OR y.gone;
  PERFORM veritas_pairs_maybe_compact();
  RETURN NULL;
END
$$;
CREATE TRIGGER audit_facts_paired AFTER INSERT ON audit_facts
  REFERENCING NEW TABLE AS new_facts FOR EACH STATEMENT EXECUTE FUNCTION veritas_fact_pairs_added();
CREATE TRIGGER audit_facts_unpaired AFTER DELETE ON audit_facts
  REFERENCING OLD TABLE AS old_facts FOR EACH STATEMENT EXECUTE FUNCTION veritas_fact_pairs_removed();

-- All the kept pairs of audit `audit`'s facts, `d` each, under project `p`.
CREATE FUNCTION veritas_pairs_add_all(p TEXT, audit TEXT, d BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO facet_pairs (project, kind, value, kind2, value2, n)
    SELECT p, x.kind, x.value, y.kind, y.value, d
    FROM audit_facts x
    JOIN audit_facts y ON y.audit_id = x.audit_id AND veritas_paired(x.kind, y.kind)
    WHERE x.audit_id = audit;
END
$$;

-- Migration 3's audit trigger, now also taking an audit's pairs off before it goes (its
-- facts are still there) and moving them when its project changes.
CREATE OR REPLACE FUNCTION veritas_audit_facets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM veritas_facet_add_all(NEW, 1);
  ELSIF TG_OP = 'UPDATE' THEN
    PERFORM veritas_facet_add_all(OLD, -1);
    PERFORM veritas_facet_add_all(NEW, 1);
    IF OLD.project IS DISTINCT FROM NEW.project THEN
      PERFORM veritas_pairs_add_all(OLD.project, OLD.id, -1);
      PERFORM veritas_pairs_add_all(NEW.project, NEW.id, 1);
    END IF;
  ELSE
    PERFORM veritas_facet_add_all(OLD, -1);
    PERFORM veritas_pairs_add_all(OLD.project, OLD.id, -1);
    RETURN OLD;
  END IF;
  RETURN NULL;
END
$$;

INSERT INTO facet_pairs SELECT * FROM facet_pairs_expected;
