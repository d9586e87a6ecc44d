//! Exporting one audit: JSON (everything), CSV (its findings, one row each, with the
//! audit's key facts on every row so the file stands alone in a spreadsheet).

use crate::error::{Error, ErrorKind, Result};
use crate::model::AuditDetail;

/// The audit as pretty JSON: the same shape as `show --json`.
pub fn to_json(detail: &AuditDetail) -> Result<String> {
    serde_json::to_string_pretty(detail).map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// The audit's findings as CSV.
pub fn to_csv(detail: &AuditDetail) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::new(ErrorKind::Io, format!("writing CSV: {e}"));
    w.write_record([
        "audit_id",
        "url",
        "status",
        "trust_score",
        "risk_level",
        "finding_id",
        "pattern_type",
        "category",
        "severity",
        "confidence",
        "description",
        "plain_english",
        "screenshot_index",
    ])
    .map_err(fail)?;
    let a = &detail.audit;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for f in &detail.findings {
        w.write_record([
            a.id.clone(),
            a.url.clone(),
            a.status.clone(),
            opt(a.trust_score.map(|s| s.to_string())),
            opt(a.risk_level.clone()),
            f.id.to_string(),
            f.pattern_type.clone(),
            opt(f.category.clone()),
            f.severity.clone(),
            f.confidence.to_string(),
            f.description.clone(),
            opt(f.plain_english.clone()),
            opt(f.screenshot_index.map(|i| i.to_string())),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    String::from_utf8(bytes).map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}
