//! Reading triage (migration 11): an audit's findings under their site's decisions, a
//! finding's history, a project's decisions for export.

use sqlx::{Connection, SqlitePool};

use crate::error::{Error, Result};
use crate::triage::{judge, AuditTriage, TriageDecision};
use crate::write::decision_from_row;

/// Audit `audit_id` of `project`: each finding under the decisions of its site and
/// fingerprint, from one snapshot.
pub async fn audit_triage(pool: &SqlitePool, project: &str, audit_id: &str) -> Result<AuditTriage> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query_scalar::<_, i64>("SELECT 1 FROM audits WHERE id = ?1 AND project = ?2")
        .bind(audit_id)
        .bind(project)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(format!("audit {audit_id} in project {project}")))?;
    let prints: Vec<(i64, String)> = sqlx::query_as(
        "SELECT finding_id, fingerprint FROM finding_fingerprints WHERE audit_id = ?1 ORDER BY finding_id",
    )
    .bind(audit_id)
    .fetch_all(&mut *tx)
    .await?;
    let rows: Vec<TriageDecision> = sqlx::query(
        "SELECT t.* FROM triage t, site_audits s
         WHERE s.audit_id = ?1 AND t.site = s.site
           AND t.fingerprint IN (SELECT fingerprint FROM finding_fingerprints WHERE audit_id = ?1)",
    )
    .bind(audit_id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(decision_from_row)
    .collect();
    tx.commit().await?;
    let findings: Vec<_> = prints
        .into_iter()
        .map(|(id, fp)| judge(id, &fp, audit_id, &rows))
        .collect();
    Ok(AuditTriage {
        audit_id: audit_id.to_string(),
        hidden: findings.iter().filter(|f| f.hidden).count(),
        findings,
    })
}

/// Every decision about finding `finding_id`'s problem on its site (the site's and each
/// audit's own), newest first.
pub async fn finding_history(
    pool: &SqlitePool,
    project: &str,
    finding_id: i64,
) -> Result<Vec<TriageDecision>> {
    let key: Option<(Option<String>, String)> = sqlx::query_as(
        "SELECT fp.site, fp.fingerprint FROM finding_fingerprints fp JOIN audits a ON a.id = fp.audit_id
         WHERE fp.finding_id = ?1 AND a.project = ?2",
    )
    .bind(finding_id)
    .bind(project)
    .fetch_optional(pool)
    .await?;
    let (site, fingerprint) =
        key.ok_or_else(|| Error::not_found(format!("finding {finding_id} in project {project}")))?;
    Ok(sqlx::query(
        "SELECT * FROM triage WHERE site = ?1 AND fingerprint = ?2 ORDER BY decided_at DESC, recorded_at DESC, id",
    )
    .bind(site)
    .bind(fingerprint)
    .fetch_all(pool)
    .await?
    .iter()
    .map(decision_from_row)
    .collect())
}

/// Every decision of `project`, oldest first.
pub async fn project_decisions(pool: &SqlitePool, project: &str) -> Result<Vec<TriageDecision>> {
    Ok(sqlx::query(
        "SELECT * FROM triage WHERE site >= ?1 || char(31) AND site < ?1 || char(32)
         ORDER BY decided_at, id",
    )
    .bind(project)
    .fetch_all(pool)
    .await?
    .iter()
    .map(decision_from_row)
    .collect())
}
