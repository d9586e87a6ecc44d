//! Similar findings on a team database (`similar`): the cosine of the findings' embeddings
//! computed in Rust ([`crate::query::related::cosine`]), as on a data folder, over the
//! project's findings of the same embedding model and version. (pgvector would let
//! PostgreSQL rank them; it is not assumed to be installed.)

use super::read::{finding_from_row, FINDING_COLUMNS};
use super::TeamStore;
use crate::error::{Error, Result};
use crate::ids::ProjectName;
use crate::query::related::cosine;
use crate::query::SimilarFinding;
use sqlx::Row;

impl TeamStore {
    /// The `limit` findings of `project` most similar to finding `finding_id`, most similar
    /// first.
    pub async fn similar_findings(
        &self,
        project: &ProjectName,
        finding_id: i64,
        limit: usize,
    ) -> Result<Vec<SimilarFinding>> {
        let pool = self.database().pool();
        let row = sqlx::query(&format!(
            "SELECT {FINDING_COLUMNS}, f.audit_id FROM audit_findings f JOIN audits a ON a.id = f.audit_id
             WHERE f.id = $1 AND a.project = $2"
        ))
        .bind(finding_id)
        .bind(project.as_str())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("finding {finding_id} in project {}", project.as_str())))?;
        let target = finding_from_row(&row, &row.try_get::<String, _>("audit_id")?)?;
        let Some(vector) = target.embedding.as_deref() else {
            return Err(Error::invalid(
                format!("finding {finding_id}"),
                "has no embedding to compare",
            ));
        };
        let rows = sqlx::query(&format!(
            "SELECT {FINDING_COLUMNS}, f.audit_id, a.url AS audit_url
             FROM audit_findings f JOIN audits a ON a.id = f.audit_id
             WHERE a.project = $1 AND f.embedding IS NOT NULL AND f.id <> $2
               AND f.embedding_model IS NOT DISTINCT FROM $3
               AND f.embedding_model_version IS NOT DISTINCT FROM $4"
        ))
        .bind(project.as_str())
        .bind(finding_id)
        .bind(&target.embedding_model)
        .bind(&target.embedding_model_version)
        .fetch_all(pool)
        .await?;
        let mut found = Vec::new();
        for r in &rows {
            let f = finding_from_row(r, &r.try_get::<String, _>("audit_id")?)?;
            if let Some(similarity) = f.embedding.as_deref().and_then(|e| cosine(vector, e)) {
                found.push(SimilarFinding {
                    similarity,
                    audit_url: r.try_get("audit_url")?,
                    finding: f,
                });
            }
        }
        // Ties in a stable order: by audit, then the audit's own order of findings.
        found.sort_by(|a, b| {
            b.similarity
                .total_cmp(&a.similarity)
                .then_with(|| a.finding.audit_id.cmp(&b.finding.audit_id))
                .then(a.finding.id.cmp(&b.finding.id))
        });
        found.truncate(limit);
        Ok(found)
    }
}
