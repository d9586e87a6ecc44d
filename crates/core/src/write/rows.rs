//! The INSERTs of an audit's rows, appended to a batch of statements: the audit itself
//! (the only `INSERT INTO audits` of the core), its findings, screenshots and events.

use sqlx::sqlite::SqliteQueryResult;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::embedding::encode_embedding;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{derived_risk_level, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot};

/// Rows per multi-row INSERT: 13 parameters a finding stays well under SQLite's limit.
const ROWS_PER_INSERT: usize = 400;

pub(super) fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(serde_json::Value::to_string)
}

/// Append the statements that register `project` and insert the audit `r` (without its
/// children). No ON CONFLICT: an existing id fails the batch before anything after it is
/// written ([`audit_conflict`] names it). Missing times are `now`; a missing status is
/// completed; a missing risk level is derived from the score.
pub(super) fn push_audit<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    project: &'a str,
    r: &'a AuditRecord,
    now: &'a str,
) {
    q.push("INSERT OR IGNORE INTO projects (name, created_at) VALUES (");
    q.push_bind(project).push(", ").push_bind(now).push(");\n");
    q.push(
        "INSERT INTO audits (id, project, url, status, audit_tier, verdict_mode, trust_score, risk_level,
            signal_scores, narrative, site_type, site_type_confidence, security_results, pages_scanned,
            screenshots_count, elapsed_seconds, errors, error_message, started_at, completed_at,
            created_at, updated_at) VALUES (",
    );
    q.separated(", ")
        .push_bind(&r.id)
        .push_bind(project)
        .push_bind(&r.url)
        .push_bind(r.status.unwrap_or(AuditStatus::Completed).as_str())
        .push_bind(&r.fields.audit_tier)
        .push_bind(&r.fields.verdict_mode)
        .push_bind(r.fields.trust_score)
        .push_bind(derived_risk_level(
            r.fields.risk_level.as_deref(),
            r.fields.trust_score,
        ))
        .push_bind(json_text(&r.fields.signal_scores))
        .push_bind(&r.fields.narrative)
        .push_bind(&r.fields.site_type)
        .push_bind(r.fields.site_type_confidence)
        .push_bind(json_text(&r.fields.security_results))
        .push_bind(r.fields.pages_scanned)
        .push_bind(r.screenshots_count.unwrap_or(r.screenshots.len() as i64))
        .push_bind(r.fields.elapsed_seconds)
        .push_bind(json_text(&r.fields.errors))
        .push_bind(&r.fields.error_message)
        .push_bind(&r.fields.started_at)
        .push_bind(&r.fields.completed_at)
        .push_bind(r.fields.created_at.as_deref().unwrap_or(now))
        .push_bind(r.fields.updated_at.as_deref().unwrap_or(now))
        .push_unseparated(");\n");
}

/// The error of a batch that began with [`push_audit`]: a conflict where the audit's id
/// exists already, else the database's error, naming the audit.
pub(super) fn audit_conflict(id: &str, e: sqlx::Error) -> Error {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() && d.message().contains("audits.id") => {
            Error::new(ErrorKind::Conflict, format!("audit {id} already exists"))
        }
        _ => Error::from(e).context(format!("audit {id} was not stored")),
    }
}

/// Append the INSERTs of findings to `q`, skipping any whose key the audit already has.
pub(super) fn push_findings<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    audit_id: &'a str,
    fs: &'a [NewFinding],
    now: &'a str,
) {
    for chunk in fs.chunks(ROWS_PER_INSERT) {
        q.push(
            "INSERT OR IGNORE INTO audit_findings (audit_id, pattern_type, category, severity, confidence,
                description, plain_english, screenshot_index, created_at, finding_key, embedding,
                embedding_model, embedding_model_version) ",
        );
        q.push_values(chunk, |mut row, f| {
            row.push_bind(audit_id)
                .push_bind(&f.pattern_type)
                .push_bind(&f.category)
                .push_bind(&f.severity)
                .push_bind(f.confidence)
                .push_bind(&f.description)
                .push_bind(&f.plain_english)
                // The backend's convention: -1 when the finding has no screenshot.
                .push_bind(f.screenshot_index.unwrap_or(-1))
                .push_bind(now)
                .push_bind(&f.key)
                .push_bind(f.embedding.as_deref().map(encode_embedding))
                .push_bind(&f.embedding_model)
                .push_bind(&f.embedding_model_version);
        });
        q.push(";\n");
    }
}

/// Append the INSERTs of screenshot rows to `q`.
pub(super) fn push_screenshots<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    audit_id: &'a str,
    ss: &'a [NewScreenshot],
    now: &'a str,
) {
    for chunk in ss.chunks(ROWS_PER_INSERT) {
        q.push("INSERT INTO audit_screenshots (audit_id, file_path, label, index_num, file_size_bytes, created_at) ");
        q.push_values(chunk, |mut row, s| {
            row.push_bind(audit_id)
                .push_bind(&s.file_path)
                .push_bind(&s.label)
                .push_bind(s.index)
                .push_bind(s.file_size_bytes)
                .push_bind(now);
        });
        q.push(";\n");
    }
}

/// Append the INSERTs of timeline events to `q`.
pub(super) fn push_events<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    audit_id: &'a str,
    es: &'a [NewEvent],
    now: &'a str,
) {
    for chunk in es.chunks(ROWS_PER_INSERT) {
        q.push("INSERT INTO audit_events (audit_id, event_type, data, timestamp) ");
        q.push_values(chunk, |mut row, e| {
            row.push_bind(audit_id)
                .push_bind(&e.event_type)
                .push_bind(e.data.to_string())
                .push_bind(e.timestamp.as_deref().unwrap_or(now));
        });
        q.push(";\n");
    }
}

/// Execute, in one round trip, the statements `push` appends to an empty batch.
pub(super) async fn execute_pushed<'a>(
    conn: &mut SqliteConnection,
    push: impl FnOnce(&mut QueryBuilder<'a, Sqlite>),
) -> Result<SqliteQueryResult> {
    let mut q = QueryBuilder::new("");
    push(&mut q);
    Ok(q.build().execute(&mut *conn).await?)
}
