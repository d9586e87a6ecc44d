//! One audit with all its children.

use sqlx::{Connection, SqlitePool};

use super::{
    audit_from_row, event_from_row, finding_from_row, int, text, time, AUDIT_COLUMNS, FINDING_COLUMNS,
};
use crate::error::{Error, Result};
use crate::model::{Audit, AuditEvent, Finding, Screenshot};

/// An audit's rows as stored; the screenshots' file facts are filled in by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRows {
    pub audit: Audit,
    pub findings: Vec<Finding>,
    pub screenshots: Vec<Screenshot>,
    pub events: Vec<AuditEvent>,
}

fn screenshot_from_row(r: &sqlx::sqlite::SqliteRow) -> Screenshot {
    Screenshot {
        id: int(r, "id").unwrap_or_default(),
        audit_id: text(r, "audit_id").unwrap_or_default(),
        label: text(r, "label").unwrap_or_default(),
        index: int(r, "index_num").unwrap_or_default(),
        file_path: text(r, "file_path").unwrap_or_default(),
        file_size_bytes: int(r, "file_size_bytes"),
        created_at: time(r, "created_at"),
        resolved_path: None,
        exists: false,
        format: None,
        width: None,
        height: None,
        run: int(r, "run").filter(|r| *r > 0).unwrap_or(0),
    }
}

/// One screenshot row of audit `audit_id` of `project` (what serving its file needs, and no
/// more: the webview asks for every thumbnail of a film strip at once).
pub async fn get_screenshot_row(
    pool: &SqlitePool,
    project: &str,
    audit_id: &str,
    screenshot_id: i64,
) -> Result<Screenshot> {
    let row = sqlx::query(
        "SELECT s.id, s.audit_id, s.label, s.index_num, s.file_path, s.file_size_bytes, s.created_at, s.run
         FROM audit_screenshots s JOIN audits a ON a.id = s.audit_id
         WHERE s.id = ?1 AND s.audit_id = ?2 AND a.project = ?3",
    )
    .bind(screenshot_id)
    .bind(audit_id)
    .bind(project)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| {
        Error::not_found(format!(
            "screenshot {screenshot_id} of audit {audit_id} in project {project}"
        ))
    })?;
    Ok(screenshot_from_row(&row))
}

/// Read audit `id` of `project` and its findings, screenshot rows and events, from one
/// snapshot (a short read transaction), so a concurrent ingest is seen whole or not at all.
pub async fn get_audit_rows(pool: &SqlitePool, project: &str, id: &str) -> Result<AuditRows> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {AUDIT_COLUMNS} FROM audits a WHERE a.id = ?1 AND a.project = ?2"
    ))
    .bind(id)
    .bind(project)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| Error::not_found(format!("audit {id} in project {project}")))?;
    let audit = audit_from_row(&row);
    let findings = sqlx::query(&format!(
        "SELECT {FINDING_COLUMNS} FROM audit_findings f WHERE f.audit_id = ?1 ORDER BY f.id"
    ))
    .bind(id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(finding_from_row)
    .collect();
    let screenshots = sqlx::query(
        "SELECT id, audit_id, label, index_num, file_path, file_size_bytes, created_at, run
         FROM audit_screenshots WHERE audit_id = ?1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(screenshot_from_row)
    .collect();
    let events = sqlx::query(
        "SELECT id, event_type, data, timestamp, run FROM audit_events WHERE audit_id = ?1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(event_from_row)
    .collect();
    tx.commit().await?;
    Ok(AuditRows {
        audit,
        findings,
        screenshots,
        events,
    })
}
