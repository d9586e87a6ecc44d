-- The audit before another on its site, found by walking the site's index (issue 15).
--
-- Migration 5's veritas_previous_audit joined the audit to its site's audits, and PostgreSQL
-- cannot walk an index in order for the inner side of a join: it read and sorted all the
-- site's earlier audits on every call. At 20k audits (60 a site) that cost nothing; at 1M
-- (3,000 a site) it was 6 ms a call, paid by every change judgement of every write, and
-- making the change facts of the 1M benchmark database took hours. The audit is read first
-- here, so the site and place are constants and the walk stops at the first row (57 us).

CREATE OR REPLACE FUNCTION veritas_previous_audit(a TEXT) RETURNS TEXT LANGUAGE plpgsql STABLE AS $$
DECLARE x audits;
BEGIN
  SELECT * INTO x FROM audits WHERE id = a;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  RETURN (SELECT p.id FROM audits p
          WHERE p.project = x.project AND rtrim(p.url, '/') = rtrim(x.url, '/')
            AND veritas_seq(p.created_at, p.id) COLLATE "C" < veritas_seq(x.created_at, x.id) COLLATE "C"
          ORDER BY veritas_seq(p.created_at, p.id) COLLATE "C" DESC LIMIT 1);
END
$$;
