//! One row per finding, however often it is received. The current runner sends a finding
//! as `finding`, again as `dark_pattern_finding`, inside `vision_pass_findings` (with other
//! ids) and inside `audit_result.dark_pattern_summary.findings` (the judge's shape). They
//! share their pattern and their text (description or evidence), so that is what makes two
//! of them the same finding; the producer's own id also does. The row keeps the richest
//! text and whatever one copy adds (category, CWE, CVSS score, screenshot).

use sqlx::SqliteConnection;

use super::rows::{execute_pushed, push_findings};
use crate::error::Result;
use crate::model::NewFinding;

/// A stored finding of the run, as far as matching needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub(crate) struct Stored {
    pub id: i64,
    pub finding_key: Option<String>,
    pub pattern_type: String,
    pub description: String,
    pub screenshot_index: Option<i64>,
}

/// `pattern_type` as a comparable word: case, spaces and dashes do not matter.
fn pattern_word(p: &str) -> String {
    p.trim()
        .to_lowercase()
        .chars()
        .map(|c| if c == ' ' || c == '-' { '_' } else { c })
        .collect()
}

/// Text as comparable: case and runs of white space do not matter.
fn text_words(t: &str) -> String {
    t.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// A finding as matching compares it, made comparable once: an event of 10,000 findings
/// compared each with those before it, normalising both sides every time (50 million
/// allocations, 11 s under the write lock).
#[derive(Debug, Clone)]
struct Norm {
    key: Option<String>,
    pattern: String,
    text: String,
    /// Where a stored row has one (negative: none).
    index: Option<i64>,
}

impl Norm {
    fn of(key: Option<&str>, pattern: &str, description: &str, index: Option<i64>) -> Norm {
        Norm {
            key: key.map(str::to_string),
            pattern: pattern_word(pattern),
            text: text_words(description),
            index,
        }
    }

    fn of_new(f: &NewFinding) -> Norm {
        Norm::of(
            f.key.as_deref(),
            &f.pattern_type,
            &f.description,
            f.screenshot_index,
        )
    }

    fn of_stored(s: &Stored) -> Norm {
        Norm::of(
            s.finding_key.as_deref(),
            &s.pattern_type,
            &s.description,
            s.screenshot_index,
        )
    }

    /// Whether `new` is this (stored or earlier) finding again.
    fn matches(&self, new: &Norm) -> bool {
        if self.key.is_some() && self.key == new.key {
            return true;
        }
        if self.pattern != new.pattern {
            return false;
        }
        // Two screenshots of the same pattern are two findings.
        if let (Some(a), Some(b)) = (self.index.filter(|i| *i >= 0), new.index) {
            if a != b {
                return false;
            }
        }
        self.text == new.text || self.text.is_empty() || new.text.is_empty()
    }
}

#[cfg(test)]
fn same_finding(stored: &Stored, new: &NewFinding) -> bool {
    Norm::of_stored(stored).matches(&Norm::of_new(new))
}

/// Store `findings` in run `run` of `audit_id`, each merged into the row of the same
/// finding where the run has one. Returns the rows inserted.
pub(super) async fn merge(
    conn: &mut SqliteConnection,
    audit_id: &str,
    run: i64,
    findings: Vec<NewFinding>,
    now: &str,
) -> Result<u64> {
    let stored = sqlx::query_as::<_, Stored>(
        "SELECT id, finding_key, pattern_type, description, screenshot_index
         FROM audit_findings WHERE audit_id = ?1 AND COALESCE(run, 1) = ?2",
    )
    .bind(audit_id)
    .bind(run)
    .fetch_all(&mut *conn)
    .await?;
    let merge = plan(stored, findings);
    for (id, f) in &merge.enrich {
        enrich(conn, *id, f).await?;
    }
    let mut rows = 0;
    if !merge.fresh.is_empty() {
        let fresh = &merge.fresh;
        rows += execute_pushed(conn, |q| push_findings(q, audit_id, run, fresh, now))
            .await?
            .rows_affected();
    }
    Ok(rows)
}

/// What storing findings in a run does: stored rows enriched by a copy (in order, each with
/// what the copy brings), and the new findings to insert, copies within them folded.
#[derive(Debug, Default)]
pub(crate) struct Merge {
    pub enrich: Vec<(i64, NewFinding)>,
    pub fresh: Vec<NewFinding>,
}

/// How `findings` merge into the run's `stored` findings: the one rule of every engine.
pub(crate) fn plan(stored: Vec<Stored>, findings: Vec<NewFinding>) -> Merge {
    let mut stored: Vec<(Stored, Norm)> = stored
        .into_iter()
        .map(|s| {
            let n = Norm::of_stored(&s);
            (s, n)
        })
        .collect();
    let mut fresh: Vec<(NewFinding, Norm)> = Vec::new();
    let mut enrich = Vec::new();
    for f in findings {
        let norm = Norm::of_new(&f);
        if let Some((s, n)) = stored.iter_mut().find(|(_, n)| n.matches(&norm)) {
            if f.description.len() > s.description.len() {
                s.description = f.description.clone();
            }
            s.screenshot_index = s.screenshot_index.or(f.screenshot_index);
            *n = Norm::of_stored(s);
            enrich.push((s.id, f));
            continue;
        }
        if let Some((twin, n)) = fresh.iter_mut().find(|(_, n)| n.matches(&norm)) {
            absorb(twin, f);
            *n = Norm::of_new(twin);
            continue;
        }
        fresh.push((f, norm));
    }
    Merge {
        enrich,
        fresh: fresh.into_iter().map(|(f, _)| f).collect(),
    }
}

/// What `other` adds to `into`, the same finding received twice in one event.
fn absorb(into: &mut NewFinding, other: NewFinding) {
    if other.description.len() > into.description.len() {
        into.description = other.description;
    }
    if other.plain_english.as_deref().map_or(0, str::len) > into.plain_english.as_deref().map_or(0, str::len)
    {
        into.plain_english = other.plain_english;
    }
    if matches!(into.category.as_deref(), None | Some("unknown" | "")) {
        into.category = other.category.or(into.category.take());
    }
    into.cwe_id = into.cwe_id.take().or(other.cwe_id);
    into.cvss_score = into.cvss_score.or(other.cvss_score);
    into.screenshot_index = into.screenshot_index.or(other.screenshot_index);
    into.confidence = into.confidence.max(other.confidence);
}

/// Enrich stored finding `id` with what `f` adds: longer text, a category where it had
/// none (or `unknown`), CWE and CVSS, a screenshot, a higher confidence.
async fn enrich(conn: &mut SqliteConnection, id: i64, f: &NewFinding) -> Result<u64> {
    let done = sqlx::query(
        "UPDATE audit_findings SET
           description = CASE WHEN length(?1) > length(description) THEN ?1 ELSE description END,
           plain_english = CASE WHEN length(COALESCE(?2, '')) > length(COALESCE(plain_english, ''))
                                THEN ?2 ELSE plain_english END,
           category = CASE WHEN COALESCE(category, 'unknown') IN ('unknown', '') AND ?3 IS NOT NULL
                           THEN ?3 ELSE category END,
           cwe_id = COALESCE(cwe_id, ?4),
           cvss_score = COALESCE(cvss_score, ?5),
           screenshot_index = CASE WHEN COALESCE(screenshot_index, -1) < 0 AND ?6 IS NOT NULL
                                   THEN ?6 ELSE screenshot_index END,
           confidence = max(confidence, ?7)
         WHERE id = ?8",
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
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(pattern: &str, description: &str, key: Option<&str>) -> NewFinding {
        NewFinding {
            created_at: None,
            run: None,
            key: key.map(str::to_string),
            pattern_type: pattern.into(),
            description: description.into(),
            severity: "high".into(),
            confidence: 0.9,
            ..NewFinding::default()
        }
    }

    fn stored(pattern: &str, description: &str, key: Option<&str>) -> Stored {
        Stored {
            id: 1,
            finding_key: key.map(str::to_string),
            pattern_type: pattern.into(),
            description: description.into(),
            screenshot_index: None,
        }
    }

    #[test]
    fn copies_of_a_finding_are_known_by_pattern_and_text() {
        let s = stored(
            "fake_urgency",
            "Countdown timer resets on refresh.",
            Some("fake_urgency_0"),
        );
        // dark_pattern_finding: no id, same text
        assert!(same_finding(
            &s,
            &new("fake_urgency", "Countdown timer resets on refresh.", None)
        ));
        // the judge: `pattern` / `evidence`, other case and spacing
        assert!(same_finding(
            &s,
            &new("Fake Urgency", "countdown timer  resets on refresh.", None)
        ));
        // a vision pass: another id, no text
        assert!(same_finding(&s, &new("fake-urgency", "", Some("9991"))));
        // another finding of the same pattern
        assert!(!same_finding(
            &s,
            &new("fake_urgency", "A banner claims 3 left in stock.", None)
        ));
        assert!(!same_finding(
            &s,
            &new("hidden_costs", "Countdown timer resets on refresh.", None)
        ));
    }
}
