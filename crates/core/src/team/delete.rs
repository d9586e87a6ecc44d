//! Deleting an audit from a team store: its rows in one transaction (the counts follow by
//! their triggers), then the screenshot objects no row refers to any more.

use super::TeamStore;
use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};

impl TeamStore {
    /// Delete audit `id` of `project` with its findings, screenshots, events and their
    /// objects in the store (`delete_audit`). Triage decisions stay: they are about the
    /// site's problem, not this audit.
    ///
    /// The same bytes may be another audit's screenshot too (objects are stored once per
    /// content): an object goes only once no row refers to it. Objects go after the rows
    /// are committed, so a failure in between leaves an object no row refers to, never a
    /// row without its object.
    pub async fn delete_audit(&self, project: &ProjectName, id: &AuditId) -> Result<()> {
        let mut tx = self.database().pool().begin().await?;
        let keys: Vec<String> = sqlx::query_scalar(
            "SELECT DISTINCT s.object_key FROM audit_screenshots s JOIN audits a ON a.id = s.audit_id
             WHERE s.audit_id = $1 AND a.project = $2 AND s.object_key IS NOT NULL",
        )
        .bind(id.as_str())
        .bind(project.as_str())
        .fetch_all(&mut *tx)
        .await?;
        let deleted = sqlx::query("DELETE FROM audits WHERE id = $1 AND project = $2")
            .bind(id.as_str())
            .bind(project.as_str())
            .execute(&mut *tx)
            .await?;
        if deleted.rows_affected() == 0 {
            return Err(Error::not_found(format!(
                "audit {id} in project {}",
                project.as_str()
            )));
        }
        tx.commit().await?;
        for key in keys {
            let used: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM audit_screenshots WHERE object_key = $1)")
                    .bind(&key)
                    .fetch_one(self.database().pool())
                    .await?;
            if !used {
                self.objects().delete(&key).await?;
            }
        }
        Ok(())
    }
}
