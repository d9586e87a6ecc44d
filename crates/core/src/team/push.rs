//! `push`: copy a local data folder (audits, findings, events, screenshots, triage) into a
//! team store, idempotently, so a user can start alone and move up.
//!
//! It reads through the same API the app uses ([`Store::list_audits_full`],
//! [`Store::get_audit`], [`Store::export_triage`]), so what arrives is the audit shape the
//! core validated, never raw columns of a file another program may have written. Per audit:
//! its screenshots go to the object store first (content-addressed: bytes already there are
//! not sent again), then its rows in one PostgreSQL transaction, matched on the audit id and
//! each row's place in the audit, so a second push changes nothing and a finding keeps the
//! id triage refers to.

use serde::Serialize;
use sqlx::types::Json;
use sqlx::{PgConnection, QueryBuilder};

use super::database::data_or_database;
use super::TeamStore;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::ProjectName;
use crate::model::AuditDetail;
use crate::query::ListRequest;
use crate::screenshots::ImageInfo;
use crate::triage::TriageDecision;
use crate::Store;

/// Rows one statement inserts at most (PostgreSQL takes up to 65,535 parameters).
const ROWS_PER_STATEMENT: usize = 1000;

/// What a push did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PushReport {
    /// The team database and object store, without credentials.
    pub database: String,
    pub objects: String,
    pub projects: usize,
    /// Audits copied, and how many of them the team database did not have.
    pub audits: usize,
    pub new_audits: usize,
    pub findings: usize,
    pub events: usize,
    pub screenshots: usize,
    /// Screenshot objects sent, and those the store had already (the same bytes).
    pub objects_uploaded: usize,
    pub objects_reused: usize,
    /// Screenshots whose file is not in the folder (recorded by path alone, as locally).
    pub screenshots_missing: usize,
    /// Triage decisions the team database did not have, and those it had.
    pub triage_added: usize,
    pub triage_known: usize,
    /// Audits not copied, each with the reason (the rest were).
    pub refused: Vec<String>,
}

impl Store {
    /// Copy project `only` of this data folder, or every project, into `team`
    /// (`veritas-db push`). Projects are the unit of sharing: each keeps its name there.
    pub async fn push_to(&self, team: &TeamStore, only: Option<&ProjectName>) -> Result<PushReport> {
        let mut report = PushReport {
            database: team.database().url().to_string(),
            objects: team.objects().url().to_string(),
            ..PushReport::default()
        };
        let pool = team.database().pool();
        let projects = match only {
            Some(p) => vec![p.clone()],
            None => self
                .projects()
                .await?
                .iter()
                .map(|p| ProjectName::parse(&p.name))
                .collect::<Result<Vec<_>>>()?,
        };
        for name in projects {
            report.projects += 1;
            sqlx::query("INSERT INTO projects (name) VALUES ($1) ON CONFLICT (name) DO NOTHING")
                .bind(name.as_str())
                .execute(pool)
                .await?;
            let mut request = ListRequest {
                limit: Some(500),
                ..ListRequest::default()
            };
            loop {
                let page = self.list_audits_full(&name, &request).await?;
                for audit in &page.audits {
                    let id = crate::ids::AuditId::parse(&audit.id)?;
                    let detail = self.get_audit(&name, &id).await?;
                    match push_audit(team, &name, &detail, &mut report).await {
                        Ok(()) => {}
                        Err(e) if e.kind == ErrorKind::InvalidInput || e.kind == ErrorKind::Conflict => {
                            report.refused.push(format!("{}: {}", audit.id, e.message));
                        }
                        Err(e) => return Err(e.context(format!("pushing audit {}", audit.id))),
                    }
                }
                match page.next_cursor {
                    Some(next) => request.after = Some(next),
                    None => break,
                }
            }
            let triage = self.export_triage(&name).await?;
            let mut conn = pool.acquire().await?;
            for d in &triage.decisions {
                // The decision's finding, by its place in its audit, as this database numbers it.
                let seq = origin_seq(self, &name, &d.origin_audit_id, d.origin_finding_id).await?;
                let origin: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM audit_findings WHERE audit_id = $1 AND seq = $2")
                        .bind(&d.origin_audit_id)
                        .bind(seq)
                        .fetch_optional(&mut *conn)
                        .await?;
                let decision = TriageDecision {
                    origin_finding_id: origin,
                    ..d.clone()
                };
                let added = super::triage::insert_decision(&mut conn, &name, &decision).await?;
                if added == 1 {
                    report.triage_added += 1;
                } else {
                    report.triage_known += 1;
                }
            }
        }
        Ok(report)
    }
}

/// The place of local finding `finding_id` in audit `audit_id` (what the team database
/// matches a finding on), if both are still here.
async fn origin_seq(
    store: &Store,
    project: &ProjectName,
    audit_id: &str,
    finding_id: Option<i64>,
) -> Result<Option<i32>> {
    let (Some(finding_id), Ok(id)) = (finding_id, crate::ids::AuditId::parse(audit_id)) else {
        return Ok(None);
    };
    match store.get_audit(project, &id).await {
        Ok(detail) => Ok(detail
            .findings
            .iter()
            .position(|f| f.id == finding_id)
            .map(|p| p as i32)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// One audit: its screenshots into the object store, then its rows in one transaction.
async fn push_audit(
    team: &TeamStore,
    project: &ProjectName,
    detail: &AuditDetail,
    report: &mut PushReport,
) -> Result<()> {
    let mut keys = Vec::with_capacity(detail.screenshots.len());
    for shot in &detail.screenshots {
        let key = match (&shot.resolved_path, shot.exists) {
            (Some(path), true) => {
                let path = std::path::PathBuf::from(path);
                let bytes = tokio::fs::read(&path).await.map_err(|e| Error::io(&path, e))?;
                // Validated at the edge: only images go to the team's store.
                let info = crate::screenshots::inspect(&bytes).map_err(|e| e.context(path.display()))?;
                let stored = team.objects().put(&bytes).await?;
                if stored.uploaded {
                    report.objects_uploaded += 1;
                } else {
                    report.objects_reused += 1;
                }
                Some((stored.key, info))
            }
            _ => {
                report.screenshots_missing += 1;
                None
            }
        };
        keys.push(key);
    }

    let mut tx = team.database().pool().begin().await?;
    let new = write_audit_row(&mut tx, project, detail).await?;
    write_findings(&mut tx, detail).await?;
    write_screenshots(&mut tx, detail, &keys).await?;
    write_events(&mut tx, detail).await?;
    tx.commit().await.map_err(data_or_database)?;
    report.audits += 1;
    report.new_audits += usize::from(new);
    report.findings += detail.findings.len();
    report.screenshots += detail.screenshots.len();
    report.events += detail.events.len();
    Ok(())
}

/// A time as the model shows it (ISO) back in the stored form, as SQLite holds it, so that
/// the same date bounds compare the same way; text that is no time is kept as it is.
fn stored_time(shown: &Option<String>) -> Option<String> {
    shown.as_deref().map(|t| {
        crate::time::parse(t)
            .map(crate::time::to_text)
            .unwrap_or_else(|| t.to_string())
    })
}

/// Insert or update the audit row; true when it is new. An audit of another project in the
/// team database is refused (projects stay apart).
async fn write_audit_row(
    conn: &mut PgConnection,
    project: &ProjectName,
    detail: &AuditDetail,
) -> Result<bool> {
    let a = &detail.audit;
    let f = &a.fields;
    let row: Option<(bool,)> = sqlx::query_as(
        "INSERT INTO audits (id, project, url, status, audit_tier, verdict_mode, trust_score, risk_level,
             signal_scores, narrative, site_type, site_type_confidence, security_results, pages_scanned,
             screenshots_count, elapsed_seconds, errors, error_message, started_at, completed_at,
             created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19,
             $20, $21, $22)
         ON CONFLICT (id) DO UPDATE SET url = EXCLUDED.url, status = EXCLUDED.status,
             audit_tier = EXCLUDED.audit_tier, verdict_mode = EXCLUDED.verdict_mode,
             trust_score = EXCLUDED.trust_score, risk_level = EXCLUDED.risk_level,
             signal_scores = EXCLUDED.signal_scores, narrative = EXCLUDED.narrative,
             site_type = EXCLUDED.site_type, site_type_confidence = EXCLUDED.site_type_confidence,
             security_results = EXCLUDED.security_results, pages_scanned = EXCLUDED.pages_scanned,
             screenshots_count = EXCLUDED.screenshots_count, elapsed_seconds = EXCLUDED.elapsed_seconds,
             errors = EXCLUDED.errors, error_message = EXCLUDED.error_message,
             started_at = EXCLUDED.started_at, completed_at = EXCLUDED.completed_at,
             created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at
         WHERE audits.project = EXCLUDED.project
         RETURNING (xmax = 0)",
    )
    .bind(&a.id)
    .bind(project.as_str())
    .bind(&a.url)
    .bind(&a.status)
    .bind(&f.audit_tier)
    .bind(&f.verdict_mode)
    .bind(f.trust_score)
    .bind(&f.risk_level)
    .bind(f.signal_scores.as_ref().map(Json))
    .bind(&f.narrative)
    .bind(&f.site_type)
    .bind(f.site_type_confidence)
    .bind(f.security_results.as_ref().map(Json))
    .bind(f.pages_scanned)
    .bind(a.recorded_screenshots_count)
    .bind(f.elapsed_seconds)
    .bind(f.errors.as_ref().map(Json))
    .bind(&f.error_message)
    .bind(stored_time(&f.started_at))
    .bind(stored_time(&f.completed_at))
    .bind(stored_time(&f.created_at))
    .bind(stored_time(&f.updated_at))
    .fetch_optional(&mut *conn)
    .await
    .map_err(data_or_database)?;
    match row {
        Some((new,)) => Ok(new),
        None => {
            let other: String = sqlx::query_scalar("SELECT project FROM audits WHERE id = $1")
                .bind(&a.id)
                .fetch_one(&mut *conn)
                .await?;
            Err(Error::new(
                ErrorKind::Conflict,
                format!(
                    "the team database has this audit in project {other:?}, not {:?}; it was left as it is",
                    project.as_str()
                ),
            ))
        }
    }
}

/// Remove the audit's rows of `table` past the `kept` first (a shorter audit than last time).
async fn trim(conn: &mut PgConnection, table: &str, audit_id: &str, kept: usize) -> Result<()> {
    sqlx::query(&format!("DELETE FROM {table} WHERE audit_id = $1 AND seq >= $2"))
        .bind(audit_id)
        .bind(kept as i32)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

async fn write_findings(conn: &mut PgConnection, detail: &AuditDetail) -> Result<()> {
    let id = &detail.audit.id;
    for (chunk_no, chunk) in detail.findings.chunks(ROWS_PER_STATEMENT).enumerate() {
        let mut q = QueryBuilder::new(
            "INSERT INTO audit_findings (audit_id, seq, pattern_type, category, severity, confidence,
                 description, plain_english, screenshot_index, created_at, finding_key, embedding,
                 embedding_model, embedding_model_version, cwe_id, cvss_score, run) ",
        );
        q.push_values(chunk.iter().enumerate(), |mut b, (i, f)| {
            b.push_bind(id)
                .push_bind((chunk_no * ROWS_PER_STATEMENT + i) as i32)
                .push_bind(&f.pattern_type)
                .push_bind(&f.category)
                .push_bind(&f.severity)
                .push_bind(f.confidence)
                .push_bind(&f.description)
                .push_bind(&f.plain_english)
                .push_bind(f.screenshot_index)
                .push_bind(stored_time(&f.created_at))
                .push_bind(&f.finding_key)
                .push_bind(&f.embedding)
                .push_bind(&f.embedding_model)
                .push_bind(&f.embedding_model_version)
                .push_bind(&f.cwe_id)
                .push_bind(f.cvss_score)
                .push_bind(f.run);
        });
        q.push(
            " ON CONFLICT (audit_id, seq) DO UPDATE SET pattern_type = EXCLUDED.pattern_type,
                 category = EXCLUDED.category, severity = EXCLUDED.severity,
                 confidence = EXCLUDED.confidence, description = EXCLUDED.description,
                 plain_english = EXCLUDED.plain_english, screenshot_index = EXCLUDED.screenshot_index,
                 created_at = EXCLUDED.created_at, finding_key = EXCLUDED.finding_key,
                 embedding = EXCLUDED.embedding, embedding_model = EXCLUDED.embedding_model,
                 embedding_model_version = EXCLUDED.embedding_model_version, cwe_id = EXCLUDED.cwe_id,
                 cvss_score = EXCLUDED.cvss_score, run = EXCLUDED.run",
        );
        q.build().execute(&mut *conn).await.map_err(data_or_database)?;
    }
    trim(conn, "audit_findings", id, detail.findings.len()).await
}

async fn write_screenshots(
    conn: &mut PgConnection,
    detail: &AuditDetail,
    keys: &[Option<(String, ImageInfo)>],
) -> Result<()> {
    let id = &detail.audit.id;
    let rows: Vec<_> = detail.screenshots.iter().zip(keys).enumerate().collect();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        let mut q = QueryBuilder::new(
            "INSERT INTO audit_screenshots (audit_id, seq, object_key, format, width, height, file_path,
                 label, index_num, file_size_bytes, created_at, run) ",
        );
        q.push_values(chunk, |mut b, (seq, (s, key))| {
            b.push_bind(id)
                .push_bind(*seq as i32)
                .push_bind(key.as_ref().map(|(k, _)| k))
                .push_bind(key.as_ref().map(|(_, i)| i.format.name()))
                .push_bind(key.as_ref().map(|(_, i)| i.width as i32))
                .push_bind(key.as_ref().map(|(_, i)| i.height as i32))
                .push_bind(&s.file_path)
                .push_bind(&s.label)
                .push_bind(s.index)
                .push_bind(s.file_size_bytes)
                .push_bind(stored_time(&s.created_at))
                .push_bind(s.run);
        });
        q.push(
            " ON CONFLICT (audit_id, seq) DO UPDATE SET object_key = EXCLUDED.object_key,
                 format = EXCLUDED.format, width = EXCLUDED.width, height = EXCLUDED.height,
                 file_path = EXCLUDED.file_path, label = EXCLUDED.label, index_num = EXCLUDED.index_num,
                 file_size_bytes = EXCLUDED.file_size_bytes, created_at = EXCLUDED.created_at,
                 run = EXCLUDED.run",
        );
        q.build().execute(&mut *conn).await.map_err(data_or_database)?;
    }
    trim(conn, "audit_screenshots", id, detail.screenshots.len()).await
}

async fn write_events(conn: &mut PgConnection, detail: &AuditDetail) -> Result<()> {
    let id = &detail.audit.id;
    for (chunk_no, chunk) in detail.events.chunks(ROWS_PER_STATEMENT).enumerate() {
        let mut q =
            QueryBuilder::new("INSERT INTO audit_events (audit_id, seq, event_type, data, timestamp, run) ");
        q.push_values(chunk.iter().enumerate(), |mut b, (i, e)| {
            b.push_bind(id)
                .push_bind((chunk_no * ROWS_PER_STATEMENT + i) as i32)
                .push_bind(&e.event_type)
                .push_bind(e.data.as_ref().map(Json))
                .push_bind(stored_time(&e.timestamp))
                .push_bind(e.run);
        });
        q.push(
            " ON CONFLICT (audit_id, seq) DO UPDATE SET event_type = EXCLUDED.event_type,
                 data = EXCLUDED.data, timestamp = EXCLUDED.timestamp, run = EXCLUDED.run",
        );
        q.build().execute(&mut *conn).await.map_err(data_or_database)?;
    }
    trim(conn, "audit_events", id, detail.events.len()).await?;
    let events = detail
        .events
        .iter()
        .filter_map(|e| Some((e.event_type.as_str(), e.data.as_ref()?)));
    super::event_facts::replace(conn, id, events).await
}
