//! The types the core hands out (to the CLI as JSON, to the app over IPC) and takes in.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// An audit's lifecycle status. Stored lower case by the core; the backend's ORM stores the
/// enum's name (`COMPLETED`), so reading is case-insensitive.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditStatus {
    Queued,
    Running,
    Completed,
    Error,
    Disconnected,
}

impl AuditStatus {
    pub const ALL: [AuditStatus; 5] = [
        AuditStatus::Queued,
        AuditStatus::Running,
        AuditStatus::Completed,
        AuditStatus::Error,
        AuditStatus::Disconnected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AuditStatus::Queued => "queued",
            AuditStatus::Running => "running",
            AuditStatus::Completed => "completed",
            AuditStatus::Error => "error",
            AuditStatus::Disconnected => "disconnected",
        }
    }

    /// Parse any case (`COMPLETED`, `completed`).
    pub fn parse(s: &str) -> Option<AuditStatus> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

/// The risk level the backend derives from a trust score (rounded): 90-100 trusted,
/// 70-89 probably_safe, 40-69 suspicious, 20-39 high_risk, 0-19 likely_fraudulent.
pub fn risk_level_for_score(score: f64) -> &'static str {
    match score.round() as i64 {
        s if s >= 90 => "trusted",
        s if s >= 70 => "probably_safe",
        s if s >= 40 => "suspicious",
        s if s >= 20 => "high_risk",
        _ => "likely_fraudulent",
    }
}

/// The risk level to show and store: the one given (lower case), else the one `score`
/// gives, else none. The one place a risk level is derived.
pub fn derived_risk_level(given: Option<&str>, score: Option<f64>) -> Option<String> {
    given
        .filter(|r| !r.is_empty())
        .map(str::to_lowercase)
        .or_else(|| score.map(|s| risk_level_for_score(s).to_string()))
}

pub use crate::vocabulary::SEVERITIES;

/// What a producer says about an audit besides its id, url, status and screenshot counter:
/// the audit's columns, declared once. Read back in [`Audit`]; written by [`AuditRecord`]
/// (where `None` stores NULL) and by an `audit_result` (where `None` keeps what is stored).
// The TS type is not exported on its own: its fields appear flattened in `Audit`.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct AuditFields {
    /// `quick_scan`, `standard_audit`, `deep_forensic`, ...
    pub audit_tier: Option<String>,
    /// `expert`, `simple`, ...
    pub verdict_mode: Option<String>,
    /// 0 to 100.
    pub trust_score: Option<f64>,
    /// As stored; derived from the score (in one place: [`derived_risk_level`]) only
    /// where none is stored.
    pub risk_level: Option<String>,
    /// Per signal, 0 to 100.
    pub signal_scores: Option<Value>,
    /// Markdown written by a language model (sanitised wherever it is shown).
    pub narrative: Option<String>,
    pub site_type: Option<String>,
    pub site_type_confidence: Option<f64>,
    /// Per security module, its output.
    pub security_results: Option<Value>,
    pub pages_scanned: Option<i64>,
    pub elapsed_seconds: Option<f64>,
    pub errors: Option<Value>,
    pub error_message: Option<String>,
    /// Read: ISO 8601 UTC (`2026-02-23T10:36:33.911883Z`), or the stored text if it is no
    /// time. Written: the stored form (see [`crate::time`]); for `created_at` and
    /// `updated_at`, `None` means now.
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// An audit as stored, with counts taken from its rows (not from the recorded counters,
/// which the backend sometimes leaves stale).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Audit {
    pub id: String,
    pub project: String,
    pub url: String,
    /// Lower case, whatever case is stored.
    pub status: String,
    /// Everything else the producer said about it.
    #[serde(flatten)]
    #[cfg_attr(feature = "ts", ts(flatten))]
    pub fields: AuditFields,
    /// Number of finding rows.
    pub findings_count: i64,
    /// Number of screenshot rows.
    pub screenshots_count: i64,
    /// The `screenshots_count` column as the producer recorded it.
    pub recorded_screenshots_count: Option<i64>,
    /// Columns whose stored value is not of their type: shown as unreadable, their field
    /// left empty, never a made-up value (see [`AuditRow::unreadable`]).
    pub unreadable: Vec<String>,
}

/// An audit as a row of the list: what the list shows, without the long text and JSON
/// columns (narrative, security results, signals), which a page of full audits would carry
/// across IPC for nothing.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRow {
    pub id: String,
    pub url: String,
    /// Lower case, whatever case is stored.
    pub status: String,
    pub audit_tier: Option<String>,
    pub trust_score: Option<f64>,
    /// As stored; derived from the score only where none is stored.
    pub risk_level: Option<String>,
    pub site_type: Option<String>,
    /// ISO 8601 UTC, or the stored text if it is no time.
    pub created_at: Option<String>,
    /// Number of finding rows.
    pub findings_count: i64,
    /// Number of screenshot rows.
    pub screenshots_count: i64,
    /// Against the site's earlier audits: `new` (a finding never seen on the site before)
    /// and `regressed` (one back after an absence), where they apply.
    pub changes: Vec<String>,
    /// Columns whose stored value is not of their type (a `trust_score` of `'abc'` written by
    /// another program): shown as unreadable, their field left empty, never a made-up value.
    pub unreadable: Vec<String>,
}

/// A dark-pattern finding.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub id: i64,
    pub audit_id: String,
    pub pattern_type: String,
    pub category: Option<String>,
    pub severity: String,
    pub confidence: f64,
    pub description: String,
    pub plain_english: Option<String>,
    /// Index into the audit's screenshots; `None` (stored -1 or NULL) for none.
    pub screenshot_index: Option<i64>,
    pub created_at: Option<String>,
    /// The producer's identity for the finding (its id, or pattern_type + confidence).
    pub finding_key: Option<String>,
    pub embedding: Option<Vec<f32>>,
    pub embedding_model: Option<String>,
    pub embedding_model_version: Option<String>,
    /// The weakness, as `CWE-<n>`, where the producer gave one.
    pub cwe_id: Option<String>,
    /// The finding's CVSS score (0-10), where the producer gave one.
    pub cvss_score: Option<f64>,
    /// The run of its audit the finding belongs to (1 for the first; see [`AuditRun`]).
    pub run: i64,
    /// The producer stored the finding without saying what it is: pattern `unknown` and
    /// no description (the current backend's defaults for a finding it could not read).
    pub pattern_unrecorded: bool,
    /// The problem it is, the same across audits of a site (migration 10: category,
    /// pattern and weakness); `None` only while the row is not fingerprinted yet.
    pub fingerprint: Option<String>,
}

/// A screenshot row, with what the file on disk says about itself.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Screenshot {
    pub id: i64,
    pub audit_id: String,
    pub label: String,
    pub index: i64,
    /// The path as the producer recorded it (possibly another machine's).
    pub file_path: String,
    pub file_size_bytes: Option<i64>,
    pub created_at: Option<String>,
    /// Where the file is in this data directory, if it is there.
    pub resolved_path: Option<String>,
    pub exists: bool,
    /// Format sniffed from the bytes (`png`, `jpeg`, `webp`, `gif`), whatever the name says.
    pub format: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// The run of its audit the screenshot belongs to (1 for the first).
    pub run: i64,
}

/// One event of an audit's timeline, as received.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEvent {
    pub id: i64,
    pub event_type: String,
    pub data: Option<Value>,
    pub timestamp: Option<String>,
    /// The run of its audit the event belongs to (1 for the first).
    pub run: i64,
}

/// An audit with all its children.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditDetail {
    #[serde(flatten)]
    pub audit: Audit,
    pub findings: Vec<Finding>,
    pub screenshots: Vec<Screenshot>,
    pub events: Vec<AuditEvent>,
    /// The last run's events read as phases and log lines.
    pub timeline: crate::timeline::Timeline,
    /// What the last run reports beyond score, signals and narrative.
    pub intelligence: crate::intel::Intelligence,
    /// The audit's runs, oldest first (one, unless the producer ran it again); every
    /// finding, screenshot and event says which it belongs to. Views show the last.
    pub runs: Vec<AuditRun>,
}

impl AuditDetail {
    /// The number of the last run (what views and reports show).
    pub fn last_run(&self) -> i64 {
        self.runs.last().map_or(1, |r| r.number)
    }

    /// The detail with the findings and screenshots of its last run only.
    pub fn of_last_run(mut self) -> AuditDetail {
        let run = self.last_run();
        self.findings.retain(|f| f.run == run);
        self.screenshots.retain(|s| s.run == run);
        self
    }
}

/// One run of an audit. The current backend runs an audit again when its WebSocket
/// reconnects, appending its screenshots and findings to the same audit once more.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRun {
    /// 1 for the first run.
    pub number: i64,
    /// When its first row was stored, as far as the rows tell.
    pub started_at: Option<String>,
    pub findings: usize,
    pub screenshots: usize,
    pub events: usize,
}

/// A project and how many audits it holds.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProjectInfo {
    pub name: String,
    pub audits: i64,
}

/// A finding to store.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
pub struct NewFinding {
    pub key: Option<String>,
    pub pattern_type: String,
    pub category: Option<String>,
    pub severity: String,
    pub confidence: f64,
    pub description: String,
    pub plain_english: Option<String>,
    pub screenshot_index: Option<i64>,
    pub embedding: Option<Vec<f32>>,
    pub embedding_model: Option<String>,
    pub embedding_model_version: Option<String>,
    pub cwe_id: Option<String>,
    pub cvss_score: Option<f64>,
    /// When it was stored first (stored form), for a copy of a row stored elsewhere
    /// (`pull`); `None` means now. Never read from input: only the core's own copies set it.
    #[serde(skip)]
    pub created_at: Option<String>,
    /// Its run, for a copy of a row stored elsewhere; `None`: the run being written. Never
    /// read from input.
    #[serde(skip)]
    pub run: Option<i64>,
}

/// A screenshot row to store; the file is already in place.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewScreenshot {
    pub file_path: String,
    pub label: String,
    pub index: i64,
    pub file_size_bytes: Option<i64>,
    /// As [`NewFinding::created_at`].
    pub created_at: Option<String>,
    /// As [`NewFinding::run`].
    pub run: Option<i64>,
}

/// An event row to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub data: Value,
    /// Stored form; `None` means now.
    pub timestamp: Option<String>,
    /// As [`NewFinding::run`].
    pub run: Option<i64>,
}

/// A whole audit to store in one transaction (demo data, imports, benchmarks).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AuditRecord {
    pub id: String,
    pub url: String,
    /// `None` stores `completed`.
    pub status: Option<AuditStatus>,
    pub fields: AuditFields,
    /// The producer's counter; `None` stores the number of `screenshots`.
    pub screenshots_count: Option<i64>,
    pub findings: Vec<NewFinding>,
    pub screenshots: Vec<NewScreenshot>,
    pub events: Vec<NewEvent>,
}
