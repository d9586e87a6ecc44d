//! Triage on a team database: a verdict on a finding's problem (its fingerprint) carried to
//! every audit of its site, an audit's findings under their decisions, and a finding's
//! history. The decisions and how they stand (heads, conflicts, overrides) are the same
//! code as on SQLite ([`crate::triage`]); only the rows live in PostgreSQL, and a decision
//! committed by one analyst notifies every open window (team/live.rs).

use sqlx::postgres::PgRow;
use sqlx::Row;

use super::TeamStore;
use crate::api::triage::checked_author;
use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::triage::{
    check_export, conflicting_keys, decision_id, heads, judge, key_hides, AuditTriage, FindingTriage,
    TriageDecision, TriageExport, TriageImport, TriageVerdict,
};
use crate::TriageRequest;

const DECISION_COLUMNS: &str = "id, site, fingerprint, audit_id, verdict, note, author, decided_at,
    origin_audit_id, origin_finding_id, replaces, recorded_at, imported_from";

fn decision_from_row(r: &PgRow) -> Result<TriageDecision> {
    let verdict: String = r.try_get("verdict")?;
    Ok(TriageDecision {
        id: r.try_get("id")?,
        url: r.try_get("site")?,
        fingerprint: r.try_get("fingerprint")?,
        audit_id: r.try_get("audit_id")?,
        // The column's CHECK admits the four names only.
        verdict: TriageVerdict::parse(&verdict)?,
        note: r.try_get("note")?,
        author: r.try_get("author")?,
        decided_at: r.try_get("decided_at")?,
        origin_audit_id: r.try_get("origin_audit_id")?,
        origin_finding_id: r.try_get("origin_finding_id")?,
        replaces: r.try_get::<sqlx::types::Json<Vec<String>>, _>("replaces")?.0,
        recorded_at: r.try_get("recorded_at")?,
        imported_from: r.try_get("imported_from")?,
    })
}

/// Store decision `d` in `project` unless it is there already (a decision's id is made
/// from its content); 1 when it was new. Its `origin_finding_id` is this database's.
pub(super) async fn insert_decision(
    conn: &mut sqlx::PgConnection,
    project: &ProjectName,
    d: &TriageDecision,
) -> Result<u64> {
    let added = sqlx::query(
        "INSERT INTO triage (project, id, site, fingerprint, audit_id, verdict, note, author, decided_at,
             origin_audit_id, origin_finding_id, replaces, recorded_at, imported_from)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
         ON CONFLICT (project, site, id) DO NOTHING",
    )
    .bind(project.as_str())
    .bind(&d.id)
    .bind(&d.url)
    .bind(&d.fingerprint)
    .bind(&d.audit_id)
    .bind(d.verdict.as_str())
    .bind(&d.note)
    .bind(&d.author)
    .bind(&d.decided_at)
    .bind(&d.origin_audit_id)
    .bind(d.origin_finding_id)
    .bind(sqlx::types::Json(&d.replaces))
    .bind(&d.recorded_at)
    .bind(&d.imported_from)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if added == 1 {
        keep_key_state(conn, project, &d.url, &d.fingerprint, d.audit_id.as_deref()).await?;
    }
    Ok(added)
}

/// Whether a key (`site`'s problem `fingerprint`, for the site or for one audit) hides its
/// findings by its decisions (the same reading as on SQLite).
async fn key_hides_now(
    conn: &mut sqlx::PgConnection,
    project: &ProjectName,
    site: &str,
    fingerprint: &str,
    audit_id: Option<&str>,
) -> Result<bool> {
    let rows: Vec<TriageDecision> = sqlx::query(&format!(
        "SELECT {DECISION_COLUMNS} FROM triage WHERE project = $1 AND site = $2 AND fingerprint = $3
         AND audit_id IS NOT DISTINCT FROM $4"
    ))
    .bind(project.as_str())
    .bind(site)
    .bind(fingerprint)
    .bind(audit_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(decision_from_row)
    .collect::<Result<_>>()?;
    Ok(key_hides(&rows))
}

/// Keep a key's state in `triage_state` (migration 5), whose trigger counts the findings'
/// audits again for the list's severity and pattern filters and facets.
async fn keep_key_state(
    conn: &mut sqlx::PgConnection,
    project: &ProjectName,
    site: &str,
    fingerprint: &str,
    audit_id: Option<&str>,
) -> Result<()> {
    let hides = key_hides_now(conn, project, site, fingerprint, audit_id).await?;
    sqlx::query(
        "INSERT INTO triage_state (site, fingerprint, scope, hides) VALUES (veritas_site($1, $2), $3, $4, $5)
         ON CONFLICT (site, fingerprint, scope) DO UPDATE SET hides = EXCLUDED.hides
         WHERE triage_state.hides IS DISTINCT FROM EXCLUDED.hides",
    )
    .bind(project.as_str())
    .bind(site)
    .bind(fingerprint)
    .bind(audit_id.unwrap_or(""))
    .bind(hides)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A key that has decisions: its project, site (as the decisions name it), fingerprint,
/// audit (none for the site's own decisions) and site as `triage_state` holds it.
type DecisionKey = (ProjectName, String, String, Option<String>, String);

/// Every key that has decisions.
async fn decision_keys(conn: &mut sqlx::PgConnection) -> Result<Vec<DecisionKey>> {
    let keys: Vec<(String, String, String, Option<String>, String)> = sqlx::query_as(
        "SELECT DISTINCT project, site, fingerprint, audit_id, veritas_site(project, site) FROM triage
         ORDER BY 1, 2, 3, 4",
    )
    .fetch_all(&mut *conn)
    .await?;
    keys.into_iter()
        .map(|(project, site, fingerprint, audit_id, stored)| {
            Ok((ProjectName::parse(&project)?, site, fingerprint, audit_id, stored))
        })
        .collect()
}

/// Every triage key's state from the decisions (migration 5 on a database that had some,
/// and doctor's repair after it emptied `triage_state`).
pub(super) async fn keep_all_key_states(conn: &mut sqlx::PgConnection) -> Result<()> {
    for (project, site, fingerprint, audit_id, _) in decision_keys(conn).await? {
        keep_key_state(conn, &project, &site, &fingerprint, audit_id.as_deref()).await?;
    }
    Ok(())
}

/// How many keys of `triage_state` differ from what the decisions say (a key's state wrong,
/// missing, or kept for a key with no decisions): doctor's check.
pub(super) async fn key_state_mismatches(conn: &mut sqlx::PgConnection) -> Result<usize> {
    let mut expected = std::collections::BTreeSet::new();
    for (project, site, fingerprint, audit_id, stored) in decision_keys(conn).await? {
        let hides = key_hides_now(conn, &project, &site, &fingerprint, audit_id.as_deref()).await?;
        expected.insert((stored, fingerprint, audit_id.unwrap_or_default(), hides));
    }
    let held: std::collections::BTreeSet<(String, String, String, bool)> =
        sqlx::query_as("SELECT site, fingerprint, scope, hides FROM triage_state")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    let keys: std::collections::BTreeSet<_> = expected
        .symmetric_difference(&held)
        .map(|(site, fingerprint, scope, _)| (site, fingerprint, scope))
        .collect();
    Ok(keys.len())
}

impl TeamStore {
    /// Record a verdict on a finding's problem, and return how the finding now stands.
    pub async fn triage_finding(&self, project: &ProjectName, req: TriageRequest) -> Result<FindingTriage> {
        let author = checked_author(&req)?;
        let pool = self.database().pool();
        let mut tx = pool.begin().await?;
        let found: Option<(String, Option<String>, String)> = sqlx::query_as(
            "SELECT f.audit_id, f.fingerprint, rtrim(a.url, '/') FROM audit_findings f
             JOIN audits a ON a.id = f.audit_id WHERE f.id = $1 AND a.project = $2",
        )
        .bind(req.finding_id)
        .bind(project.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let (audit_id, fingerprint, site) = found
            .ok_or_else(|| Error::not_found(format!("finding {} in project {project}", req.finding_id)))?;
        let fingerprint = fingerprint.ok_or_else(|| {
            Error::invalid(
                format!("finding {}", req.finding_id),
                "has no fingerprint (push it again from a data folder that has one)",
            )
        })?;
        let scope = req.only_this_audit.then(|| audit_id.clone());
        // The key's decisions, locked for this transaction: two analysts deciding at once
        // each replace what the other could see, or conflict visibly, never silently.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1 || chr(31) || $2 || chr(31) || $3))")
            .bind(project.as_str())
            .bind(&site)
            .bind(&fingerprint)
            .execute(&mut *tx)
            .await?;
        let current: Vec<TriageDecision> = sqlx::query(&format!(
            "SELECT {DECISION_COLUMNS} FROM triage WHERE project = $1 AND site = $2 AND fingerprint = $3
             AND audit_id IS NOT DISTINCT FROM $4"
        ))
        .bind(project.as_str())
        .bind(&site)
        .bind(&fingerprint)
        .bind(&scope)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(decision_from_row)
        .collect::<Result<_>>()?;
        let mut replaces: Vec<String> = heads(&current).into_iter().map(|d| d.id.clone()).collect();
        replaces.sort();
        let mut d = TriageDecision {
            id: String::new(),
            url: site,
            fingerprint,
            audit_id: scope,
            verdict: req.verdict,
            note: req.note,
            author,
            decided_at: crate::time::now_text(),
            origin_audit_id: audit_id.clone(),
            origin_finding_id: Some(req.finding_id),
            replaces,
            recorded_at: crate::time::now_text(),
            imported_from: None,
        };
        d.id = decision_id(&d);
        insert_decision(&mut tx, project, &d).await?;
        tx.commit().await?;
        let id = AuditId::parse(&audit_id)?;
        self.audit_triage(project, &id)
            .await?
            .findings
            .into_iter()
            .find(|f| f.finding_id == req.finding_id)
            .ok_or_else(|| Error::not_found(format!("finding {} in project {project}", req.finding_id)))
    }

    /// Each finding of audit `id` under its site's decisions, from one snapshot.
    pub async fn audit_triage(&self, project: &ProjectName, id: &AuditId) -> Result<AuditTriage> {
        let mut tx = self.database().pool().begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .execute(&mut *tx)
            .await?;
        let site: String =
            sqlx::query_scalar("SELECT rtrim(url, '/') FROM audits WHERE id = $1 AND project = $2")
                .bind(id.as_str())
                .bind(project.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(|| Error::not_found(format!("audit {id} in project {project}")))?;
        let prints: Vec<(i64, String)> = sqlx::query_as(
            "SELECT id, fingerprint FROM audit_findings WHERE audit_id = $1 AND fingerprint IS NOT NULL ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let rows: Vec<TriageDecision> = sqlx::query(&format!(
            "SELECT {DECISION_COLUMNS} FROM triage WHERE project = $1 AND site = $2
             AND fingerprint IN (SELECT fingerprint FROM audit_findings WHERE audit_id = $3)"
        ))
        .bind(project.as_str())
        .bind(&site)
        .bind(id.as_str())
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(decision_from_row)
        .collect::<Result<_>>()?;
        tx.commit().await?;
        let findings: Vec<_> = prints
            .into_iter()
            .map(|(finding, fp)| judge(finding, &fp, id.as_str(), &rows))
            .collect();
        Ok(AuditTriage {
            audit_id: id.as_str().to_string(),
            hidden: findings.iter().filter(|f| f.hidden).count(),
            findings,
        })
    }

    /// Every decision about finding `finding_id`'s problem on its site, newest first.
    pub async fn triage_history(
        &self,
        project: &ProjectName,
        finding_id: i64,
    ) -> Result<Vec<TriageDecision>> {
        let key: Option<(String, Option<String>)> = sqlx::query_as(
            "SELECT rtrim(a.url, '/'), f.fingerprint FROM audit_findings f JOIN audits a ON a.id = f.audit_id
             WHERE f.id = $1 AND a.project = $2",
        )
        .bind(finding_id)
        .bind(project.as_str())
        .fetch_optional(self.database().pool())
        .await?;
        let (site, fingerprint) =
            key.ok_or_else(|| Error::not_found(format!("finding {finding_id} in project {project}")))?;
        sqlx::query(&format!(
            "SELECT {DECISION_COLUMNS} FROM triage WHERE project = $1 AND site = $2 AND fingerprint = $3
             ORDER BY decided_at DESC, recorded_at DESC, id"
        ))
        .bind(project.as_str())
        .bind(site)
        .bind(fingerprint)
        .fetch_all(self.database().pool())
        .await?
        .iter()
        .map(decision_from_row)
        .collect()
    }
}

impl TeamStore {
    /// Every decision of `project`, as the exchange file `veritas-db triage export` writes
    /// (the same format as from a data folder).
    pub async fn export_triage(&self, project: &ProjectName) -> Result<TriageExport> {
        Ok(TriageExport {
            format: "veritas-triage".into(),
            version: 1,
            project: project.to_string(),
            exported_at: crate::time::now_text(),
            decisions: self.project_decisions(project).await?,
        })
    }

    /// Merge another analyst's export `text` (read from `from`) into `project`, as on a data
    /// folder: new decisions added, known ones kept, disagreements reported and kept as
    /// conflicts. One transaction: a file is merged whole or not at all.
    pub async fn import_triage(&self, project: &ProjectName, text: &str, from: &str) -> Result<TriageImport> {
        let export = check_export(text)?;
        let total = export.decisions.len();
        let now = crate::time::now_text();
        let mut tx = self.database().pool().begin().await?;
        sqlx::query("INSERT INTO projects (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
            .bind(project.as_str())
            .execute(&mut *tx)
            .await?;
        let mut added = 0;
        for mut d in export.decisions {
            d.recorded_at = now.clone();
            d.imported_from = Some(from.to_string());
            added += insert_decision(&mut tx, project, &d).await? as usize;
        }
        tx.commit().await?;
        let all = self.project_decisions(project).await?;
        Ok(TriageImport {
            added,
            known: total - added,
            conflicts: conflicting_keys(&all),
        })
    }

    async fn project_decisions(&self, project: &ProjectName) -> Result<Vec<TriageDecision>> {
        sqlx::query(&format!(
            "SELECT {DECISION_COLUMNS} FROM triage WHERE project = $1 ORDER BY decided_at COLLATE \"C\", id COLLATE \"C\""
        ))
        .bind(project.as_str())
        .fetch_all(self.database().pool())
        .await?
        .iter()
        .map(decision_from_row)
        .collect()
    }
}
