-- The list's derived filters and facets on PostgreSQL (issue 15): what SQLite's migrations
-- 6, 10 and 12 keep, kept here as more `audit_facts` (so migration 3's triggers count them
-- in `facet_counts` like severities and patterns):
--
-- 1. `mitre`, `cwe`, `green_flags`: from the events the core stores (`audit_event_facts`,
--    written by the core: `intel::event_facts` is the one reading of an event), from each
--    finding's weakness, and from the security modules' results.
-- 2. `change` (`new` / `regressed`): an audit's findings against its site's earlier audits,
--    by fingerprint, as SQLite's view `finding_changes` states it. A finding carries its
--    site and its audit's place on it (`site`, `site_seq`) so "seen before on this site" is
--    one index probe; a write re-judges only the audits it can change.
-- 3. `severity_shown` / `pattern_shown`: the findings not triaged away (false positives and
--    accepted risks), the list's default; `severity` / `pattern` keep counting them all.
--    `triage_state` holds whether each triage key hides; the core writes it from the
--    decisions (`triage::key_hides`, the same reading the findings view makes).
--
-- `audit_facts.findings` now counts the sources that hold a fact (findings, events,
-- modules); the fact goes with its last source. A site is the project and the url without
-- its trailing slashes, joined by chr(31) as on SQLite; an audit's place is its created_at
-- (empty when missing), a space and its id, compared bytewise ("C").

ALTER TABLE audit_facts DROP CONSTRAINT audit_facts_kind_check;
ALTER TABLE audit_facts ADD CONSTRAINT audit_facts_kind_check CHECK (kind IN
  ('severity', 'pattern', 'severity_shown', 'pattern_shown', 'mitre', 'cwe', 'green_flags', 'change'));

DROP TRIGGER audit_findings_facts ON audit_findings;
DROP TRIGGER audit_findings_facts_update ON audit_findings;

CREATE FUNCTION veritas_site(project TEXT, url TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT project || chr(31) || rtrim(url, '/')
$$;
CREATE FUNCTION veritas_seq(created_at TEXT, id TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT COALESCE(created_at, '') || ' ' || id
$$;

ALTER TABLE audit_findings ADD COLUMN site TEXT COLLATE "C", ADD COLUMN site_seq TEXT COLLATE "C";
UPDATE audit_findings f SET site = veritas_site(a.project, a.url), site_seq = veritas_seq(a.created_at, a.id)
  FROM audits a WHERE a.id = f.audit_id;
CREATE INDEX audit_findings_site ON audit_findings (site, fingerprint, site_seq);
-- A site's audits in order: the previous and the next audit of one.
CREATE INDEX audits_site ON audits (project, (rtrim(url, '/')), (veritas_seq(created_at, id) COLLATE "C"));

-- A weakness in its one form (CWE-<n>), as vocabulary::cwe_id and SQLite's views write it.
CREATE FUNCTION veritas_cwe(v TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN v IS NULL OR trim(v) = '' THEN NULL
              WHEN upper(trim(v) COLLATE "C") LIKE 'CWE-%' THEN 'CWE-' || substr(trim(v), 5)
              ELSE 'CWE-' || trim(v) END
$$;

-- The weaknesses security modules' findings name: {"module": {"findings": [{"cwe_id": ...}]}}.
CREATE FUNCTION veritas_security_cwes(results JSONB) RETURNS SETOF TEXT LANGUAGE sql IMMUTABLE AS $$
  SELECT DISTINCT veritas_cwe(f.value ->> 'cwe_id')
  FROM jsonb_each(CASE WHEN jsonb_typeof(results) = 'object' THEN results ELSE '{}' END) m,
       jsonb_array_elements(CASE WHEN jsonb_typeof(m.value) = 'object' AND jsonb_typeof(m.value -> 'findings') = 'array'
                                 THEN m.value -> 'findings' ELSE '[]' END) f
  WHERE jsonb_typeof(f.value) = 'object' AND jsonb_typeof(f.value -> 'cwe_id') IN ('number', 'string')
    AND veritas_cwe(f.value ->> 'cwe_id') IS NOT NULL
$$;

-- Facts the core reads from the events it stores.
CREATE TABLE audit_event_facts (
  audit_id TEXT NOT NULL REFERENCES audits (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('mitre', 'cwe', 'green_flags')),
  value TEXT NOT NULL,
  PRIMARY KEY (audit_id, kind, value)
);
CREATE FUNCTION veritas_event_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM veritas_finding_fact(NEW.audit_id, NEW.kind, NEW.value, 1);
  ELSE
    PERFORM veritas_finding_fact(OLD.audit_id, OLD.kind, OLD.value, -1);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER audit_event_facts_counted AFTER INSERT OR DELETE ON audit_event_facts
  FOR EACH ROW EXECUTE FUNCTION veritas_event_facts();

-- Whether each triage key (site, fingerprint, scope: the audit id of an audit's own
-- decisions, '' for the site's) hides its findings. A key has a row once it has a decision.
CREATE TABLE triage_state (
  site TEXT COLLATE "C" NOT NULL,
  fingerprint TEXT NOT NULL,
  scope TEXT NOT NULL,
  hides BOOLEAN NOT NULL,
  PRIMARY KEY (site, fingerprint, scope)
);

-- Whether a finding is hidden: its audit's own decisions if there are any, else its site's.
CREATE FUNCTION veritas_hidden(site TEXT, fingerprint TEXT, audit TEXT) RETURNS BOOLEAN LANGUAGE sql STABLE AS $$
  SELECT COALESCE(
    (SELECT s.hides FROM triage_state s WHERE s.site = $1 AND s.fingerprint = $2 AND s.scope = $3),
    (SELECT s.hides FROM triage_state s WHERE s.site = $1 AND s.fingerprint = $2 AND s.scope = ''),
    false)
$$;

-- The functions the triggers call for every finding are PL/pgSQL, not SQL: PostgreSQL plans
-- an SQL function's statements again at each call, PL/pgSQL once per session (4-5x faster
-- here, measured on the W1 workload).

-- The audit before audit `a` on its site.
CREATE FUNCTION veritas_previous_audit(a TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT p.id FROM audits x JOIN audits p
            ON p.project = x.project AND rtrim(p.url, '/') = rtrim(x.url, '/')
           AND veritas_seq(p.created_at, p.id) COLLATE "C" < veritas_seq(x.created_at, x.id) COLLATE "C"
          WHERE x.id = a
          ORDER BY veritas_seq(p.created_at, p.id) COLLATE "C" DESC LIMIT 1);
END
$$;

-- What changed in audit `a`: `new` when a finding's problem was never on its site before,
-- `regressed` when it was, but not in the site's previous audit.
CREATE FUNCTION veritas_changes_of(a TEXT) RETURNS SETOF TEXT LANGUAGE plpgsql STABLE AS $$
DECLARE prev TEXT := veritas_previous_audit(a);
BEGIN
  RETURN QUERY SELECT DISTINCT c FROM (
    SELECT CASE
      WHEN NOT EXISTS (SELECT 1 FROM audit_findings g
                       WHERE g.site = f.site AND g.fingerprint = f.fingerprint AND g.site_seq < f.site_seq)
        THEN 'new'
      WHEN NOT EXISTS (SELECT 1 FROM audit_findings g WHERE g.audit_id = prev AND g.fingerprint = f.fingerprint)
        THEN 'regressed'
    END AS c
    FROM audit_findings f WHERE f.audit_id = a AND f.site IS NOT NULL) x
  WHERE c IS NOT NULL;
END
$$;

-- Bring audit `a`'s facts of `kinds` to `want` (kind, value, sources), adding and taking away
-- only the difference (so the counts move only for what changed).
CREATE FUNCTION veritas_set_facts(a TEXT, kinds TEXT[], want JSONB) RETURNS void LANGUAGE plpgsql AS $$
DECLARE r RECORD;
BEGIN
  FOR r IN
    SELECT COALESCE(w.kind, h.kind) AS kind, COALESCE(w.value, h.value) AS value,
           COALESCE(w.n, 0) - COALESCE(h.findings, 0) AS d
    FROM (SELECT e ->> 0 AS kind, e ->> 1 AS value, (e ->> 2)::bigint AS n FROM jsonb_array_elements(want) e) w
    FULL JOIN (SELECT kind, value, findings FROM audit_facts WHERE audit_id = a AND kind = ANY(kinds)) h
      ON h.kind = w.kind AND h.value = w.value
    ORDER BY 1, 2
  LOOP
    IF r.d <> 0 THEN
      PERFORM veritas_finding_fact(a, r.kind, r.value, r.d);
    END IF;
  END LOOP;
END
$$;

-- Audit `a`'s change facts judged again.
CREATE FUNCTION veritas_judge_changes(a TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM audits WHERE id = a) THEN
    PERFORM veritas_set_facts(a, ARRAY['change'],
      COALESCE((SELECT jsonb_agg(jsonb_build_array('change', c, 1)) FROM veritas_changes_of(a) c), '[]'));
  END IF;
END
$$;

-- Audit `a`'s shown facts counted again (a triage key changed what it hides).
CREATE FUNCTION veritas_count_shown(a TEXT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM audits WHERE id = a) THEN
    PERFORM veritas_set_facts(a, ARRAY['severity_shown', 'pattern_shown'], COALESCE((
      SELECT jsonb_agg(jsonb_build_array(kind, value, n)) FROM (
        SELECT k.kind, k.value, count(*) AS n
        FROM audit_findings f
        CROSS JOIN LATERAL (VALUES ('severity_shown', lower(f.severity)), ('pattern_shown', f.pattern_type)) k (kind, value)
        WHERE f.audit_id = a AND k.value IS NOT NULL AND NOT veritas_hidden(f.site, f.fingerprint, f.audit_id)
        GROUP BY 1, 2) x), '[]'));
  END IF;
END
$$;

-- The audit after place `seq` on the site of `project` and `url` (trailing slashes trimmed).
CREATE FUNCTION veritas_next_audit(project TEXT, url TEXT, seq TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT x.id FROM audits x
          WHERE x.project = $1 AND rtrim(x.url, '/') = $2 AND veritas_seq(x.created_at, x.id) COLLATE "C" > $3 COLLATE "C"
          ORDER BY veritas_seq(x.created_at, x.id) COLLATE "C" LIMIT 1);
END
$$;

-- A finding of problem `fp` came to or left the audit at place `seq` of `site`: judge again
-- the audits that can change: that audit, the next one (whose previous audit it is) and the
-- first later one with the same problem (which may no longer be its first sighting). One
-- writer of a site at a time (until commit), so two producers' audits of one site are
-- judged each seeing the other's.
CREATE FUNCTION veritas_site_changed(s_site TEXT, s_fp TEXT, s_seq TEXT, s_audit TEXT) RETURNS void LANGUAGE plpgsql AS $$
-- The parameters and variables take the collation of the arguments (the site's is "C"); the
-- ids and names are declared with the default one, else the indexes on audits and facts
-- (default collation) cannot serve the lookups they are passed to: every statement scanned a
-- whole table (measured 2-11 ms each, 0.8 s an audit at 2,000).
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
  PERFORM veritas_judge_changes(s_id);
  nxt := veritas_next_audit(s_project, s_url, s_seq COLLATE "default");
  IF nxt IS NOT NULL THEN
    PERFORM veritas_judge_changes(nxt);
  END IF;
  IF s_fp IS NOT NULL THEN
    SELECT g.audit_id INTO later FROM audit_findings g
      WHERE g.site = s_site AND g.fingerprint = s_fp COLLATE "default" AND g.site_seq > s_seq COLLATE "C"
      ORDER BY g.site_seq LIMIT 1;
    IF later IS NOT NULL AND later IS DISTINCT FROM nxt THEN
      PERFORM veritas_judge_changes(later);
    END IF;
  END IF;
END
$$;

-- A finding takes its audit's site and place.
CREATE FUNCTION veritas_finding_site() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT veritas_site(a.project, a.url), veritas_seq(a.created_at, a.id) INTO NEW.site, NEW.site_seq
  FROM audits a WHERE a.id = NEW.audit_id;
  RETURN NEW;
END
$$;
CREATE TRIGGER audit_findings_site BEFORE INSERT OR UPDATE OF audit_id ON audit_findings
  FOR EACH ROW EXECUTE FUNCTION veritas_finding_site();

-- A finding gives its audit its severity, pattern and weakness (all of them), and its
-- severity and pattern shown unless triaged away; an update is a removal and an addition.
-- Then the changes it can make on its site.
CREATE OR REPLACE FUNCTION veritas_finding_facts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    PERFORM veritas_finding_fact(OLD.audit_id, 'severity', lower(OLD.severity), -1);
    PERFORM veritas_finding_fact(OLD.audit_id, 'pattern', OLD.pattern_type, -1);
    PERFORM veritas_finding_fact(OLD.audit_id, 'cwe', veritas_cwe(OLD.cwe_id), -1);
    IF NOT veritas_hidden(OLD.site, OLD.fingerprint, OLD.audit_id) THEN
      PERFORM veritas_finding_fact(OLD.audit_id, 'severity_shown', lower(OLD.severity), -1);
      PERFORM veritas_finding_fact(OLD.audit_id, 'pattern_shown', OLD.pattern_type, -1);
    END IF;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM veritas_finding_fact(NEW.audit_id, 'severity', lower(NEW.severity), 1);
    PERFORM veritas_finding_fact(NEW.audit_id, 'pattern', NEW.pattern_type, 1);
    PERFORM veritas_finding_fact(NEW.audit_id, 'cwe', veritas_cwe(NEW.cwe_id), 1);
    IF NOT veritas_hidden(NEW.site, NEW.fingerprint, NEW.audit_id) THEN
      PERFORM veritas_finding_fact(NEW.audit_id, 'severity_shown', lower(NEW.severity), 1);
      PERFORM veritas_finding_fact(NEW.audit_id, 'pattern_shown', NEW.pattern_type, 1);
    END IF;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    PERFORM veritas_site_changed(OLD.site, OLD.fingerprint, OLD.site_seq, OLD.audit_id);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM veritas_site_changed(NEW.site, NEW.fingerprint, NEW.site_seq, NEW.audit_id);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER audit_findings_facts AFTER INSERT OR DELETE ON audit_findings
  FOR EACH ROW EXECUTE FUNCTION veritas_finding_facts();
CREATE TRIGGER audit_findings_facts_update
  AFTER UPDATE OF audit_id, severity, pattern_type, category, cwe_id, site, site_seq ON audit_findings
  FOR EACH ROW
  WHEN ((OLD.audit_id, lower(OLD.severity), OLD.pattern_type, OLD.fingerprint, OLD.cwe_id, OLD.site, OLD.site_seq)
        IS DISTINCT FROM (NEW.audit_id, lower(NEW.severity), NEW.pattern_type, NEW.fingerprint, NEW.cwe_id, NEW.site, NEW.site_seq))
  EXECUTE FUNCTION veritas_finding_facts();

-- An audit: the weaknesses of its security results; its findings' site and place when it
-- moves (their trigger judges them again); a new or removed audit changes its next one's
-- previous audit. Named to run after migration 3's `audits_facets_*` (triggers run in name
-- order), so facts come and go at the audit's current counts.
CREATE FUNCTION veritas_audit_derived() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' AND OLD.security_results IS DISTINCT FROM NEW.security_results THEN
    PERFORM veritas_finding_fact(OLD.id, 'cwe', c, -1) FROM veritas_security_cwes(OLD.security_results) c;
  END IF;
  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND OLD.security_results IS DISTINCT FROM NEW.security_results) THEN
    PERFORM veritas_finding_fact(NEW.id, 'cwe', c, 1) FROM veritas_security_cwes(NEW.security_results) c;
  END IF;
  IF TG_OP = 'UPDATE' AND (veritas_site(OLD.project, OLD.url), veritas_seq(OLD.created_at, OLD.id))
       IS DISTINCT FROM (veritas_site(NEW.project, NEW.url), veritas_seq(NEW.created_at, NEW.id)) THEN
    -- Its findings' own trigger judges them again where they were and where they are.
    UPDATE audit_findings SET site = veritas_site(NEW.project, NEW.url), site_seq = veritas_seq(NEW.created_at, NEW.id)
      WHERE audit_id = NEW.id;
    PERFORM veritas_judge_changes(NEW.id);
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM veritas_judge_changes(n)
      FROM veritas_next_audit(OLD.project, rtrim(OLD.url, '/'), veritas_seq(OLD.created_at, OLD.id)) n
      WHERE n IS NOT NULL;
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM veritas_judge_changes(n)
      FROM veritas_next_audit(NEW.project, rtrim(NEW.url, '/'), veritas_seq(NEW.created_at, NEW.id)) n
      WHERE n IS NOT NULL;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER audits_site_rows AFTER INSERT OR DELETE ON audits
  FOR EACH ROW EXECUTE FUNCTION veritas_audit_derived();
CREATE TRIGGER audits_site_update AFTER UPDATE OF project, url, created_at, security_results ON audits
  FOR EACH ROW
  WHEN ((OLD.project, rtrim(OLD.url, '/'), OLD.created_at, OLD.security_results)
        IS DISTINCT FROM (NEW.project, rtrim(NEW.url, '/'), NEW.created_at, NEW.security_results))
  EXECUTE FUNCTION veritas_audit_derived();

-- A triage key that comes, changes or goes: its findings' audits counted again.
CREATE FUNCTION veritas_triage_state() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE k triage_state;
BEGIN
  IF TG_OP = 'DELETE' THEN k := OLD; ELSE k := NEW; END IF;
  PERFORM veritas_count_shown(x.audit_id) FROM (
    SELECT DISTINCT f.audit_id FROM audit_findings f
    WHERE f.site = k.site AND f.fingerprint = k.fingerprint AND (k.scope = '' OR f.audit_id = k.scope)) x;
  RETURN NULL;
END
$$;
CREATE TRIGGER triage_state_shown AFTER INSERT OR UPDATE OR DELETE ON triage_state
  FOR EACH ROW EXECUTE FUNCTION veritas_triage_state();

-- What `audit_facts` should hold, from the rows alone: the check of `facet_mismatches` and
-- doctor's repair (the event facts are the core's own reading, kept as rows).
DROP VIEW facet_counts_expected;
DROP VIEW audit_facts_expected;
CREATE VIEW audit_facts_expected AS
  SELECT audit_id, kind, value, sum(n)::bigint AS findings FROM (
    SELECT audit_id, 'severity' AS kind, lower(severity) AS value, 1 AS n FROM audit_findings WHERE severity IS NOT NULL
    UNION ALL SELECT audit_id, 'pattern', pattern_type, 1 FROM audit_findings WHERE pattern_type IS NOT NULL
    UNION ALL SELECT audit_id, 'cwe', veritas_cwe(cwe_id), 1 FROM audit_findings WHERE veritas_cwe(cwe_id) IS NOT NULL
    UNION ALL SELECT f.audit_id, k.kind, k.value, 1 FROM audit_findings f
      CROSS JOIN LATERAL (VALUES ('severity_shown', lower(f.severity)), ('pattern_shown', f.pattern_type)) k (kind, value)
      WHERE k.value IS NOT NULL AND NOT veritas_hidden(f.site, f.fingerprint, f.audit_id)
    UNION ALL SELECT a.id, 'cwe', c, 1 FROM audits a, veritas_security_cwes(a.security_results) c
    UNION ALL SELECT audit_id, kind, value, 1 FROM audit_event_facts
    UNION ALL SELECT a.id, 'change', c, 1 FROM audits a, veritas_changes_of(a.id) c
  ) x GROUP BY 1, 2, 3;
-- Migration 3's view again (it reads `audit_facts`, unchanged).
CREATE VIEW facet_counts_expected AS
  SELECT a.project, k.kind, k.value, lower(a.status) AS status, a.risk_level, a.audit_tier, a.site_type,
         CASE WHEN a.trust_score BETWEEN -1e15 AND 1e15 THEN floor(a.trust_score)::bigint END AS score,
         a.trust_score = floor(a.trust_score) AS whole, count(*) AS n
  FROM audits a
  JOIN (SELECT id AS audit_id, 'audit' AS kind, '' AS value FROM audits
        UNION ALL SELECT audit_id, kind, value FROM audit_facts) k ON k.audit_id = a.id
  GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

-- Backfill (the event facts and the triage keys are the core's, added after this runs):
-- the facts below are counted by the facts' trigger as they come.
INSERT INTO audit_facts (audit_id, kind, value, findings)
  SELECT audit_id, kind, value, findings FROM audit_facts_expected
  WHERE kind IN ('cwe', 'severity_shown', 'pattern_shown', 'change');

