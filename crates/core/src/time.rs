//! Timestamps. The backend stores DATETIME as text like `2026-02-23 10:36:33.911883`
//! (UTC, no zone); other producers may write ISO 8601 with `T` and `Z`. The core reads all
//! of them and writes the backend's form, so both programs sort the column the same way.

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};

/// The backend's text form, which the core writes too.
const STORED_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.6f";

/// Now, in the stored form.
pub fn now_text() -> String {
    to_text(Utc::now())
}

/// A time in the stored form.
pub fn to_text(t: DateTime<Utc>) -> String {
    t.naive_utc().format(STORED_FORMAT).to_string()
}

/// Parse any stored form; `None` for text that is no timestamp (never an error: a
/// database written by another program may hold anything).
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let t = text.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    let t = t.trim_end_matches('Z');
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(n) = NaiveDateTime::parse_from_str(t, fmt) {
            return Some(n.and_utc());
        }
    }
    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
}

/// The ISO 8601 form shown to people and scripts (`2026-02-23T10:36:33.911883Z`).
pub fn to_iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A user-given bound for a date filter (`2026-02-23`, or a full timestamp) in the stored
/// form, so it compares as text against the column.
pub fn bound_text(input: &str) -> Option<String> {
    parse(input).map(to_text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_backend_form_and_iso_forms_alike() {
        let a = parse("2026-02-23 10:36:33.911883").unwrap();
        let b = parse("2026-02-23T10:36:33.911883Z").unwrap();
        let c = parse("2026-02-23T10:36:33.911883+00:00").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(to_text(a), "2026-02-23 10:36:33.911883");
        assert_eq!(to_iso(a), "2026-02-23T10:36:33.911883Z");
        assert!(parse("2026-02-23 10:36:33").is_some());
        assert!(parse("yesterday").is_none());
    }
}
