//! Every write the core makes, as data. The writer applies each [`Change`] inside its own
//! savepoint, so a change is all-or-nothing whatever else shares its transaction.

use serde_json::Value;
use sqlx::sqlite::SqliteQueryResult;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{risk_level_for_score, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot};
use crate::time::now_text;

/// A write to make.
// Each change is moved once, into the writer's queue; boxing the larger variants would
// only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Change {
    /// Left in place of a change the writer has taken; applying it does nothing.
    Nothing,
    /// A whole audit with its children.
    InsertAudit {
        project: String,
        record: Box<AuditRecord>,
    },
    /// One received event: its effect on the audit and its row in the timeline, together.
    Event {
        project: String,
        audit_id: String,
        effect: Effect,
        event: NewEvent,
    },
    /// Delete an audit and its rows (files are removed by the caller after commit).
    Delete { project: String, audit_id: String },
    /// Running audits not updated since `idle_since` (stored form) become disconnected.
    MarkDisconnected { project: String, idle_since: String },
    /// Attach an embedding to a finding.
    SetEmbedding {
        project: String,
        finding_id: i64,
        vector: Vec<f32>,
        model: String,
        version: String,
    },
    /// Set `screenshots_count` to the number of screenshot rows where they disagree.
    RepairCounters,
    /// Rebuild both full-text indexes from the tables.
    RebuildSearchIndex,
    /// Fail unless both full-text indexes agree with their tables (FTS5's check is
    /// written as an INSERT, so it goes through the writer; it changes nothing).
    CheckSearchIndex,
}

/// What an event does to its audit, besides being kept in the timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Nothing beyond the timeline (phases, logs, unknown types).
    None,
    /// Create the audit as running (`audit_start`). Refused if the id exists.
    Create {
        url: String,
        audit_tier: Option<String>,
        verdict_mode: Option<String>,
    },
    SiteType {
        site_type: String,
        confidence: Option<f64>,
    },
    /// One security module's output, merged into `security_results` under its name.
    Security {
        module: String,
        result: Value,
    },
    Finding(NewFinding),
    Screenshot(NewScreenshot),
    Stats {
        pages_scanned: Option<i64>,
        screenshots: Option<i64>,
        elapsed_seconds: Option<f64>,
    },
    Result(Box<AuditResult>),
    Complete,
    Failed {
        message: Option<String>,
    },
}

/// The fields of an `audit_result`, validated. `None` keeps what is stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditResult {
    pub url: Option<String>,
    pub status: Option<AuditStatus>,
    pub audit_tier: Option<String>,
    pub verdict_mode: Option<String>,
    pub trust_score: Option<f64>,
    pub risk_level: Option<String>,
    pub signal_scores: Option<Value>,
    pub narrative: Option<String>,
    pub site_type: Option<String>,
    pub site_type_confidence: Option<f64>,
    pub security_results: Option<Value>,
    pub pages_scanned: Option<i64>,
    pub screenshots_count: Option<i64>,
    pub elapsed_seconds: Option<f64>,
    pub errors: Option<Value>,
    pub findings: Vec<NewFinding>,
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The row it created, where it created one.
    pub id: Option<i64>,
    /// How many rows it wrote or removed.
    pub rows: u64,
}

/// How a change's statements are made all-or-nothing. The writer picks it; the change
/// sends the statements that begin and end it, inside its own batch where it has one (a
/// round trip to SQLite's worker thread costs more than SQLite's work on an audit's rows).
/// A change that fails leaves what it began open: the writer rolls it back
/// ([`Framing::undo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A transaction of the change's own (`BEGIN IMMEDIATE` … `COMMIT`).
    Transaction,
    /// A savepoint inside the writer's transaction, shared with other changes.
    Savepoint,
}

impl Framing {
    fn begin(self) -> &'static str {
        match self {
            Framing::Transaction => "BEGIN IMMEDIATE;\n",
            Framing::Savepoint => "SAVEPOINT change;\n",
        }
    }

    fn end(self) -> &'static str {
        match self {
            Framing::Transaction => "COMMIT;",
            Framing::Savepoint => "RELEASE change;",
        }
    }

    /// The statements that undo a change that failed part way, leaving the connection as it
    /// was before [`apply`]. They fail where SQLite has already rolled back the whole
    /// transaction itself (a full disk, for one).
    pub(crate) fn undo(self) -> &'static str {
        match self {
            Framing::Transaction => "ROLLBACK",
            Framing::Savepoint => "ROLLBACK TO change; RELEASE change",
        }
    }
}

/// A boxed future of a change being applied.
pub(crate) type Applying<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Outcome>> + Send + 'c>>;

/// Apply `change` on `conn`, all or nothing as `framing` says. Boxed so the writer task's
/// future stays a plain `Send` future of known size.
pub(crate) fn apply(conn: &mut SqliteConnection, change: Change, framing: Framing) -> Applying<'_> {
    Box::pin(async move {
        match change {
            // A whole audit is one batch of statements, its framing included.
            Change::InsertAudit { project, record } => {
                insert_audit(conn, &project, *record, Some(framing)).await
            }
            change => {
                sqlx::query(framing.begin()).execute(&mut *conn).await?;
                let outcome = apply_inner(conn, change).await?;
                sqlx::query(framing.end()).execute(&mut *conn).await?;
                Ok(outcome)
            }
        }
    })
}

async fn apply_inner(conn: &mut SqliteConnection, change: Change) -> Result<Outcome> {
    match change {
        Change::Nothing => Ok(Outcome::default()),
        // (`apply` sends an audit with its framing; here it is framed already.)
        Change::InsertAudit { project, record } => insert_audit(conn, &project, *record, None).await,
        Change::Event {
            project,
            audit_id,
            effect,
            event,
        } => apply_event(conn, &project, &audit_id, effect, event).await,
        Change::Delete { project, audit_id } => delete_audit(conn, &project, &audit_id).await,
        Change::MarkDisconnected { project, idle_since } => {
            let done = sqlx::query(
                "UPDATE audits SET status = 'disconnected', updated_at = ?1
                 WHERE project = ?2 AND lower(status) = 'running'
                   AND COALESCE(updated_at, created_at, '') < ?3",
            )
            .bind(now_text())
            .bind(&project)
            .bind(&idle_since)
            .execute(&mut *conn)
            .await?;
            Ok(Outcome {
                id: None,
                rows: done.rows_affected(),
            })
        }
        Change::SetEmbedding {
            project,
            finding_id,
            vector,
            model,
            version,
        } => {
            let done = sqlx::query(
                "UPDATE audit_findings SET embedding = ?1, embedding_model = ?2, embedding_model_version = ?3
                 WHERE id = ?4 AND audit_id IN (SELECT id FROM audits WHERE project = ?5)",
            )
            .bind(encode_embedding(&vector))
            .bind(&model)
            .bind(&version)
            .bind(finding_id)
            .bind(&project)
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Error::not_found(format!(
                    "finding {finding_id} in project {project}"
                )));
            }
            Ok(Outcome {
                id: Some(finding_id),
                rows: 1,
            })
        }
        Change::RepairCounters => {
            let done = sqlx::query(
                "UPDATE audits SET screenshots_count =
                   (SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = audits.id)
                 WHERE COALESCE(screenshots_count, -1) !=
                   (SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = audits.id)",
            )
            .execute(&mut *conn)
            .await?;
            Ok(Outcome {
                id: None,
                rows: done.rows_affected(),
            })
        }
        Change::CheckSearchIndex => {
            for sql in [
                "INSERT INTO audits_fts (audits_fts, rank) VALUES ('integrity-check', 1)",
                "INSERT INTO findings_fts (findings_fts, rank) VALUES ('integrity-check', 1)",
            ] {
                sqlx::query(sql).execute(&mut *conn).await?;
            }
            Ok(Outcome::default())
        }
        Change::RebuildSearchIndex => {
            for sql in [
                "INSERT INTO audits_fts (audits_fts) VALUES ('rebuild')",
                "INSERT INTO findings_fts (findings_fts) VALUES ('rebuild')",
            ] {
                sqlx::query(sql).execute(&mut *conn).await?;
            }
            Ok(Outcome::default())
        }
    }
}

/// Embeddings are stored as f32 little-endian, whatever the machine.
pub fn encode_embedding(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// The inverse of [`encode_embedding`]; `None` for a BLOB whose length is no multiple of 4.
pub fn decode_embedding(bytes: &[u8]) -> Option<Vec<f32>> {
    (bytes.len() % 4 == 0).then(|| {
        bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    })
}

fn json_text(v: &Option<Value>) -> Option<String> {
    v.as_ref().map(Value::to_string)
}

async fn ensure_project(conn: &mut SqliteConnection, project: &str) -> Result<()> {
    sqlx::query("INSERT OR IGNORE INTO projects (name, created_at) VALUES (?1, ?2)")
        .bind(project)
        .bind(now_text())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn insert_audit(
    conn: &mut SqliteConnection,
    project: &str,
    r: AuditRecord,
    framing: Option<Framing>,
) -> Result<Outcome> {
    let now = now_text();
    let risk = r
        .risk_level
        .clone()
        .or_else(|| r.trust_score.map(|s| risk_level_for_score(s).to_string()));
    let status = r.status.unwrap_or(AuditStatus::Completed).as_str();
    let screenshots_count = r.screenshots_count.unwrap_or(r.screenshots.len() as i64);
    let (signal_scores, security_results, errors) = (
        json_text(&r.signal_scores),
        json_text(&r.security_results),
        json_text(&r.errors),
    );
    // The whole audit is one batch of statements, sent to SQLite's worker thread at once: a
    // round trip to it costs more than SQLite's own work on a row, so one per statement
    // was most of an audit's write time. Its transaction or savepoint begins and ends in
    // the same batch.
    let mut q = QueryBuilder::<Sqlite>::new(framing.map_or("", Framing::begin));
    q.push("INSERT OR IGNORE INTO projects (name, created_at) VALUES (");
    q.push_bind(project).push(", ").push_bind(&now).push(");\n");
    // No ON CONFLICT: an existing id fails the batch before any child row is written.
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
        .push_bind(status)
        .push_bind(&r.audit_tier)
        .push_bind(&r.verdict_mode)
        .push_bind(r.trust_score)
        .push_bind(&risk)
        .push_bind(&signal_scores)
        .push_bind(&r.narrative)
        .push_bind(&r.site_type)
        .push_bind(r.site_type_confidence)
        .push_bind(&security_results)
        .push_bind(r.pages_scanned)
        .push_bind(screenshots_count)
        .push_bind(r.elapsed_seconds)
        .push_bind(&errors)
        .push_bind(&r.error_message)
        .push_bind(&r.started_at)
        .push_bind(&r.completed_at)
        .push_bind(r.created_at.as_deref().unwrap_or(&now))
        .push_bind(r.updated_at.as_deref().unwrap_or(&now))
        .push_unseparated(");\n");
    push_findings(&mut q, &r.id, &r.findings, &now);
    push_screenshots(&mut q, &r.id, &r.screenshots, &now);
    push_events(&mut q, &r.id, &r.events, &now);
    q.push(framing.map_or("", Framing::end));
    let done = q.build().execute(&mut *conn).await.map_err(|e| match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() && d.message().contains("audits.id") => {
            Error::new(ErrorKind::Conflict, format!("audit {} already exists", r.id))
        }
        _ => Error::from(e).context(format!("audit {} was not stored", r.id)),
    })?;
    Ok(Outcome {
        id: None,
        rows: done.rows_affected(),
    })
}

/// Rows per multi-row INSERT: 13 parameters a finding stays well under SQLite's limit.
const ROWS_PER_INSERT: usize = 400;

/// Append the INSERTs of findings to `q`, skipping any whose key the audit already has.
fn push_findings<'a>(
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
fn push_screenshots<'a>(
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
fn push_events<'a>(q: &mut QueryBuilder<'a, Sqlite>, audit_id: &'a str, es: &'a [NewEvent], now: &'a str) {
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

/// Execute, in one round trip, the statements `push` appends to an empty batch (one of
/// [`push_findings`], [`push_screenshots`], [`push_events`]).
async fn execute_pushed<'a>(
    conn: &mut SqliteConnection,
    push: impl FnOnce(&mut QueryBuilder<'a, Sqlite>),
) -> Result<SqliteQueryResult> {
    let mut q = QueryBuilder::new("");
    push(&mut q);
    Ok(q.build().execute(&mut *conn).await?)
}

async fn apply_event(
    conn: &mut SqliteConnection,
    project: &str,
    audit_id: &str,
    effect: Effect,
    event: NewEvent,
) -> Result<Outcome> {
    let now = now_text();
    if let Effect::Create {
        url,
        audit_tier,
        verdict_mode,
    } = &effect
    {
        ensure_project(conn, project).await?;
        let done = sqlx::query(
            "INSERT INTO audits (id, project, url, status, audit_tier, verdict_mode, screenshots_count,
                started_at, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'running', ?4, ?5, 0, ?6, ?6, ?6) ON CONFLICT (id) DO NOTHING",
        )
        .bind(audit_id)
        .bind(project)
        .bind(url)
        .bind(audit_tier)
        .bind(verdict_mode)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::new(
                ErrorKind::Conflict,
                format!("audit {audit_id} already exists; delete it first to ingest it again"),
            ));
        }
    } else {
        let owner: Option<String> = sqlx::query_scalar("SELECT project FROM audits WHERE id = ?1")
            .bind(audit_id)
            .fetch_optional(&mut *conn)
            .await?;
        match owner {
            // In envelope form an audit's first event may be its result; with a url it
            // can create the audit, in the same savepoint as the result itself.
            None if matches!(&effect, Effect::Result(r) if r.url.is_some()) => {
                let Effect::Result(r) = &effect else { unreachable!() };
                ensure_project(conn, project).await?;
                sqlx::query(
                    "INSERT INTO audits (id, project, url, status, screenshots_count, started_at, created_at, updated_at)
                     VALUES (?1, ?2, ?3, 'running', 0, ?4, ?4, ?4)",
                )
                .bind(audit_id)
                .bind(project)
                .bind(r.url.as_deref())
                .bind(&now)
                .execute(&mut *conn)
                .await?;
            }
            None => {
                return Err(Error::not_found(format!(
                    "audit {audit_id} (an audit's first event must be audit_start, or an audit_result with a url)"
                )))
            }
            Some(p) if p != project => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("audit {audit_id} belongs to project {p}, not {project}"),
                ))
            }
            Some(_) => {}
        }
    }

    let mut outcome = Outcome { id: None, rows: 1 };
    match effect {
        Effect::None | Effect::Create { .. } => {}
        Effect::SiteType {
            site_type,
            confidence,
        } => {
            sqlx::query("UPDATE audits SET site_type = ?1, site_type_confidence = COALESCE(?2, site_type_confidence) WHERE id = ?3")
                .bind(site_type)
                .bind(confidence)
                .bind(audit_id)
                .execute(&mut *conn)
                .await?;
        }
        Effect::Security { module, result } => {
            // `module` is a checked identifier, so the JSON path cannot be broken out of.
            sqlx::query(
                "UPDATE audits SET security_results = json_set(
                    CASE WHEN json_valid(security_results) AND json_type(security_results) = 'object'
                         THEN security_results ELSE '{}' END, ?1, json(?2))
                 WHERE id = ?3",
            )
            .bind(format!("$.\"{module}\""))
            .bind(result.to_string())
            .bind(audit_id)
            .execute(&mut *conn)
            .await?;
        }
        Effect::Finding(f) => {
            let f = std::slice::from_ref(&f);
            outcome.rows += execute_pushed(conn, |q| push_findings(q, audit_id, f, &now))
                .await?
                .rows_affected();
        }
        Effect::Screenshot(s) => {
            let s = std::slice::from_ref(&s);
            outcome.id = Some(
                execute_pushed(conn, |q| push_screenshots(q, audit_id, s, &now))
                    .await?
                    .last_insert_rowid(),
            );
            // The counter follows the rows, so the backend's own readers see the truth.
            sqlx::query("UPDATE audits SET screenshots_count = (SELECT count(*) FROM audit_screenshots WHERE audit_id = ?1) WHERE id = ?1")
                .bind(audit_id)
                .execute(&mut *conn)
                .await?;
            outcome.rows += 1;
        }
        Effect::Stats {
            pages_scanned,
            screenshots: _,
            elapsed_seconds,
        } => {
            // The screenshot counter is kept from the rows (above), not from the producer.
            sqlx::query("UPDATE audits SET pages_scanned = COALESCE(?1, pages_scanned), elapsed_seconds = COALESCE(?2, elapsed_seconds) WHERE id = ?3")
                .bind(pages_scanned)
                .bind(elapsed_seconds)
                .bind(audit_id)
                .execute(&mut *conn)
                .await?;
        }
        Effect::Result(r) => {
            let risk = r
                .risk_level
                .clone()
                .or_else(|| r.trust_score.map(|s| risk_level_for_score(s).to_string()));
            sqlx::query(
                "UPDATE audits SET
                    url = COALESCE(?1, url), status = COALESCE(?2, status),
                    audit_tier = COALESCE(?3, audit_tier), verdict_mode = COALESCE(?4, verdict_mode),
                    trust_score = COALESCE(?5, trust_score), risk_level = COALESCE(?6, risk_level),
                    signal_scores = COALESCE(?7, signal_scores), narrative = COALESCE(?8, narrative),
                    site_type = COALESCE(?9, site_type),
                    site_type_confidence = COALESCE(?10, site_type_confidence),
                    security_results = COALESCE(?11, security_results),
                    pages_scanned = COALESCE(?12, pages_scanned),
                    elapsed_seconds = COALESCE(?13, elapsed_seconds), errors = COALESCE(?14, errors)
                 WHERE id = ?15",
            )
            .bind(&r.url)
            .bind(r.status.map(AuditStatus::as_str))
            .bind(&r.audit_tier)
            .bind(&r.verdict_mode)
            .bind(r.trust_score)
            .bind(&risk)
            .bind(json_text(&r.signal_scores))
            .bind(&r.narrative)
            .bind(&r.site_type)
            .bind(r.site_type_confidence)
            .bind(json_text(&r.security_results))
            .bind(r.pages_scanned)
            .bind(r.elapsed_seconds)
            .bind(json_text(&r.errors))
            .bind(audit_id)
            .execute(&mut *conn)
            .await?;
            if !r.findings.is_empty() {
                outcome.rows += execute_pushed(conn, |q| push_findings(q, audit_id, &r.findings, &now))
                    .await?
                    .rows_affected();
            }
        }
        Effect::Complete => {
            sqlx::query("UPDATE audits SET status = 'completed', completed_at = ?1 WHERE id = ?2")
                .bind(&now)
                .bind(audit_id)
                .execute(&mut *conn)
                .await?;
        }
        Effect::Failed { message } => {
            sqlx::query("UPDATE audits SET status = 'error', completed_at = ?1, error_message = COALESCE(?2, error_message) WHERE id = ?3")
                .bind(&now)
                .bind(message)
                .bind(audit_id)
                .execute(&mut *conn)
                .await?;
        }
    }
    let event = std::slice::from_ref(&event);
    execute_pushed(conn, |q| push_events(q, audit_id, event, &now)).await?;
    sqlx::query("UPDATE audits SET updated_at = ?1 WHERE id = ?2")
        .bind(&now)
        .bind(audit_id)
        .execute(&mut *conn)
        .await?;
    Ok(outcome)
}

async fn delete_audit(conn: &mut SqliteConnection, project: &str, audit_id: &str) -> Result<Outcome> {
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
    Ok(Outcome { id: None, rows })
}
