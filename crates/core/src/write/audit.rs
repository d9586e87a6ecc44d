//! Writing and deleting a whole audit.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::framing::Framing;
use super::rows::{audit_conflict, push_audit, push_events, push_findings, push_screenshots};
use super::Outcome;
use crate::error::{Error, Result};
use crate::model::AuditRecord;
use crate::time::now_text;

/// Store the audit `r` of `project` with all its children. The whole audit is one batch of
/// statements, sent to SQLite's worker thread at once: a round trip to it costs more than
/// SQLite's own work on a row, so one per statement was most of an audit's write time. Its
/// transaction or savepoint (`framing`) begins and ends in the same batch; `None` when the
/// caller has framed it already.
pub(super) async fn insert_audit(
    conn: &mut SqliteConnection,
    project: &str,
    r: AuditRecord,
    framing: Option<Framing>,
) -> Result<Outcome> {
    let now = now_text();
    let mut q = QueryBuilder::<Sqlite>::new(framing.map_or("", Framing::begin));
    push_audit(&mut q, project, &r, &now);
    push_findings(&mut q, &r.id, 1, &r.findings, &now);
    push_screenshots(&mut q, &r.id, 1, &r.screenshots, &now);
    push_events(&mut q, &r.id, 1, None, &r.events, &now);
    q.push(framing.map_or("", Framing::end));
    let done = q
        .build()
        .execute(&mut *conn)
        .await
        .map_err(|e| audit_conflict(&r.id, e))?;
    Ok(Outcome {
        id: None,
        rows: done.rows_affected(),
        duplicate: false,
        created: false,
        run: 0,
    })
}

/// Delete audit `audit_id` of `project` and its rows (its files are the caller's, after the
/// commit).
pub(super) async fn delete_audit(
    conn: &mut SqliteConnection,
    project: &str,
    audit_id: &str,
) -> Result<Outcome> {
    let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM audits WHERE id = ?1 AND project = ?2")
        .bind(audit_id)
        .bind(project)
        .fetch_optional(&mut *conn)
        .await?;
    if exists.is_none() {
        return Err(Error::not_found(format!("audit {audit_id} in project {project}")));
    }
    // Children explicitly, not only by ON DELETE CASCADE: a database written by another
    // program may have been used with foreign keys off.
    let mut rows = 0;
    for sql in [
        "DELETE FROM audit_findings WHERE audit_id = ?1",
        "DELETE FROM audit_screenshots WHERE audit_id = ?1",
        "DELETE FROM audit_events WHERE audit_id = ?1",
        "DELETE FROM audits WHERE id = ?1",
    ] {
        rows += sqlx::query(sql)
            .bind(audit_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(Outcome {
        id: None,
        rows,
        duplicate: false,
        created: false,
        run: 0,
    })
}
