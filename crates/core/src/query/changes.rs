//! What changed between audits of a site, by finding fingerprint (migration 10 keeps the
//! fingerprints and judges each finding against the site's earlier audits as it arrives).

use std::collections::BTreeSet;

use serde::Serialize;
use sqlx::{Connection, SqliteConnection, SqlitePool};

use super::{audit_from_row, finding_from_row, AUDIT_COLUMNS, FINDING_COLUMNS};
use crate::error::{Error, Result};
use crate::model::{Audit, Finding};

/// A finding against the earlier audits of its site.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Never found on the site before (every finding of a site's first audit).
    New,
    /// Found in the site's previous audit too.
    Persisting,
    /// Found in an earlier audit, absent from the previous one, back now.
    Regressed,
}

/// One finding of an audit and how it stands against the site's earlier audits.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingChange {
    pub finding_id: i64,
    pub fingerprint: String,
    pub change: Change,
}

/// An audit's findings against its site's previous audit.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditChanges {
    pub audit_id: String,
    /// The audit of the same site just before this one (by creation time), if any.
    pub previous_audit_id: Option<String>,
    /// Each finding of this audit, in row order.
    pub findings: Vec<FindingChange>,
    /// The previous audit's findings whose problem this audit no longer has.
    pub fixed: Vec<Finding>,
}

/// Two audits' findings matched by fingerprint.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct FingerprintDiff {
    /// In the later audit only.
    pub new: Vec<Finding>,
    /// In the earlier audit only.
    pub fixed: Vec<Finding>,
    /// In both (the later audit's rows).
    pub kept: Vec<Finding>,
}

async fn ensure_audit(conn: &mut SqliteConnection, project: &str, id: &str) -> Result<()> {
    sqlx::query_scalar::<_, i64>("SELECT 1 FROM audits WHERE id = ?1 AND project = ?2")
        .bind(id)
        .bind(project)
        .fetch_optional(&mut *conn)
        .await?
        .map(|_| ())
        .ok_or_else(|| Error::not_found(format!("audit {id} in project {project}")))
}

async fn findings_of(conn: &mut SqliteConnection, audit_id: &str) -> Result<Vec<Finding>> {
    Ok(sqlx::query(&format!(
        "SELECT {FINDING_COLUMNS} FROM audit_findings f WHERE f.audit_id = ?1 ORDER BY f.id"
    ))
    .bind(audit_id)
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(finding_from_row)
    .collect())
}

/// The audit of the same site just before `audit_id`.
pub(crate) async fn previous_audit(conn: &mut SqliteConnection, audit_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT p.audit_id FROM site_audits s, site_audits p
         WHERE s.audit_id = ?1 AND p.site = s.site AND p.seq < s.seq
         ORDER BY p.seq DESC LIMIT 1",
    )
    .bind(audit_id)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Audit `audit_id` of `project` against its site's earlier audits, from one snapshot.
pub async fn audit_changes(pool: &SqlitePool, project: &str, audit_id: &str) -> Result<AuditChanges> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    ensure_audit(&mut tx, project, audit_id).await?;
    let rows: Vec<(i64, String, Option<String>)> = sqlx::query_as(
        "SELECT finding_id, fingerprint, change FROM finding_changes WHERE audit_id = ?1 ORDER BY finding_id",
    )
    .bind(audit_id)
    .fetch_all(&mut *tx)
    .await?;
    let findings: Vec<FindingChange> = rows
        .into_iter()
        .map(|(finding_id, fingerprint, change)| FindingChange {
            finding_id,
            fingerprint,
            change: match change.as_deref() {
                Some("new") => Change::New,
                Some(_) => Change::Regressed,
                None => Change::Persisting,
            },
        })
        .collect();
    let previous_audit_id = previous_audit(&mut tx, audit_id).await?;
    let fixed = match &previous_audit_id {
        Some(prev) => fixed_since(findings_of(&mut tx, prev).await?, &findings),
        None => Vec::new(),
    };
    tx.commit().await?;
    Ok(AuditChanges {
        audit_id: audit_id.to_string(),
        previous_audit_id,
        findings,
        fixed,
    })
}

/// The previous audit's findings whose problem (fingerprint) none of `here` has.
pub(crate) fn fixed_since(previous: Vec<Finding>, here: &[FindingChange]) -> Vec<Finding> {
    let here: BTreeSet<&str> = here.iter().map(|f| f.fingerprint.as_str()).collect();
    previous
        .into_iter()
        .filter(|f| f.fingerprint.as_deref().is_some_and(|p| !here.contains(p)))
        .collect()
}

/// Each finding (id, fingerprint) judged against its site's earlier audits: `previous` holds
/// the fingerprints of the audit just before, `earlier` those of every audit before (the
/// previous one's included). The rule of the view `finding_changes` (migration 10), for an
/// engine that judges when asked rather than on arrival.
pub(crate) fn judge(
    findings: impl IntoIterator<Item = (i64, String)>,
    previous: &BTreeSet<String>,
    earlier: &BTreeSet<String>,
) -> Vec<FindingChange> {
    findings
        .into_iter()
        .map(|(finding_id, fingerprint)| {
            let change = if !earlier.contains(&fingerprint) {
                Change::New
            } else if previous.contains(&fingerprint) {
                Change::Persisting
            } else {
                Change::Regressed
            };
            FindingChange {
                finding_id,
                fingerprint,
                change,
            }
        })
        .collect()
}

/// Audit `other` against audit `base` (both of `project`, any two): each audit with its
/// findings, from one snapshot.
pub(crate) async fn audits_with_findings(
    pool: &SqlitePool,
    project: &str,
    base: &str,
    other: &str,
) -> Result<[(Audit, Vec<Finding>); 2]> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let mut out = Vec::with_capacity(2);
    for id in [base, other] {
        let row = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audits a WHERE a.id = ?1 AND a.project = ?2"
        ))
        .bind(id)
        .bind(project)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(format!("audit {id} in project {project}")))?;
        out.push((audit_from_row(&row), findings_of(&mut tx, id).await?));
    }
    tx.commit().await?;
    let [b, o]: [(Audit, Vec<Finding>); 2] = out.try_into().expect("two audits");
    Ok([b, o])
}

/// The findings of `after` matched to those of `before` by fingerprint (the same problem in
/// both audits): the one rule of every engine.
pub(crate) fn fingerprint_diff(before: Vec<Finding>, after: Vec<Finding>) -> FingerprintDiff {
    let prints =
        |v: &[Finding]| -> BTreeSet<String> { v.iter().filter_map(|f| f.fingerprint.clone()).collect() };
    let (was, is) = (prints(&before), prints(&after));
    let mut diff = FingerprintDiff::default();
    for f in after {
        match f.fingerprint.as_deref() {
            Some(p) if was.contains(p) => diff.kept.push(f),
            _ => diff.new.push(f),
        }
    }
    diff.fixed = before
        .into_iter()
        .filter(|f| f.fingerprint.as_deref().is_some_and(|p| !is.contains(p)))
        .collect();
    diff
}
