//! Triage: a person's verdict on a finding's problem, kept as history (migration 11), carried
//! to every audit of the site through the finding's fingerprint, overridable per audit, and
//! exchanged between analysts without ever resolving a disagreement silently.
//!
//! Each decision names the decisions that were current for its key when it was made
//! (`replaces`). The current decisions of a key are those no other decision of the key
//! replaces: one (or several that agree) give the verdict; several that disagree are a
//! conflict (two analysts decided apart, and an import brought them together), shown with
//! both until someone decides again, which replaces them all.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// What a person decided about a finding.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageVerdict {
    Confirmed,
    FalsePositive,
    AcceptedRisk,
    NeedsReview,
}

impl TriageVerdict {
    /// The stored and exchanged name.
    pub fn as_str(self) -> &'static str {
        match self {
            TriageVerdict::Confirmed => "confirmed",
            TriageVerdict::FalsePositive => "false_positive",
            TriageVerdict::AcceptedRisk => "accepted_risk",
            TriageVerdict::NeedsReview => "needs_review",
        }
    }

    /// Read a verdict; anything else is refused, naming what was given.
    pub fn parse(text: &str) -> Result<TriageVerdict> {
        Ok(
            match text.trim().to_lowercase().replace(['-', ' '], "_").as_str() {
                "confirmed" => TriageVerdict::Confirmed,
                "false_positive" => TriageVerdict::FalsePositive,
                "accepted_risk" => TriageVerdict::AcceptedRisk,
                "needs_review" => TriageVerdict::NeedsReview,
                _ => {
                    return Err(Error::invalid(
                        format!("verdict {text:?}"),
                        "must be confirmed, false_positive, accepted_risk or needs_review",
                    ))
                }
            },
        )
    }

    /// False positives and accepted risks are out of the way by default: hidden from the
    /// findings, the matrix and exports (with a count and a switch to show them).
    pub fn hides(self) -> bool {
        matches!(self, TriageVerdict::FalsePositive | TriageVerdict::AcceptedRisk)
    }
}

/// The longest note kept (characters); a longer one is refused, not cut.
pub const NOTE_MAX: usize = 10_000;
/// The longest author name (characters).
pub const AUTHOR_MAX: usize = 200;

/// One decision, as stored and as exchanged.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageDecision {
    /// Made from the content (see [`decision_id`]): the same decision is stored once.
    pub id: String,
    /// The site: the audited url without trailing slashes.
    pub url: String,
    pub fingerprint: String,
    /// Set for a decision about this audit alone (it overrides the site's).
    pub audit_id: Option<String>,
    pub verdict: TriageVerdict,
    pub note: String,
    pub author: String,
    /// When it was made (stored form, UTC).
    pub decided_at: String,
    /// The audit it was made on.
    pub origin_audit_id: String,
    /// The finding it was made on, in the database it was made in.
    pub origin_finding_id: Option<i64>,
    /// The decisions of the same key that were current when it was made.
    pub replaces: Vec<String>,
    /// When this database learnt of it.
    #[serde(default)]
    pub recorded_at: String,
    /// The export it came from (`None`: made here).
    #[serde(default)]
    pub imported_from: Option<String>,
}

/// The id of a decision: a digest of everything it says (not of when it was recorded or
/// imported, which differ between databases holding the same decision).
pub fn decision_id(d: &TriageDecision) -> String {
    let content = serde_json::json!([
        d.url,
        d.fingerprint,
        d.audit_id,
        d.verdict.as_str(),
        d.note,
        d.author,
        d.decided_at,
        d.origin_audit_id,
        d.replaces,
    ]);
    let digest = Sha256::digest(content.to_string().as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A finding's triage in one audit.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FindingTriage {
    pub finding_id: i64,
    pub fingerprint: String,
    /// The verdict in force; `None` when untriaged or in conflict.
    pub verdict: Option<TriageVerdict>,
    /// The decision in force (the latest of those that agree).
    pub decision: Option<TriageDecision>,
    /// The decision was made on another audit of the site and carried here.
    pub carried: bool,
    /// The decision is about this audit alone (it overrides the site's).
    pub overridden: bool,
    /// Current decisions that disagree (two or more), or empty.
    pub conflict: Vec<TriageDecision>,
    /// Out of the way by default (a false positive or an accepted risk, not in conflict).
    pub hidden: bool,
}

/// The triage of an audit's findings.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditTriage {
    pub audit_id: String,
    /// One per finding, in row order.
    pub findings: Vec<FindingTriage>,
    /// How many findings are hidden by default.
    pub hidden: usize,
}

/// The current decisions among `key_rows` (all of one key): those no other replaces.
pub(crate) fn heads(key_rows: &[TriageDecision]) -> Vec<&TriageDecision> {
    let replaced: HashSet<&str> = key_rows
        .iter()
        .flat_map(|d| d.replaces.iter().map(String::as_str))
        .collect();
    key_rows
        .iter()
        .filter(|d| !replaced.contains(d.id.as_str()))
        .collect()
}

/// Whether the decisions of one key (`key_rows`: a site's problem, for the site or for one
/// audit) hide its findings: its current decisions agree on a verdict that hides (a
/// conflict hides nothing). What [`judge`] says of a finding under that key.
pub(crate) fn key_hides(key_rows: &[TriageDecision]) -> bool {
    let verdicts: BTreeSet<TriageVerdict> = heads(key_rows).iter().map(|d| d.verdict).collect();
    verdicts.len() == 1 && verdicts.iter().all(|v| v.hides())
}

/// Finding `finding_id` (of `audit_id`, problem `fingerprint`) under the decisions of its
/// site and fingerprint, `rows`.
pub(crate) fn judge(
    finding_id: i64,
    fingerprint: &str,
    audit_id: &str,
    rows: &[TriageDecision],
) -> FindingTriage {
    let own: Vec<TriageDecision> = rows
        .iter()
        .filter(|d| d.fingerprint == fingerprint && d.audit_id.as_deref() == Some(audit_id))
        .cloned()
        .collect();
    let overridden = !own.is_empty();
    let key_rows: Vec<TriageDecision> = if overridden {
        own
    } else {
        rows.iter()
            .filter(|d| d.fingerprint == fingerprint && d.audit_id.is_none())
            .cloned()
            .collect()
    };
    let current = heads(&key_rows);
    let verdicts: BTreeSet<TriageVerdict> = current.iter().map(|d| d.verdict).collect();
    let mut out = FindingTriage {
        finding_id,
        fingerprint: fingerprint.to_string(),
        verdict: None,
        decision: None,
        carried: false,
        overridden,
        conflict: Vec::new(),
        hidden: false,
    };
    match verdicts.len() {
        0 => {}
        1 => {
            let latest = current
                .iter()
                .max_by(|a, b| a.decided_at.cmp(&b.decided_at).then(a.id.cmp(&b.id)))
                .map(|d| (*d).clone());
            out.verdict = verdicts.into_iter().next();
            out.carried = latest.as_ref().is_some_and(|d| d.origin_audit_id != audit_id);
            out.hidden = out.verdict.is_some_and(TriageVerdict::hides);
            out.decision = latest;
        }
        _ => out.conflict = current.into_iter().cloned().collect(),
    }
    out
}

/// A file of decisions, as `veritas-db triage export` writes it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TriageExport {
    /// Always `veritas-triage`.
    pub format: String,
    /// Always 1.
    pub version: u32,
    /// The project exported from.
    pub project: String,
    pub exported_at: String,
    pub decisions: Vec<TriageDecision>,
}

/// What an import did.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct TriageImport {
    /// Decisions this database did not have.
    pub added: usize,
    /// Decisions it had already.
    pub known: usize,
    /// Keys (site, fingerprint, audit) whose current decisions now disagree.
    pub conflicts: Vec<String>,
}

/// Check an export read from a file: its form, and each decision (verdict, sizes, that its
/// id is its content's). The first bad decision is named by its place in the file.
pub fn check_export(text: &str) -> Result<TriageExport> {
    let export: TriageExport = serde_json::from_str(text)
        .map_err(|e| Error::invalid("triage file", format!("is not a triage export: {e}")))?;
    if export.format != "veritas-triage" || export.version != 1 {
        return Err(Error::invalid(
            "triage file",
            format!(
                "is format {:?} version {}, expected veritas-triage version 1",
                export.format, export.version
            ),
        ));
    }
    for (i, d) in export.decisions.iter().enumerate() {
        let at = |why: String| Error::invalid(format!("triage file decision {i}"), why);
        check_text("author", &d.author, AUTHOR_MAX).map_err(at)?;
        check_text("fingerprint", &d.fingerprint, 500).map_err(at)?;
        check_text("url", &d.url, 4096).map_err(at)?;
        if d.note.chars().count() > NOTE_MAX {
            return Err(at(format!("note is longer than {NOTE_MAX} characters")));
        }
        if crate::time::parse(&d.decided_at).is_none() {
            return Err(at(format!("decided_at {:?} is not a time", d.decided_at)));
        }
        if decision_id(d) != d.id {
            return Err(at(format!("id {} does not match its content", d.id)));
        }
    }
    Ok(export)
}

/// A required short text: not blank, at most `max` characters.
pub(crate) fn check_text(name: &str, value: &str, max: usize) -> std::result::Result<(), String> {
    if value.trim().is_empty() {
        return Err(format!("{name} is empty"));
    }
    if value.chars().count() > max {
        return Err(format!("{name} is longer than {max} characters"));
    }
    Ok(())
}

/// Keys (as text) whose decisions, after an import, disagree.
pub(crate) fn conflicting_keys(rows: &[TriageDecision]) -> Vec<String> {
    let mut by_key: BTreeMap<(String, String, Option<String>), Vec<TriageDecision>> = BTreeMap::new();
    for d in rows {
        by_key
            .entry((d.url.clone(), d.fingerprint.clone(), d.audit_id.clone()))
            .or_default()
            .push(d.clone());
    }
    by_key
        .into_iter()
        .filter(|(_, v)| heads(v).iter().map(|d| d.verdict).collect::<BTreeSet<_>>().len() > 1)
        .map(|((url, fp, audit), _)| match audit {
            Some(a) => format!("{url} {fp} (audit {a})"),
            None => format!("{url} {fp}"),
        })
        .collect()
}

/// The name decisions are made under when none is given: the OS user's.
pub fn os_user_name() -> String {
    ["USER", "USERNAME", "LOGNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id_seed: &str, verdict: TriageVerdict, replaces: &[&str], audit: Option<&str>) -> TriageDecision {
        let mut d = TriageDecision {
            id: String::new(),
            url: "https://a.example".into(),
            fingerprint: "fp".into(),
            audit_id: audit.map(Into::into),
            verdict,
            note: id_seed.into(),
            author: "ana".into(),
            decided_at: format!("2026-03-01 10:00:0{}.000000", id_seed.len()),
            origin_audit_id: "vrts_1".into(),
            origin_finding_id: None,
            replaces: replaces.iter().map(|s| s.to_string()).collect(),
            recorded_at: String::new(),
            imported_from: None,
        };
        d.id = id_seed.into();
        d
    }

    #[test]
    fn a_decision_that_replaces_the_others_ends_a_conflict() {
        let a = d("a", TriageVerdict::Confirmed, &[], None);
        let b = d("b", TriageVerdict::FalsePositive, &[], None);
        let j = judge(1, "fp", "vrts_2", &[a.clone(), b.clone()]);
        assert_eq!(j.verdict, None);
        assert_eq!(j.conflict.len(), 2);
        assert!(!j.hidden, "a conflict is never hidden");
        let c = d("cc", TriageVerdict::FalsePositive, &["a", "b"], None);
        let j = judge(1, "fp", "vrts_2", &[a, b, c]);
        assert_eq!(j.verdict, Some(TriageVerdict::FalsePositive));
        assert!(j.carried, "made on vrts_1, seen on vrts_2");
        assert!(j.hidden);
    }

    #[test]
    fn an_audits_own_decision_overrides_the_sites() {
        let site = d("a", TriageVerdict::FalsePositive, &[], None);
        let own = d("b", TriageVerdict::Confirmed, &[], Some("vrts_2"));
        let here = judge(1, "fp", "vrts_2", &[site.clone(), own.clone()]);
        assert_eq!(here.verdict, Some(TriageVerdict::Confirmed));
        assert!(here.overridden);
        let elsewhere = judge(1, "fp", "vrts_3", &[site, own]);
        assert_eq!(elsewhere.verdict, Some(TriageVerdict::FalsePositive));
    }

    #[test]
    fn ids_follow_the_content_and_tampering_is_refused() {
        let mut x = d("a", TriageVerdict::Confirmed, &[], None);
        x.id = decision_id(&x);
        let mut file = TriageExport {
            format: "veritas-triage".into(),
            version: 1,
            project: "default".into(),
            exported_at: "2026-03-01 10:00:00.000000".into(),
            decisions: vec![x.clone()],
        };
        assert!(check_export(&serde_json::to_string(&file).unwrap()).is_ok());
        file.decisions[0].verdict = TriageVerdict::FalsePositive;
        let e = check_export(&serde_json::to_string(&file).unwrap()).unwrap_err();
        assert!(e.to_string().contains("decision 0"), "{e}");
        assert!(TriageVerdict::parse("false-positive").is_ok());
        assert!(TriageVerdict::parse("maybe")
            .unwrap_err()
            .to_string()
            .contains("maybe"));
    }
}
