//! The writes of triage (migration 11): a decision made here, and decisions imported from
//! another analyst's export. Rows are only added, never changed.

use sqlx::SqliteConnection;

use super::Outcome;
use crate::error::{Error, Result};
use crate::time::now_text;
use crate::triage::{decision_id, heads, TriageDecision, TriageVerdict};

/// A decision to record on a finding.
#[derive(Debug, Clone)]
pub struct NewDecision {
    pub finding_id: i64,
    pub verdict: TriageVerdict,
    pub note: String,
    pub author: String,
    pub decided_at: String,
    /// For the finding's audit alone, not carried to the site's other audits.
    pub only_this_audit: bool,
}

/// The key columns that make `site` (see migration 10) from a project and a url.
pub(crate) fn site_of(project: &str, url: &str) -> String {
    format!("{project}\u{1f}{url}")
}

/// The url part of a stored site.
pub(crate) fn url_of(site: &str) -> &str {
    site.split_once('\u{1f}').map_or(site, |(_, url)| url)
}

pub(crate) fn decision_from_row(r: &sqlx::sqlite::SqliteRow) -> TriageDecision {
    use sqlx::Row;
    let site: String = r.try_get("site").unwrap_or_default();
    let verdict: String = r.try_get("verdict").unwrap_or_default();
    let replaces: String = r.try_get("replaces").unwrap_or_default();
    TriageDecision {
        id: r.try_get("id").unwrap_or_default(),
        url: url_of(&site).to_string(),
        fingerprint: r.try_get("fingerprint").unwrap_or_default(),
        audit_id: r.try_get("audit_id").ok().flatten(),
        // The column's CHECK admits the four names only.
        verdict: TriageVerdict::parse(&verdict).unwrap_or(TriageVerdict::NeedsReview),
        note: r.try_get("note").unwrap_or_default(),
        author: r.try_get("author").unwrap_or_default(),
        decided_at: r.try_get("decided_at").unwrap_or_default(),
        origin_audit_id: r.try_get("origin_audit_id").unwrap_or_default(),
        origin_finding_id: r.try_get("origin_finding_id").ok().flatten(),
        replaces: serde_json::from_str(&replaces).unwrap_or_default(),
        recorded_at: r.try_get("recorded_at").unwrap_or_default(),
        imported_from: r.try_get("imported_from").ok().flatten(),
    }
}

/// The decisions of one key (`audit_id` NULL: the site's).
async fn key_rows(
    conn: &mut SqliteConnection,
    site: &str,
    fingerprint: &str,
    audit_id: Option<&str>,
) -> Result<Vec<TriageDecision>> {
    Ok(
        sqlx::query("SELECT * FROM triage WHERE site = ?1 AND fingerprint = ?2 AND audit_id IS ?3")
            .bind(site)
            .bind(fingerprint)
            .bind(audit_id)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(decision_from_row)
            .collect(),
    )
}

async fn insert(conn: &mut SqliteConnection, site: &str, d: &TriageDecision) -> Result<u64> {
    Ok(sqlx::query(
        "INSERT OR IGNORE INTO triage (id, site, fingerprint, audit_id, verdict, note, author, decided_at,
           origin_audit_id, origin_finding_id, replaces, recorded_at, imported_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )
    .bind(&d.id)
    .bind(site)
    .bind(&d.fingerprint)
    .bind(&d.audit_id)
    .bind(d.verdict.as_str())
    .bind(&d.note)
    .bind(&d.author)
    .bind(&d.decided_at)
    .bind(&d.origin_audit_id)
    .bind(d.origin_finding_id)
    .bind(serde_json::to_string(&d.replaces)?)
    .bind(&d.recorded_at)
    .bind(&d.imported_from)
    .execute(&mut *conn)
    .await?
    .rows_affected())
}

/// Record `new` on its finding (of `project`): it replaces the decisions current for its key.
pub(super) async fn decide(conn: &mut SqliteConnection, project: &str, new: NewDecision) -> Result<Outcome> {
    let found: Option<(String, String, Option<String>)> = sqlx::query_as(
        "SELECT f.audit_id, fp.fingerprint, fp.site FROM audit_findings f
         JOIN audits a ON a.id = f.audit_id
         LEFT JOIN finding_fingerprints fp ON fp.finding_id = f.id
         WHERE f.id = ?1 AND a.project = ?2",
    )
    .bind(new.finding_id)
    .bind(project)
    .fetch_optional(&mut *conn)
    .await?;
    let (audit_id, fingerprint, site) =
        found.ok_or_else(|| Error::not_found(format!("finding {} in project {project}", new.finding_id)))?;
    let site = site.ok_or_else(|| {
        Error::invalid(
            format!("finding {}", new.finding_id),
            "its audit has no site yet (run veritas-db doctor --repair)",
        )
    })?;
    let scope = new.only_this_audit.then(|| audit_id.clone());
    let current = key_rows(conn, &site, &fingerprint, scope.as_deref()).await?;
    let mut replaces: Vec<String> = heads(&current).into_iter().map(|d| d.id.clone()).collect();
    replaces.sort();
    let mut d = TriageDecision {
        id: String::new(),
        url: url_of(&site).to_string(),
        fingerprint,
        audit_id: scope,
        verdict: new.verdict,
        note: new.note,
        author: new.author,
        decided_at: new.decided_at,
        origin_audit_id: audit_id,
        origin_finding_id: Some(new.finding_id),
        replaces,
        recorded_at: now_text(),
        imported_from: None,
    };
    d.id = decision_id(&d);
    let rows = insert(conn, &site, &d).await?;
    Ok(Outcome {
        rows,
        ..Outcome::default()
    })
}

/// Add `decisions` (checked already) to `project`; those known already are left as they are.
pub(super) async fn import(
    conn: &mut SqliteConnection,
    project: &str,
    decisions: Vec<TriageDecision>,
    from: &str,
) -> Result<Outcome> {
    let now = now_text();
    let mut rows = 0;
    for mut d in decisions {
        d.recorded_at = now.clone();
        d.imported_from = Some(from.to_string());
        rows += insert(conn, &site_of(project, &d.url), &d).await?;
    }
    Ok(Outcome {
        rows,
        ..Outcome::default()
    })
}
