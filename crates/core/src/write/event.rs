//! What a received event does to its audit ([`Effect`]), and writing it together with the
//! event's row in the timeline.

use serde_json::Value;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use super::rows::{audit_conflict, execute_pushed, field_columns, push_audit, push_events, push_screenshots};
use super::Outcome;
use crate::error::{Error, ErrorKind, Result};
use crate::model::{AuditFields, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot};
use crate::time::now_text;

/// The most security modules one audit keeps results of.
pub const MAX_SECURITY_MODULES: i64 = 100;

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
    /// Findings, each stored once per run however often it is received (see
    /// [`super::findings`]).
    Findings(Vec<NewFinding>),
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

/// How an event arrived, besides what it says.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Arrival {
    /// The producer's event id and a hash of the event: the same pair again is a replay.
    pub identity: Option<(String, String)>,
    /// The audited site's url, where the event tells it; set while the audit's is `''`.
    pub url_hint: Option<String>,
    /// The event names its audit itself (the current stream): if the audit is new, the
    /// event creates it, running, with the url it tells or `''` (as the backend does).
    pub creates: bool,
    /// The run of the audit the stream is in, once it has placed one of its events
    /// (see [`super::runs::run_of`]).
    pub stream_run: Option<i64>,
}

/// The fields of an `audit_result`, validated. `None` keeps what is stored.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditResult {
    pub url: Option<String>,
    pub status: Option<AuditStatus>,
    pub fields: AuditFields,
    pub screenshots_count: Option<i64>,
    pub findings: Vec<NewFinding>,
}

pub(super) async fn apply_event(
    conn: &mut SqliteConnection,
    project: &str,
    audit_id: &str,
    effect: Effect,
    event: NewEvent,
    arrival: Arrival,
) -> Result<Outcome> {
    let now = now_text();
    let mut created = false;
    match &effect {
        Effect::Create {
            url,
            audit_tier,
            verdict_mode,
        } => {
            // The same audit_start received again (a stream ingested again after a crash or
            // a full disk, its events numbered): a replay, not a second audit.
            if arrival.identity.is_some() && owner(conn, audit_id).await?.as_deref() == Some(project) {
                let placed =
                    super::runs::run_of(conn, audit_id, arrival.identity.as_ref(), arrival.stream_run)
                        .await?;
                if let super::runs::Placement::Replay(run) = placed {
                    return Ok(Outcome {
                        duplicate: true,
                        run,
                        ..Outcome::default()
                    });
                }
            }
            let mut record = running_audit(audit_id, url, &now);
            record.fields.audit_tier = audit_tier.clone();
            record.fields.verdict_mode = verdict_mode.clone();
            create(conn, project, &record, &now)
                .await
                .map_err(|e| match e.kind {
                    ErrorKind::Conflict => Error::new(
                        ErrorKind::Conflict,
                        format!("audit {audit_id} already exists; delete it first to ingest it again"),
                    ),
                    _ => e,
                })?;
        }
        _ => match owner(conn, audit_id).await? {
            None => {
                // The current stream names the audit in every event and has no
                // audit_start; in envelope form an audit's first event may be its result.
                let url = match &effect {
                    Effect::Result(r) if r.url.is_some() => r.url.clone(),
                    _ if arrival.creates => Some(arrival.url_hint.clone().unwrap_or_default()),
                    _ => None,
                };
                let Some(url) = url else {
                    return Err(Error::not_found(format!(
                        "audit {audit_id} (an audit's first event must be audit_start, or an audit_result with a url)"
                    )));
                };
                create(conn, project, &running_audit(audit_id, &url, &now), &now).await?;
                created = true;
            }
            Some(p) if p != project => {
                return Err(Error::new(
                    ErrorKind::Conflict,
                    format!("audit {audit_id} belongs to project {p}, not {project}"),
                ))
            }
            Some(_) => {}
        },
    }

    let placed = super::runs::run_of(conn, audit_id, arrival.identity.as_ref(), arrival.stream_run).await?;
    let run = match placed {
        super::runs::Placement::Replay(run) => {
            return Ok(Outcome {
                duplicate: true,
                run,
                ..Outcome::default()
            })
        }
        super::runs::Placement::Run(run) => run,
    };
    if let Some(url) = &arrival.url_hint {
        sqlx::query("UPDATE audits SET url = ?1 WHERE id = ?2 AND url = ''")
            .bind(url)
            .bind(audit_id)
            .execute(&mut *conn)
            .await?;
    }

    let finding_cwes: Vec<String> = match &effect {
        Effect::Findings(fs) => fs.iter().filter_map(|f| f.cwe_id.clone()).collect(),
        Effect::Result(r) => r.findings.iter().filter_map(|f| f.cwe_id.clone()).collect(),
        _ => Vec::new(),
    };
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
            sqlx::query("UPDATE audits SET site_type = ?1, site_type_confidence = COALESCE(?2, site_type_confidence) WHERE id = ?3")
                .bind(site_type)
                .bind(confidence)
                .bind(audit_id)
                .execute(&mut *conn)
                .await?;
        }
        Effect::Security { module, result } => {
            // Every module's result is merged into one JSON column, rewritten whole with each
            // event: a bounded number of modules keeps ingest linear in events (4,000 modules
            // took 231 s). The backend runs about ten.
            let (known, modules): (bool, i64) = sqlx::query_as(
                "SELECT json_type(security_results, ?1) IS NOT NULL,
                        (SELECT count(*) FROM json_each(security_results))
                 FROM audits WHERE id = ?2 AND json_valid(security_results)
                   AND json_type(security_results) = 'object'",
            )
            .bind(format!("$.\"{module}\""))
            .bind(audit_id)
            .fetch_optional(&mut *conn)
            .await?
            .unwrap_or((false, 0));
            if !known && modules >= MAX_SECURITY_MODULES {
                return Err(Error::invalid(
                    format!("security_result of module {module}"),
                    format!(
                        "audit {audit_id} has {modules} security modules already, the most one audit keeps"
                    ),
                ));
            }
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
        Effect::Findings(fs) => {
            outcome.rows += super::findings::merge(conn, audit_id, run, fs, &now).await?;
        }
        Effect::Screenshot(s) => {
            let s = std::slice::from_ref(&s);
            outcome.id = Some(
                execute_pushed(conn, |q| push_screenshots(q, audit_id, run, s, &now))
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
            // Only what the result says changes: every other column keeps what is stored.
            let mut q = QueryBuilder::<Sqlite>::new("UPDATE audits SET url = COALESCE(");
            q.push_bind(r.url.clone()).push(", url), status = COALESCE(");
            q.push_bind(r.status.map(AuditStatus::as_str)).push(", status)");
            for (name, value) in field_columns(&r.fields) {
                q.push(format!(", {name} = COALESCE("));
                value.bind_to(&mut q);
                q.push(format!(", {name})"));
            }
            q.push(" WHERE id = ").push_bind(audit_id);
            q.build().execute(&mut *conn).await?;
            if !r.findings.is_empty() {
                outcome.rows += super::findings::merge(conn, audit_id, run, r.findings, &now).await?;
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
    let mut facts = crate::intel::event_facts(&event.event_type, &event.data);
    facts.extend(finding_cwes.into_iter().map(|c| ("cwe", c)));
    for (kind, value) in facts {
        sqlx::query(
            "INSERT OR IGNORE INTO audit_facts (kind, value, audit_id, source) VALUES (?1, ?2, ?3, 'event')",
        )
        .bind(kind)
        .bind(value)
        .bind(audit_id)
        .execute(&mut *conn)
        .await?;
    }
    let event = std::slice::from_ref(&event);
    let identity = arrival.identity.as_ref();
    execute_pushed(conn, |q| push_events(q, audit_id, run, identity, event, &now)).await?;
    sqlx::query("UPDATE audits SET updated_at = ?1 WHERE id = ?2")
        .bind(&now)
        .bind(audit_id)
        .execute(&mut *conn)
        .await?;
    Ok(outcome)
}

/// A new audit as its first event creates it: running, with no screenshots yet.
fn running_audit(audit_id: &str, url: &str, now: &str) -> AuditRecord {
    AuditRecord {
        id: audit_id.to_string(),
        url: url.to_string(),
        status: Some(AuditStatus::Running),
        screenshots_count: Some(0),
        fields: AuditFields {
            started_at: Some(now.to_string()),
            ..AuditFields::default()
        },
        ..AuditRecord::default()
    }
}

/// Insert the audit row `record` of `project` (a conflict if its id exists).
async fn create(conn: &mut SqliteConnection, project: &str, record: &AuditRecord, now: &str) -> Result<()> {
    let mut q = QueryBuilder::<Sqlite>::new("");
    push_audit(&mut q, project, record, now);
    q.build()
        .execute(&mut *conn)
        .await
        .map_err(|e| audit_conflict(&record.id, e))?;
    Ok(())
}

/// The project audit `audit_id` belongs to, if it exists.
async fn owner(conn: &mut SqliteConnection, audit_id: &str) -> Result<Option<String>> {
    Ok(sqlx::query_scalar("SELECT project FROM audits WHERE id = ?1")
        .bind(audit_id)
        .fetch_optional(&mut *conn)
        .await?)
}
