//! An audit's runs. The current backend runs an audit again when its WebSocket reconnects
//! (`backend/routes/audit.py`: the existing row is set running, and the new run's
//! screenshots and findings are appended to it, index numbers starting over). What we
//! ingest records its run; rows written by the backend do not, so their runs are read from
//! the rows themselves:
//!
//! - screenshots, in the order they were stored: an index number the current run already
//!   has begins the next run;
//! - findings are stored when their run completes, after its screenshots and before the
//!   next run's: a finding belongs to the last run begun before it was stored, or later
//!   when an identical finding was stored before it (a re-run without screenshots).

use std::collections::{HashMap, HashSet};

use crate::model::{AuditEvent, AuditRun, Finding, Screenshot};

/// Give every row without a stored run (run 0) its run, sort screenshots by run and
/// index, and list the runs.
pub fn assign(
    findings: &mut [Finding],
    screenshots: &mut [Screenshot],
    events: &[AuditEvent],
) -> Vec<AuditRun> {
    // `screenshots` come in the order they were stored (by id).
    let mut run = 1;
    let mut seen: HashSet<i64> = HashSet::new();
    // When each derived run after the first began.
    let mut boundaries: Vec<Option<String>> = Vec::new();
    for s in screenshots.iter_mut().filter(|s| s.run == 0) {
        if !seen.insert(s.index) {
            run += 1;
            seen.clear();
            seen.insert(s.index);
            boundaries.push(s.created_at.clone());
        }
        s.run = run;
    }
    let mut copies: HashMap<String, i64> = HashMap::new();
    for f in findings.iter_mut().filter(|f| f.run == 0) {
        let by_time = 1 + boundaries
            .iter()
            .filter(|b| matches!((b, &f.created_at), (Some(b), Some(at)) if b.as_str() <= at.as_str()))
            .count() as i64;
        let identity = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            f.pattern_type,
            f.category.as_deref().unwrap_or(""),
            f.severity,
            f.description,
            f.confidence
        );
        let copy = copies.entry(identity).or_insert(0);
        *copy += 1;
        f.run = by_time.max(*copy);
    }
    screenshots.sort_by_key(|s| (s.run, s.index, s.id));

    let last = findings
        .iter()
        .map(|f| f.run)
        .chain(screenshots.iter().map(|s| s.run))
        .chain(events.iter().map(|e| e.run))
        .max()
        .unwrap_or(1)
        .max(1);
    (1..=last)
        .map(|number| {
            let started_at = screenshots
                .iter()
                .filter(|s| s.run == number)
                .filter_map(|s| s.created_at.clone())
                .chain(
                    events
                        .iter()
                        .filter(|e| e.run == number)
                        .filter_map(|e| e.timestamp.clone()),
                )
                .chain(
                    findings
                        .iter()
                        .filter(|f| f.run == number)
                        .filter_map(|f| f.created_at.clone()),
                )
                .min();
            AuditRun {
                number,
                started_at,
                findings: findings.iter().filter(|f| f.run == number).count(),
                screenshots: screenshots.iter().filter(|s| s.run == number).count(),
                events: events.iter().filter(|e| e.run == number).count(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shot(id: i64, index: i64, at: &str) -> Screenshot {
        Screenshot {
            id,
            audit_id: "a".into(),
            label: format!("shot {index}"),
            index,
            file_path: String::new(),
            file_size_bytes: None,
            created_at: Some(at.into()),
            resolved_path: None,
            exists: false,
            format: None,
            width: None,
            height: None,
            run: 0,
        }
    }

    fn finding(id: i64, pattern: &str, at: &str) -> Finding {
        Finding {
            id,
            audit_id: "a".into(),
            pattern_type: pattern.into(),
            category: None,
            severity: "high".into(),
            confidence: 0.9,
            description: format!("{pattern} seen"),
            plain_english: None,
            screenshot_index: None,
            created_at: Some(at.into()),
            finding_key: None,
            embedding: None,
            embedding_model: None,
            embedding_model_version: None,
            cwe_id: None,
            cvss_score: None,
            run: 0,
            pattern_unrecorded: false,
            fingerprint: None,
        }
    }

    #[test]
    fn repeated_indexes_begin_a_run_and_findings_follow_their_run() {
        let mut shots = vec![
            shot(1, 0, "2026-02-23 10:00:01"),
            shot(2, 1, "2026-02-23 10:00:02"),
            shot(3, 0, "2026-02-23 10:05:01"),
            shot(4, 1, "2026-02-23 10:05:02"),
        ];
        let mut findings = vec![
            finding(1, "fake_urgency", "2026-02-23 10:00:09"),
            finding(2, "fake_urgency", "2026-02-23 10:05:09"),
            finding(3, "hidden_costs", "2026-02-23 10:05:09"),
        ];
        let runs = assign(&mut findings, &mut shots, &[]);
        assert_eq!(runs.len(), 2);
        assert_eq!(
            shots.iter().map(|s| (s.id, s.run)).collect::<Vec<_>>(),
            [(1, 1), (2, 1), (3, 2), (4, 2)]
        );
        assert_eq!(findings.iter().map(|f| f.run).collect::<Vec<_>>(), [1, 2, 2]);
        assert_eq!((runs[1].findings, runs[1].screenshots), (2, 2));
    }

    #[test]
    fn a_rerun_without_screenshots_is_told_by_its_repeated_findings() {
        let mut findings = vec![
            finding(1, "fake_urgency", "2026-02-23 10:00:09"),
            finding(2, "fake_urgency", "2026-02-23 10:05:09"),
        ];
        let runs = assign(&mut findings, &mut [], &[]);
        assert_eq!(findings.iter().map(|f| f.run).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(runs.len(), 2);
    }

    #[test]
    fn stored_runs_are_kept() {
        let mut s = vec![shot(1, 0, "t1"), shot(2, 0, "t2")];
        s[0].run = 3;
        s[1].run = 3;
        let runs = assign(&mut [], &mut s, &[]);
        assert_eq!((s[0].run, s[1].run, runs.len()), (3, 3, 3));
    }
}
