//! Ingest straight into a team database: what a received event does to its audit, written
//! on PostgreSQL as [`crate::write`] writes it on SQLite. Each event is one transaction (its
//! effect and its timeline row together), so a reader sees an audit as far as whole events
//! go, and a producer killed mid-event leaves nothing of that event.
//!
//! The rules are the SQLite writer's own, shared rather than written again: which run an
//! event belongs to ([`crate::write::runs::place`]) and how copies of a finding merge
//! ([`crate::write::findings::plan`]). What differs is the SQL, and that events of one audit
//! from several producers are put in order by a transaction-scoped advisory lock on the
//! audit (SQLite has one writer at a time anyway).

use sqlx::types::Json;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::database::data_or_database;
use super::TeamStore;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{AuditStatus, NewEvent, NewFinding, NewScreenshot};
use crate::screenshots::ImageInfo;
use crate::time::now_text;
use crate::write::findings::{plan, Stored};
use crate::write::rows::{field_columns, Column};
use crate::write::runs::{place, Placement};
use crate::write::{Arrival, Effect, Outcome, MAX_SECURITY_MODULES};

/// The audit's columns held as JSON: bound as text, stored as `jsonb`.
const JSON_COLUMNS: [&str; 3] = ["signal_scores", "security_results", "errors"];

/// A screenshot's object in the store, written before its row: its content key and what
/// the bytes are.
#[derive(Debug, Clone)]
pub(crate) struct ShotObject {
    pub key: String,
    pub info: ImageInfo,
}

impl TeamStore {
    /// Apply one received event of `audit_id` in `project`, in one transaction. A
    /// transaction PostgreSQL chose to abort (a deadlock between two producers' counts, see
    /// migration 3) is made again, a few times.
    pub(crate) async fn apply_event(
        &self,
        project: &str,
        audit_id: &str,
        effect: Effect,
        event: NewEvent,
        arrival: Arrival,
        object: Option<ShotObject>,
    ) -> Result<Outcome> {
        const ATTEMPTS: u64 = 5;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let once = self.apply_once(
                project,
                audit_id,
                effect.clone(),
                event.clone(),
                arrival.clone(),
                object.clone(),
            );
            match once.await {
                Ok(outcome) => return Ok(outcome),
                Err(Applying::Database(e)) if attempt < ATTEMPTS && is_transient(&e) => {
                    tokio::time::sleep(std::time::Duration::from_millis(10 * attempt)).await;
                }
                Err(Applying::Database(e)) => return Err(data_or_database(e)),
                Err(Applying::Core(e)) => return Err(e),
            }
        }
    }

    async fn apply_once(
        &self,
        project: &str,
        audit_id: &str,
        effect: Effect,
        event: NewEvent,
        arrival: Arrival,
        object: Option<ShotObject>,
    ) -> Applied<Outcome> {
        let mut tx = self.database().pool().begin().await?;
        // One event of an audit at a time: an event reads what its audit holds (runs,
        // findings, the next place in the timeline) before it writes. Released at commit.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind(audit_id)
            .execute(&mut *tx)
            .await?;
        let outcome = apply(&mut tx, project, audit_id, effect, event, arrival, object).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Whether audit `audit_id` of `project` has the event `identity` (id, hash) already,
    /// in run `stream_run` (in any, before the stream has placed an event of the audit).
    pub(crate) async fn received_before(
        &self,
        project: &str,
        audit_id: &str,
        identity: &(String, String),
        stream_run: Option<i64>,
    ) -> Result<bool> {
        let found: Option<i32> = sqlx::query_scalar(
            "SELECT 1 FROM audit_events e JOIN audits a ON a.id = e.audit_id
             WHERE e.audit_id = $1 AND e.event_id = $2 AND e.event_hash = $3 AND a.project = $4
               AND ($5::bigint IS NULL OR e.run = $5)
             LIMIT 1",
        )
        .bind(audit_id)
        .bind(&identity.0)
        .bind(&identity.1)
        .bind(project)
        .bind(stream_run)
        .fetch_optional(self.database().pool())
        .await?;
        Ok(found.is_some())
    }

    /// Whether audit `audit_id` of `project` exists.
    pub(crate) async fn has_audit(&self, project: &str, audit_id: &str) -> Result<bool> {
        let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM audits WHERE id = $1 AND project = $2")
            .bind(audit_id)
            .bind(project)
            .fetch_optional(self.database().pool())
            .await?;
        Ok(found.is_some())
    }
}

/// An error while applying: the database's (a refused value is the event's fault, see
/// [`data_or_database`]) or the core's own.
enum Applying {
    Database(sqlx::Error),
    Core(Error),
}

impl From<sqlx::Error> for Applying {
    fn from(e: sqlx::Error) -> Self {
        Applying::Database(e)
    }
}

impl From<Error> for Applying {
    fn from(e: Error) -> Self {
        Applying::Core(e)
    }
}

type Applied<T> = std::result::Result<T, Applying>;

/// A deadlock or a serialization failure: PostgreSQL aborted the transaction, and the same
/// transaction made again will do.
fn is_transient(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if matches!(d.code().as_deref(), Some("40P01" | "40001")))
}

async fn apply(
    conn: &mut PgConnection,
    project: &str,
    audit_id: &str,
    effect: Effect,
    event: NewEvent,
    arrival: Arrival,
    object: Option<ShotObject>,
) -> Applied<Outcome> {
    let now = now_text();
    let mut created = false;
    let identity = arrival.identity.as_ref();
    match &effect {
        Effect::Create {
            url,
            audit_tier,
            verdict_mode,
        } => {
            // The same audit_start again (a stream ingested again): a replay.
            if identity.is_some() && owner(conn, audit_id).await?.as_deref() == Some(project) {
                if let Placement::Replay(run) = run_of(conn, audit_id, identity, arrival.stream_run).await? {
                    return Ok(duplicate(run));
                }
            }
            if !create(conn, project, audit_id, url, audit_tier, verdict_mode, &now).await? {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("audit {audit_id} already exists; delete it first to ingest it again"),
                )
                .into());
            }
        }
        _ => match owner(conn, audit_id).await? {
            None => {
                let url = match &effect {
                    Effect::Result(r) if r.url.is_some() => r.url.clone(),
                    _ if arrival.creates => Some(arrival.url_hint.clone().unwrap_or_default()),
                    _ => None,
                };
                let Some(url) = url else {
                    return Err(Error::not_found(format!(
                        "audit {audit_id} (an audit's first event must be audit_start, or an audit_result with a url)"
                    ))
                    .into());
                };
                create(conn, project, audit_id, &url, &None, &None, &now).await?;
                created = true;
            }
            Some(p) if p != project => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("audit {audit_id} belongs to project {p}, not {project}"),
                )
                .into())
            }
            Some(_) => {}
        },
    }

    let run = match run_of(conn, audit_id, identity, arrival.stream_run).await? {
        Placement::Replay(run) => return Ok(duplicate(run)),
        Placement::Run(run) => run,
    };
    if let Some(url) = &arrival.url_hint {
        sqlx::query("UPDATE audits SET url = $1 WHERE id = $2 AND url = ''")
            .bind(url)
            .bind(audit_id)
            .execute(&mut *conn)
            .await?;
    }

    let mut outcome = Outcome {
        rows: 1,
        created,
        run,
        ..Outcome::default()
    };
    match effect {
        Effect::None | Effect::Create { .. } => {}
        Effect::SiteType {
            site_type,
            confidence,
        } => {
            sqlx::query(
                "UPDATE audits SET site_type = $1, site_type_confidence = COALESCE($2, site_type_confidence)
                 WHERE id = $3",
            )
            .bind(site_type)
            .bind(confidence)
            .bind(audit_id)
            .execute(&mut *conn)
            .await?;
        }
        Effect::Security { module, result } => security(conn, audit_id, &module, &result).await?,
        Effect::Findings(fs) => outcome.rows += merge_findings(conn, audit_id, run, fs, &now).await?,
        Effect::Screenshot(s) => {
            outcome.id = Some(insert_screenshot(conn, audit_id, run, &s, object.as_ref(), &now).await?);
            outcome.rows += 1;
        }
        Effect::Stats {
            pages_scanned,
            screenshots: _,
            elapsed_seconds,
        } => {
            sqlx::query(
                "UPDATE audits SET pages_scanned = COALESCE($1, pages_scanned),
                   elapsed_seconds = COALESCE($2, elapsed_seconds) WHERE id = $3",
            )
            .bind(pages_scanned)
            .bind(elapsed_seconds)
            .bind(audit_id)
            .execute(&mut *conn)
            .await?;
        }
        Effect::Result(r) => {
            // Only what the result says changes: every other column keeps what is stored.
            let mut q = QueryBuilder::<Postgres>::new("UPDATE audits SET url = COALESCE(");
            q.push_bind(r.url.clone()).push(", url), status = COALESCE(");
            q.push_bind(r.status.map(AuditStatus::as_str)).push(", status)");
            for (name, value) in field_columns(&r.fields) {
                q.push(format!(", {name} = COALESCE("));
                bind_column(&mut q, name, value);
                q.push(format!(", {name})"));
            }
            q.push(" WHERE id = ").push_bind(audit_id);
            q.build().execute(&mut *conn).await?;
            if !r.findings.is_empty() {
                outcome.rows += merge_findings(conn, audit_id, run, r.findings, &now).await?;
            }
        }
        Effect::Complete => {
            sqlx::query("UPDATE audits SET status = 'completed', completed_at = $1 WHERE id = $2")
                .bind(&now)
                .bind(audit_id)
                .execute(&mut *conn)
                .await?;
        }
        Effect::Failed { message } => {
            sqlx::query(
                "UPDATE audits SET status = 'error', completed_at = $1,
                   error_message = COALESCE($2, error_message) WHERE id = $3",
            )
            .bind(&now)
            .bind(message)
            .bind(audit_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    sqlx::query(
        "INSERT INTO audit_events (audit_id, seq, run, event_id, event_hash, event_type, data, timestamp)
         VALUES ($1, (SELECT COALESCE(max(seq) + 1, 0) FROM audit_events WHERE audit_id = $1),
                 $2, $3, $4, $5, $6, $7)",
    )
    .bind(audit_id)
    .bind(run)
    .bind(identity.map(|i| &i.0))
    .bind(identity.map(|i| &i.1))
    .bind(&event.event_type)
    .bind(Json(&event.data))
    .bind(event.timestamp.as_deref().unwrap_or(&now))
    .execute(&mut *conn)
    .await?;
    super::event_facts::add(conn, audit_id, &event.event_type, &event.data).await?;
    sqlx::query("UPDATE audits SET updated_at = $1 WHERE id = $2")
        .bind(&now)
        .bind(audit_id)
        .execute(&mut *conn)
        .await?;
    Ok(outcome)
}

fn duplicate(run: i64) -> Outcome {
    Outcome {
        duplicate: true,
        run,
        ..Outcome::default()
    }
}

/// The project audit `audit_id` belongs to, if it exists.
async fn owner(conn: &mut PgConnection, audit_id: &str) -> Applied<Option<String>> {
    Ok(sqlx::query_scalar("SELECT project FROM audits WHERE id = $1")
        .bind(audit_id)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Create the audit running, as its first event does (see `write::event::running_audit`):
/// false if its id exists.
async fn create(
    conn: &mut PgConnection,
    project: &str,
    audit_id: &str,
    url: &str,
    audit_tier: &Option<String>,
    verdict_mode: &Option<String>,
    now: &str,
) -> Applied<bool> {
    sqlx::query("INSERT INTO projects (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
        .bind(project)
        .execute(&mut *conn)
        .await?;
    let made = sqlx::query(
        "INSERT INTO audits (id, project, url, status, screenshots_count, audit_tier, verdict_mode,
             started_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'running', 0, $4, $5, $6, $6, $6)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(audit_id)
    .bind(project)
    .bind(url)
    .bind(audit_tier)
    .bind(verdict_mode)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(made.rows_affected() == 1)
}

/// Where an event goes (see [`crate::write::runs::run_of`]).
async fn run_of(
    conn: &mut PgConnection,
    audit_id: &str,
    identity: Option<&(String, String)>,
    stream_run: Option<i64>,
) -> Applied<Placement> {
    let latest: i64 = sqlx::query_scalar(
        "SELECT GREATEST(COALESCE((SELECT max(run) FROM audit_events WHERE audit_id = $1), 1),
                         COALESCE((SELECT max(run) FROM audit_screenshots WHERE audit_id = $1), 1))",
    )
    .bind(audit_id)
    .fetch_one(&mut *conn)
    .await?;
    let stored: Vec<(i64, String)> = match identity {
        Some((event_id, _)) => sqlx::query_as(
            "SELECT run, COALESCE(event_hash, '') FROM audit_events WHERE audit_id = $1 AND event_id = $2",
        )
        .bind(audit_id)
        .bind(event_id)
        .fetch_all(&mut *conn)
        .await?,
        None => Vec::new(),
    };
    Ok(place(latest, &stored, identity, stream_run))
}

/// Merge one security module's result into `security_results`, at most
/// [`MAX_SECURITY_MODULES`] modules an audit.
async fn security(
    conn: &mut PgConnection,
    audit_id: &str,
    module: &str,
    result: &serde_json::Value,
) -> Applied<()> {
    let (known, modules): (bool, i64) = sqlx::query_as(
        "SELECT security_results ? $1, (SELECT count(*) FROM jsonb_object_keys(security_results))
         FROM audits WHERE id = $2 AND jsonb_typeof(security_results) = 'object'",
    )
    .bind(module)
    .bind(audit_id)
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or((false, 0));
    if !known && modules >= MAX_SECURITY_MODULES {
        return Err(Error::invalid(
            format!("security_result of module {module}"),
            format!("audit {audit_id} has {modules} security modules already, the most one audit keeps"),
        )
        .into());
    }
    sqlx::query(
        "UPDATE audits SET security_results =
           CASE WHEN jsonb_typeof(security_results) = 'object' THEN security_results ELSE '{}' END
           || jsonb_build_object($1::text, $2::jsonb)
         WHERE id = $3",
    )
    .bind(module)
    .bind(Json(result))
    .bind(audit_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Store `findings` in run `run`, each merged into the row of the same finding where the
/// run has one (the SQLite writer's rule); returns the rows inserted.
async fn merge_findings(
    conn: &mut PgConnection,
    audit_id: &str,
    run: i64,
    findings: Vec<NewFinding>,
    now: &str,
) -> Applied<u64> {
    let stored: Vec<Stored> = sqlx::query_as(
        "SELECT id, finding_key, pattern_type, description, screenshot_index
         FROM audit_findings WHERE audit_id = $1 AND run = $2 ORDER BY seq",
    )
    .bind(audit_id)
    .bind(run)
    .fetch_all(&mut *conn)
    .await?;
    let merge = plan(stored, findings);
    for (id, f) in &merge.enrich {
        sqlx::query(
            "UPDATE audit_findings SET
               description = CASE WHEN length($1) > length(description) THEN $1 ELSE description END,
               plain_english = CASE WHEN length(COALESCE($2, '')) > length(COALESCE(plain_english, ''))
                                    THEN $2 ELSE plain_english END,
               category = CASE WHEN COALESCE(category, 'unknown') IN ('unknown', '') AND $3::text IS NOT NULL
                               THEN $3 ELSE category END,
               cwe_id = COALESCE(cwe_id, $4),
               cvss_score = COALESCE(cvss_score, $5),
               screenshot_index = CASE WHEN COALESCE(screenshot_index, -1) < 0 AND $6::bigint IS NOT NULL
                                       THEN $6 ELSE screenshot_index END,
               confidence = GREATEST(confidence, $7)
             WHERE id = $8",
        )
        .bind(&f.description)
        .bind(&f.plain_english)
        .bind(&f.category)
        .bind(&f.cwe_id)
        .bind(f.cvss_score)
        .bind(f.screenshot_index)
        .bind(f.confidence)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    if merge.fresh.is_empty() {
        return Ok(0);
    }
    let first: i32 =
        sqlx::query_scalar("SELECT COALESCE(max(seq) + 1, 0) FROM audit_findings WHERE audit_id = $1")
            .bind(audit_id)
            .fetch_one(&mut *conn)
            .await?;
    let mut rows = 0;
    // 16 parameters a finding: PostgreSQL takes 65,535 in one statement.
    for (chunk_no, chunk) in merge.fresh.chunks(1000).enumerate() {
        let mut q = QueryBuilder::<Postgres>::new(
            "INSERT INTO audit_findings (audit_id, seq, run, pattern_type, category, severity, confidence,
                 description, plain_english, screenshot_index, created_at, finding_key, embedding,
                 embedding_model, embedding_model_version, cwe_id, cvss_score) ",
        );
        q.push_values(chunk.iter().enumerate(), |mut b, (i, f)| {
            b.push_bind(audit_id)
                .push_bind(first + (chunk_no * 1000 + i) as i32)
                .push_bind(run)
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
                .push_bind(&f.embedding)
                .push_bind(&f.embedding_model)
                .push_bind(&f.embedding_model_version)
                .push_bind(&f.cwe_id)
                .push_bind(f.cvss_score);
        });
        rows += q.build().execute(&mut *conn).await?.rows_affected();
    }
    Ok(rows)
}

/// Insert a screenshot row (its object stored already) and keep the audit's counter with
/// the rows; returns the row's id.
async fn insert_screenshot(
    conn: &mut PgConnection,
    audit_id: &str,
    run: i64,
    s: &NewScreenshot,
    object: Option<&ShotObject>,
    now: &str,
) -> Applied<i64> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_screenshots (audit_id, seq, run, object_key, format, width, height, file_path,
             label, index_num, file_size_bytes, created_at)
         VALUES ($1, (SELECT COALESCE(max(seq) + 1, 0) FROM audit_screenshots WHERE audit_id = $1),
                 $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
         RETURNING id",
    )
    .bind(audit_id)
    .bind(run)
    .bind(object.map(|o| &o.key))
    .bind(object.map(|o| o.info.format.name()))
    .bind(object.map(|o| o.info.width as i32))
    .bind(object.map(|o| o.info.height as i32))
    .bind(&s.file_path)
    .bind(&s.label)
    .bind(s.index)
    .bind(s.file_size_bytes)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE audits SET screenshots_count = (SELECT count(*) FROM audit_screenshots WHERE audit_id = $1)
         WHERE id = $1",
    )
    .bind(audit_id)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Bind one of the audit's columns (see [`field_columns`]): JSON text as `jsonb`.
fn bind_column(q: &mut QueryBuilder<'_, Postgres>, name: &str, value: Column) {
    match value {
        Column::Text(v) if JSON_COLUMNS.contains(&name) => {
            q.push("CAST(").push_bind(v).push(" AS jsonb)");
        }
        Column::Text(v) => {
            q.push_bind(v);
        }
        Column::Real(v) => {
            q.push_bind(v);
        }
        Column::Int(v) => {
            q.push_bind(v);
        }
    }
}
