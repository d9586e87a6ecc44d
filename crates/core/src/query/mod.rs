//! Read queries. Each takes the read pool and a project; nothing outside the project is
//! ever read. Rows are decoded leniently: a database written by another program may hold a
//! NULL, a number as text or broken JSON anywhere, and that must never crash a view.

pub(crate) mod changes;
mod detail;
pub(crate) mod list;
mod matching;
pub(crate) mod related;
pub(crate) mod triage;

pub use changes::{audit_changes, AuditChanges, Change, FindingChange, FingerprintDiff};
pub use detail::{get_audit_rows, get_screenshot_row};
pub use list::{
    facets, facets_with, AuditFilter, AuditPage, AuditRowPage, Direction, FacetCount, FacetOptions, Facets,
    ListRequest, SortKey,
};
pub(crate) use list::{list_page, AS_AUDITS, AS_ROWS};
pub(crate) use matching::VOCABULARIES;
pub use related::{
    compare, history, similar_findings, Comparison, FindingChanges, PatternCount, SimilarFinding,
};

use serde_json::Value;
use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqlitePool};

use crate::embedding::decode_embedding;
use crate::error::{Error, Result};
use crate::model::{derived_risk_level, Audit, AuditEvent, AuditFields, AuditRow, Finding, ProjectInfo};

/// The audit columns every audit query selects, with counts taken from the rows.
pub(crate) const AUDIT_COLUMNS: &str = "a.id, a.project, a.url, a.status, a.audit_tier, a.verdict_mode,
    a.trust_score, a.risk_level, a.signal_scores, a.narrative, a.site_type, a.site_type_confidence,
    a.security_results, a.pages_scanned, a.screenshots_count, a.elapsed_seconds, a.errors,
    a.error_message, a.started_at, a.completed_at, a.created_at, a.updated_at,
    (SELECT count(*) FROM audit_findings f WHERE f.audit_id = a.id) AS findings_rows,
    (SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = a.id) AS screenshot_rows";

// Unchecked decoding lets SQLite convert between storage classes (a number stored as
// text, say) instead of failing the whole query on one odd value.
fn text(row: &SqliteRow, col: &str) -> Option<String> {
    row.try_get_unchecked::<Option<String>, _>(col).ok().flatten()
}
fn real(row: &SqliteRow, col: &str) -> Option<f64> {
    row.try_get_unchecked::<Option<f64>, _>(col).ok().flatten()
}

/// A number column that another program may have filled with anything: `Err` where the
/// stored value is no number (text that does not read as one, a blob), which SQLite would
/// otherwise hand over as 0.0.
fn number(row: &SqliteRow, col: &str) -> std::result::Result<Option<f64>, ()> {
    use sqlx::{TypeInfo, ValueRef};
    let Ok(raw) = row.try_get_raw(col) else {
        return Ok(None);
    };
    if raw.is_null() {
        return Ok(None);
    }
    match raw.type_info().name() {
        "INTEGER" | "REAL" => Ok(real(row, col)),
        "TEXT" => text(row, col)
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite())
            .map(Some)
            .ok_or(()),
        _ => Err(()),
    }
}

/// [`number`], with the column named in `unreadable` where it is no number.
fn checked_number(row: &SqliteRow, col: &str, unreadable: &mut Vec<String>) -> Option<f64> {
    number(row, col).unwrap_or_else(|()| {
        unreadable.push(col.to_string());
        None
    })
}
fn int(row: &SqliteRow, col: &str) -> Option<i64> {
    row.try_get_unchecked::<Option<i64>, _>(col).ok().flatten()
}

/// JSON stored as text; text that is not JSON is kept as a string rather than dropped.
fn json(row: &SqliteRow, col: &str) -> Option<Value> {
    text(row, col).map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}

/// A stored time in ISO form; text that is no time is passed on as it is.
fn time(row: &SqliteRow, col: &str) -> Option<String> {
    text(row, col).map(|t| crate::time::parse(&t).map(crate::time::to_iso).unwrap_or(t))
}

/// The columns of a list row ([`AuditRow`]), named as in [`AUDIT_COLUMNS`].
pub(crate) const ROW_COLUMNS: &str = "a.id, a.url, a.status, a.audit_tier, a.trust_score,
    a.risk_level, a.site_type, a.created_at,
    (SELECT count(*) FROM audit_findings f WHERE f.audit_id = a.id) AS findings_rows,
    (SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = a.id) AS screenshot_rows,
    (SELECT group_concat(x.value, ' ') FROM audit_facts x WHERE x.audit_id = a.id AND x.kind = 'change') AS changes";

/// The stored risk level in lower case, or the one the score gives where none is stored.
fn risk_level(row: &SqliteRow, trust_score: Option<f64>) -> Option<String> {
    derived_risk_level(text(row, "risk_level").as_deref(), trust_score)
}

pub(crate) fn audit_row_from_row(row: &SqliteRow) -> AuditRow {
    let mut unreadable = Vec::new();
    let trust_score = checked_number(row, "trust_score", &mut unreadable);
    AuditRow {
        id: text(row, "id").unwrap_or_default(),
        url: text(row, "url").unwrap_or_default(),
        status: text(row, "status").unwrap_or_default().to_lowercase(),
        audit_tier: text(row, "audit_tier"),
        trust_score,
        risk_level: risk_level(row, trust_score),
        site_type: text(row, "site_type"),
        created_at: time(row, "created_at"),
        findings_count: int(row, "findings_rows").unwrap_or(0),
        screenshots_count: int(row, "screenshot_rows").unwrap_or(0),
        changes: {
            let mut c: Vec<String> = text(row, "changes")
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            c.sort();
            c
        },
        unreadable,
    }
}

pub(crate) fn audit_from_row(row: &SqliteRow) -> Audit {
    let mut unreadable = Vec::new();
    let trust_score = checked_number(row, "trust_score", &mut unreadable);
    let site_type_confidence = checked_number(row, "site_type_confidence", &mut unreadable);
    let elapsed_seconds = checked_number(row, "elapsed_seconds", &mut unreadable);
    Audit {
        id: text(row, "id").unwrap_or_default(),
        project: text(row, "project").unwrap_or_default(),
        url: text(row, "url").unwrap_or_default(),
        status: text(row, "status").unwrap_or_default().to_lowercase(),
        fields: AuditFields {
            audit_tier: text(row, "audit_tier"),
            verdict_mode: text(row, "verdict_mode"),
            trust_score,
            risk_level: risk_level(row, trust_score),
            signal_scores: json(row, "signal_scores"),
            narrative: text(row, "narrative"),
            site_type: text(row, "site_type"),
            site_type_confidence,
            security_results: json(row, "security_results"),
            pages_scanned: int(row, "pages_scanned"),
            elapsed_seconds,
            errors: json(row, "errors"),
            error_message: text(row, "error_message"),
            started_at: time(row, "started_at"),
            completed_at: time(row, "completed_at"),
            created_at: time(row, "created_at"),
            updated_at: time(row, "updated_at"),
        },
        findings_count: int(row, "findings_rows").unwrap_or(0),
        screenshots_count: int(row, "screenshot_rows").unwrap_or(0),
        recorded_screenshots_count: int(row, "screenshots_count"),
        unreadable,
    }
}

pub(crate) const FINDING_COLUMNS: &str = "f.id, f.audit_id, f.pattern_type, f.category, f.severity,
    f.confidence, f.description, f.plain_english, f.screenshot_index, f.created_at, f.finding_key,
    f.embedding, f.embedding_model, f.embedding_model_version, f.cwe_id, f.cvss_score, f.run,
    (SELECT fp.fingerprint FROM finding_fingerprints fp WHERE fp.finding_id = f.id) AS fingerprint";

pub(crate) fn finding_from_row(row: &SqliteRow) -> Finding {
    let embedding = row
        .try_get_unchecked::<Option<Vec<u8>>, _>("embedding")
        .ok()
        .flatten()
        .and_then(|b| decode_embedding(&b));
    Finding {
        id: int(row, "id").unwrap_or_default(),
        audit_id: text(row, "audit_id").unwrap_or_default(),
        pattern_type: text(row, "pattern_type").unwrap_or_default(),
        category: text(row, "category"),
        severity: text(row, "severity").unwrap_or_default().to_lowercase(),
        confidence: real(row, "confidence").unwrap_or_default(),
        description: text(row, "description").unwrap_or_default(),
        plain_english: text(row, "plain_english"),
        screenshot_index: int(row, "screenshot_index").filter(|i| *i >= 0),
        created_at: time(row, "created_at"),
        finding_key: text(row, "finding_key"),
        embedding,
        embedding_model: text(row, "embedding_model"),
        embedding_model_version: text(row, "embedding_model_version"),
        cwe_id: text(row, "cwe_id"),
        cvss_score: real(row, "cvss_score"),
        // 0 until known: rows of other programs have no run, and get one from
        // `runs::assign` where the audit is read whole.
        run: int(row, "run").filter(|r| *r > 0).unwrap_or(0),
        pattern_unrecorded: false,
        fingerprint: text(row, "fingerprint"),
    }
    .with_unrecorded_flag()
}

impl Finding {
    pub(crate) fn with_unrecorded_flag(mut self) -> Finding {
        self.pattern_unrecorded = matches!(self.pattern_type.trim(), "" | "unknown")
            && self.description.trim().is_empty()
            && self.plain_english.as_deref().is_none_or(|p| p.trim().is_empty());
        self
    }
}

pub(crate) fn event_from_row(row: &SqliteRow) -> AuditEvent {
    AuditEvent {
        id: int(row, "id").unwrap_or_default(),
        event_type: text(row, "event_type").unwrap_or_default(),
        data: json(row, "data"),
        timestamp: time(row, "timestamp"),
        run: int(row, "run").filter(|r| *r > 0).unwrap_or(1),
    }
}

/// The projects: those registered and those audits name, with their audit counts.
pub async fn projects(pool: &SqlitePool) -> Result<Vec<ProjectInfo>> {
    let rows = sqlx::query(
        // From the maintained counts (migrations 7 and 8), not the audits: the app asks
        // this before it shows the list and after every commit, and counting a million
        // audits took hundreds of milliseconds each time.
        "SELECT name, (SELECT ifnull(sum(t.n), 0) FROM facet_totals t
                       WHERE t.project = p.name AND t.kind = 'audit') AS n
         FROM (SELECT name FROM projects
               UNION SELECT project FROM facet_totals WHERE kind = 'audit' AND n <> 0) p
         ORDER BY name",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ProjectInfo {
            name: text(r, "name").unwrap_or_default(),
            audits: int(r, "n").unwrap_or(0),
        })
        .collect())
}

/// The project an audit belongs to, checking that it is `project`.
pub(crate) async fn require_audit(pool: &SqlitePool, project: &str, id: &str) -> Result<()> {
    let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM audits WHERE id = ?1 AND project = ?2")
        .bind(id)
        .bind(project)
        .fetch_optional(pool)
        .await?;
    found
        .map(|_| ())
        .ok_or_else(|| Error::not_found(format!("audit {id} in project {project}")))
}
