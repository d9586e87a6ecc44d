//! What changed between audits of a site on a team database (`audit_changes`): the same
//! answer as a data folder's, judged when asked by the rule the folder's view states
//! ([`crate::query::changes::judge`]). The folder judges each finding as it arrives, for its
//! "changes" filter and facet; that filter is not on a team database yet.

use std::collections::BTreeSet;

use sqlx::Row;

use super::read::findings_of;
use super::TeamStore;
use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::query::changes::{fixed_since, judge};
use crate::query::AuditChanges;

impl TeamStore {
    /// Audit `id` of `project` against its site's earlier audits, from one snapshot. A site
    /// is the project and the URL without its trailing slashes; audits are in the order of
    /// their creation time, then id, as on SQLite.
    pub async fn audit_changes(&self, project: &ProjectName, id: &AuditId) -> Result<AuditChanges> {
        let mut tx = self.database().pool().begin().await?;
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
        let (url, seq): (String, String) = sqlx::query_as(
            "SELECT url, COALESCE(created_at, '') || ' ' || id FROM audits WHERE id = $1 AND project = $2",
        )
        .bind(id.as_str())
        .bind(project.as_str())
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| Error::not_found(format!("audit {id} in project {}", project.as_str())))?;
        let site = url.trim_end_matches('/');
        // The site's earlier audits, the latest first. The URL list finds them by index;
        // rtrim keeps exactly the site SQLite's `site_audits` would.
        let earlier: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM audits
             WHERE project = $1 AND url IN ($2, $2 || '/', $2 || '//') AND rtrim(url, '/') = $2
               AND (COALESCE(created_at, '') || ' ' || id) COLLATE \"C\" < $3 COLLATE \"C\"
             ORDER BY (COALESCE(created_at, '') || ' ' || id) COLLATE \"C\" DESC",
        )
        .bind(project.as_str())
        .bind(site)
        .bind(&seq)
        .fetch_all(&mut *tx)
        .await?;
        let prints = |rows: Vec<sqlx::postgres::PgRow>| -> Result<BTreeSet<String>> {
            rows.iter().map(|r| Ok(r.try_get::<String, _>(0)?)).collect()
        };
        let (previous, seen_before) = match earlier.first() {
            Some(prev) => {
                let previous =
                    sqlx::query("SELECT DISTINCT fingerprint FROM audit_findings WHERE audit_id = $1")
                        .bind(prev)
                        .fetch_all(&mut *tx)
                        .await?;
                let all =
                    sqlx::query("SELECT DISTINCT fingerprint FROM audit_findings WHERE audit_id = ANY($1)")
                        .bind(&earlier)
                        .fetch_all(&mut *tx)
                        .await?;
                (prints(previous)?, prints(all)?)
            }
            None => (BTreeSet::new(), BTreeSet::new()),
        };
        let here: Vec<(i64, String)> =
            sqlx::query_as("SELECT id, fingerprint FROM audit_findings WHERE audit_id = $1 ORDER BY id")
                .bind(id.as_str())
                .fetch_all(&mut *tx)
                .await?;
        let findings = judge(here, &previous, &seen_before);
        let fixed = match earlier.first() {
            Some(prev) => fixed_since(findings_of(&mut *tx, prev).await?, &findings),
            None => Vec::new(),
        };
        tx.commit().await?;
        Ok(AuditChanges {
            audit_id: id.to_string(),
            previous_audit_id: earlier.into_iter().next(),
            findings,
            fixed,
        })
    }
}
