//! The INSERTs of an audit's rows, appended to a batch of statements: the audit itself
//! (the only `INSERT INTO audits` of the core), its findings, screenshots and events.

use sqlx::query_builder::Separated;
use sqlx::sqlite::SqliteQueryResult;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::embedding::encode_embedding;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{
    derived_risk_level, AuditFields, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot,
};

/// Rows per multi-row INSERT: 13 parameters a finding stays well under SQLite's limit.
const ROWS_PER_INSERT: usize = 400;

fn json_text(v: &Option<serde_json::Value>) -> Option<String> {
    v.as_ref().map(serde_json::Value::to_string)
}

/// A value of one of the audit's columns, as it is bound.
pub(crate) enum Column {
    Text(Option<String>),
    Real(Option<f64>),
    Int(Option<i64>),
}

impl Column {
    pub(super) fn bind_to(self, q: &mut QueryBuilder<'_, Sqlite>) {
        match self {
            Column::Text(v) => q.push_bind(v),
            Column::Real(v) => q.push_bind(v),
            Column::Int(v) => q.push_bind(v),
        };
    }
}

/// The columns of [`AuditFields`] with the values to write, in their stored forms (JSON as
/// text, the risk level derived where none is given): the one list of the audit's columns
/// on the write path, for the INSERT and the UPDATE of an `audit_result` alike.
pub(crate) fn field_columns(f: &AuditFields) -> [(&'static str, Column); 17] {
    use Column::{Int, Real, Text};
    [
        ("audit_tier", Text(f.audit_tier.clone())),
        ("verdict_mode", Text(f.verdict_mode.clone())),
        ("trust_score", Real(f.trust_score)),
        (
            "risk_level",
            Text(derived_risk_level(f.risk_level.as_deref(), f.trust_score)),
        ),
        ("signal_scores", Text(json_text(&f.signal_scores))),
        ("narrative", Text(f.narrative.clone())),
        ("site_type", Text(f.site_type.clone())),
        ("site_type_confidence", Real(f.site_type_confidence)),
        ("security_results", Text(json_text(&f.security_results))),
        ("pages_scanned", Int(f.pages_scanned)),
        ("elapsed_seconds", Real(f.elapsed_seconds)),
        ("errors", Text(json_text(&f.errors))),
        ("error_message", Text(f.error_message.clone())),
        ("started_at", Text(f.started_at.clone())),
        ("completed_at", Text(f.completed_at.clone())),
        ("created_at", Text(f.created_at.clone())),
        ("updated_at", Text(f.updated_at.clone())),
    ]
}

/// Append the statements that register `project` and insert the audit `r` (without its
/// children). No ON CONFLICT: an existing id fails the batch before anything after it is
/// written ([`audit_conflict`] names it). Missing created and updated times are `now`; a
/// missing status is completed; a missing risk level is derived from the score.
pub(super) fn push_audit<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    project: &'a str,
    r: &'a AuditRecord,
    now: &'a str,
) {
    q.push("INSERT OR IGNORE INTO projects (name, created_at) VALUES (");
    q.push_bind(project).push(", ").push_bind(now).push(");\n");
    let columns = field_columns(&r.fields).map(|(name, value)| match (name, value) {
        ("created_at" | "updated_at", Column::Text(None)) => (name, Column::Text(Some(now.to_string()))),
        other => other,
    });
    q.push("INSERT INTO audits (id, project, url, status, screenshots_count");
    for (name, _) in &columns {
        q.push(", ").push(*name);
    }
    q.push(") VALUES (");
    q.push_bind(&r.id)
        .push(", ")
        .push_bind(project)
        .push(", ")
        .push_bind(&r.url);
    q.push(", ")
        .push_bind(r.status.unwrap_or(AuditStatus::Completed).as_str());
    q.push(", ")
        .push_bind(r.screenshots_count.unwrap_or(r.screenshots.len() as i64));
    for (_, value) in columns {
        q.push(", ");
        value.bind_to(q);
    }
    q.push(");\n");
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

/// Append `insert` (an `INSERT ... (columns) ` prefix) with the values of `rows`, in
/// multi-row statements of at most [`ROWS_PER_INSERT`] rows, `bind` pushing one row's values.
fn push_rows<'a, T>(
    q: &mut QueryBuilder<'a, Sqlite>,
    insert: &str,
    rows: &'a [T],
    mut bind: impl FnMut(Separated<'_, 'a, Sqlite, &'static str>, &'a T),
) {
    for chunk in rows.chunks(ROWS_PER_INSERT) {
        q.push(insert);
        q.push_values(chunk, &mut bind);
        q.push(";\n");
    }
}

/// Append the INSERTs of findings to `q`, skipping any whose key the audit already has.
pub(super) fn push_findings<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    audit_id: &'a str,
    run: i64,
    fs: &'a [NewFinding],
    now: &'a str,
) {
    let insert =
        "INSERT OR IGNORE INTO audit_findings (audit_id, run, pattern_type, category, severity, confidence,
        description, plain_english, screenshot_index, created_at, finding_key, embedding,
        embedding_model, embedding_model_version, cwe_id, cvss_score) ";
    push_rows(q, insert, fs, |mut row, f| {
        row.push_bind(audit_id)
            .push_bind(f.run.unwrap_or(run))
            .push_bind(&f.pattern_type)
            .push_bind(&f.category)
            .push_bind(&f.severity)
            .push_bind(f.confidence)
            .push_bind(&f.description)
            .push_bind(&f.plain_english)
            // The backend's convention: -1 when the finding has no screenshot.
            .push_bind(f.screenshot_index.unwrap_or(-1))
            .push_bind(f.created_at.as_deref().unwrap_or(now))
            .push_bind(&f.key)
            .push_bind(f.embedding.as_deref().map(encode_embedding))
            .push_bind(&f.embedding_model)
            .push_bind(&f.embedding_model_version)
            .push_bind(&f.cwe_id)
            .push_bind(f.cvss_score);
    });
}

/// Append the INSERTs of screenshot rows to `q`.
pub(super) fn push_screenshots<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    audit_id: &'a str,
    run: i64,
    ss: &'a [NewScreenshot],
    now: &'a str,
) {
    let insert =
        "INSERT INTO audit_screenshots (audit_id, run, file_path, label, index_num, file_size_bytes, created_at) ";
    push_rows(q, insert, ss, |mut row, s| {
        row.push_bind(audit_id)
            .push_bind(s.run.unwrap_or(run))
            .push_bind(&s.file_path)
            .push_bind(&s.label)
            .push_bind(s.index)
            .push_bind(s.file_size_bytes)
            .push_bind(s.created_at.as_deref().unwrap_or(now));
    });
}

/// Append the INSERTs of timeline events to `q`.
pub(super) fn push_events<'a>(
    q: &mut QueryBuilder<'a, Sqlite>,
    audit_id: &'a str,
    run: i64,
    identity: Option<&'a (String, String)>,
    es: &'a [NewEvent],
    now: &'a str,
) {
    let insert =
        "INSERT INTO audit_events (audit_id, run, event_id, event_hash, event_type, data, timestamp) ";
    push_rows(q, insert, es, |mut row, e| {
        row.push_bind(audit_id)
            .push_bind(e.run.unwrap_or(run))
            .push_bind(identity.map(|i| i.0.as_str()))
            .push_bind(identity.map(|i| i.1.as_str()))
            .push_bind(&e.event_type)
            .push_bind(e.data.to_string())
            .push_bind(e.timestamp.as_deref().unwrap_or(now));
    });
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
