//! Which audits a list shows: the filter a person sets, checked once into the conditions
//! of a WHERE clause. Every value is bound, never inlined.

use serde::{Deserialize, Serialize};
use sqlx::{QueryBuilder, Sqlite};

use crate::error::{Error, Result};
use crate::model::AuditStatus;
use crate::search::fts_query;

use super::counts::stored_kinds;

/// Which audits to show. Empty lists mean "any".
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct AuditFilter {
    pub status: Vec<AuditStatus>,
    pub risk_level: Vec<String>,
    pub audit_tier: Vec<String>,
    pub site_type: Vec<String>,
    /// Audits with at least one finding of one of these severities.
    pub severity: Vec<String>,
    /// Audits with at least one finding of one of these pattern types.
    pub pattern_type: Vec<String>,
    pub min_score: Option<f64>,
    pub max_score: Option<f64>,
    /// Created at or after (a date or a timestamp).
    pub created_from: Option<String>,
    /// Created before (a date or a timestamp); a bare date includes that whole day.
    pub created_to: Option<String>,
    /// Full-text search over url, narrative and findings' text; any text is safe.
    pub search: Option<String>,
    /// Audits whose url contains this text (plain substring, case-insensitive for ASCII).
    pub url_contains: Option<String>,
    /// Audits that mapped one of these MITRE ATT&CK techniques (`T1566`).
    pub mitre: Vec<String>,
    /// Audits that name one of these weaknesses (`CWE-79`), in a finding, the verdict or a
    /// security module.
    pub cwe: Vec<String>,
    /// Audits with (`true`) or without (`false`) green flags.
    pub green_flags: Option<bool>,
    /// Audits with a finding `new` on their site, or one `regressed` (back after an
    /// absence), against the site's earlier audits (by finding fingerprint).
    pub changes: Vec<String>,
    /// Only audits with a finding nobody has triaged (no verdict for its problem on the
    /// site, nor for this audit).
    pub untriaged: bool,
    /// Count and filter severities and patterns with the findings triaged away too (false
    /// positives and accepted risks, left out by default, as in the findings view).
    pub include_hidden: bool,
}

/// Which facet's own filter to leave out: each facet counts as if its own choice were not
/// made, so a person sees what choosing another value would give.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Facet {
    None,
    Status,
    Risk,
    Tier,
    SiteType,
    Severity,
    Pattern,
    Mitre,
    Cwe,
    GreenFlags,
    Changes,
}

/// A filter whose values have been checked and put in their stored forms.
#[derive(Debug, Clone, Default)]
pub(crate) struct Conditions {
    pub(crate) status: Vec<String>,
    pub(crate) risk_level: Vec<String>,
    pub(crate) audit_tier: Vec<String>,
    pub(crate) site_type: Vec<String>,
    pub(crate) severity: Vec<String>,
    pub(crate) pattern_type: Vec<String>,
    pub(crate) min_score: Option<f64>,
    pub(crate) max_score: Option<f64>,
    pub(crate) created_from: Option<String>,
    pub(crate) created_before: Option<String>,
    /// The FTS5 query of the search (user text quoted term by term).
    pub(crate) search: Option<String>,
    /// The LIKE pattern of `url_contains`, wildcards escaped.
    pub(crate) url_like: Option<String>,
    pub(crate) mitre: Vec<String>,
    pub(crate) cwe: Vec<String>,
    pub(crate) green_flags: Option<bool>,
    pub(crate) changes: Vec<String>,
    pub(crate) untriaged: bool,
    pub(crate) include_hidden: bool,
    /// Only audits from this rowid on (an estimate's sample of the newest audits).
    pub(crate) sample: Option<i64>,
    /// The rowids the search matched, as a JSON array, in place of the search itself: an
    /// estimate searches its sample once, and each facet counts among what it found.
    pub(crate) matched: Option<String>,
}

impl Conditions {
    /// Check `filter`: a bound that is no number, a date that is no date, is refused and
    /// named.
    pub(crate) fn check(filter: &AuditFilter) -> Result<Conditions> {
        for (name, bound) in [("min_score", filter.min_score), ("max_score", filter.max_score)] {
            if bound.is_some_and(|v| !v.is_finite()) {
                return Err(Error::invalid(format!("score bound {name}"), "must be a number"));
            }
        }
        let created_from = filter
            .created_from
            .as_deref()
            .map(|from| {
                crate::time::bound_text(from)
                    .ok_or_else(|| Error::invalid(format!("created_from {from:?}"), "not a date or time"))
            })
            .transpose()?;
        let created_before = filter
            .created_to
            .as_deref()
            .map(|to| {
                let mut t = crate::time::parse(to)
                    .ok_or_else(|| Error::invalid(format!("created_to {to:?}"), "not a date or time"))?;
                if to.trim().len() <= 10 {
                    // A bare date means up to the end of that day.
                    t += chrono::Duration::days(1);
                }
                Ok::<_, Error>(crate::time::to_text(t))
            })
            .transpose()?;
        let changes = filter
            .changes
            .iter()
            .map(|c| match c.trim().to_lowercase().as_str() {
                v @ ("new" | "regressed") => Ok(v.to_string()),
                _ => Err(Error::invalid(
                    format!("changes {c:?}"),
                    "must be new or regressed",
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Conditions {
            status: filter.status.iter().map(|s| s.as_str().to_string()).collect(),
            risk_level: filter.risk_level.clone(),
            audit_tier: filter.audit_tier.clone(),
            site_type: filter.site_type.clone(),
            severity: filter.severity.iter().map(|s| s.to_lowercase()).collect(),
            pattern_type: filter.pattern_type.clone(),
            min_score: filter.min_score,
            max_score: filter.max_score,
            created_from,
            created_before,
            search: filter.search.as_deref().and_then(fts_query),
            url_like: filter
                .url_contains
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|sub| {
                    let escaped = sub.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
                    format!("%{escaped}%")
                }),
            mitre: filter.mitre.iter().map(|t| t.trim().to_uppercase()).collect(),
            // The stored form; text that is no CWE id matches nothing, as it should.
            cwe: filter
                .cwe
                .iter()
                .map(|c| crate::vocabulary::cwe_id(c).unwrap_or_else(|| c.clone()))
                .collect(),
            green_flags: filter.green_flags,
            changes,
            untriaged: filter.untriaged,
            include_hidden: filter.include_hidden,
            sample: None,
            matched: None,
        })
    }

    /// The same conditions without the full-text search (a search walks the list under
    /// the others).
    pub(super) fn without_search(&self) -> Conditions {
        Conditions {
            search: None,
            ..self.clone()
        }
    }

    /// Append ` AND <condition>` for each condition, leaving out `skip`'s own.
    pub(super) fn push(&self, q: &mut QueryBuilder<'_, Sqlite>, skip: Facet) {
        self.push_facet_choices(q, skip);
        self.push_others(q);
    }

    /// The conditions of the facets' own choices (status ... green flags), `skip`'s left out.
    fn push_facet_choices(&self, q: &mut QueryBuilder<'_, Sqlite>, skip: Facet) {
        if skip != Facet::Status {
            any_of(q, "lower(a.status)", &self.status);
        }
        if skip != Facet::Risk {
            any_of(q, "a.risk_level", &self.risk_level);
        }
        if skip != Facet::Tier {
            any_of(q, "a.audit_tier", &self.audit_tier);
        }
        if skip != Facet::SiteType {
            any_of(q, "a.site_type", &self.site_type);
        }
        // Severity and pattern read the per-audit facts their findings give (migration 7),
        // one small row per audit and value instead of every finding; the facts of findings
        // triaged away only with `include_hidden` (migration 12).
        for (facet, kind, values) in [
            (Facet::Severity, "severity", &self.severity),
            (Facet::Pattern, "pattern", &self.pattern_type),
            (Facet::Mitre, "mitre", &self.mitre),
            (Facet::Cwe, "cwe", &self.cwe),
            (Facet::Changes, "change", &self.changes),
        ] {
            if skip != facet && !values.is_empty() {
                q.push(" AND EXISTS (SELECT 1 FROM audit_facts x WHERE x.audit_id = a.id AND x.kind IN (");
                let mut list = q.separated(", ");
                for k in stored_kinds(kind, self.include_hidden) {
                    list.push_bind(k);
                }
                q.push(")");
                any_of(q, "x.value", values);
                q.push(")");
            }
        }
        if let (Some(want), true) = (self.green_flags, skip != Facet::GreenFlags) {
            q.push(if want { " AND EXISTS" } else { " AND NOT EXISTS" });
            q.push(" (SELECT 1 FROM audit_facts x WHERE x.audit_id = a.id AND x.kind = 'green_flags')");
        }
    }

    /// The conditions no facet leaves out: score range, dates, the sample, the search and
    /// the url. An estimate pushes these alone and checks the facets' choices itself.
    pub(super) fn push_others(&self, q: &mut QueryBuilder<'_, Sqlite>) {
        if let Some(v) = self.min_score {
            q.push(" AND a.trust_score >= ").push_bind(v);
        }
        if let Some(v) = self.max_score {
            q.push(" AND a.trust_score <= ").push_bind(v);
        }
        if let Some(t) = &self.created_from {
            q.push(" AND COALESCE(a.created_at, '') >= ").push_bind(t.clone());
        }
        if let Some(t) = &self.created_before {
            q.push(" AND COALESCE(a.created_at, '') < ").push_bind(t.clone());
        }
        if let Some(lo) = self.sample {
            q.push(" AND a.rowid >= ").push_bind(lo);
        }
        if let Some(ids) = &self.matched {
            q.push(" AND a.rowid IN (SELECT value FROM json_each(")
                .push_bind(ids.clone())
                .push("))");
        } else if let Some(fts) = &self.search {
            q.push(" AND (a.rowid IN (SELECT rowid FROM audits_fts WHERE audits_fts MATCH ")
                .push_bind(fts.clone())
                .push(
                    ") OR a.id IN (SELECT f.audit_id FROM findings_fts JOIN audit_findings f \
                     ON f.id = findings_fts.rowid WHERE findings_fts MATCH ",
                )
                .push_bind(fts.clone())
                .push("))");
        }
        if self.untriaged {
            q.push(
                " AND EXISTS (SELECT 1 FROM finding_fingerprints fp WHERE fp.audit_id = a.id \
                 AND NOT EXISTS (SELECT 1 FROM triage t WHERE t.site = fp.site \
                 AND t.fingerprint = fp.fingerprint AND (t.audit_id IS NULL OR t.audit_id = a.id)))",
            );
        }
        if let Some(like) = &self.url_like {
            q.push(" AND a.url LIKE ")
                .push_bind(like.clone())
                .push(" ESCAPE '\\'");
        }
    }
}

/// ` AND <expr> IN (?, ...)`, nothing for no values.
fn any_of(q: &mut QueryBuilder<'_, Sqlite>, expr: &str, values: &[String]) {
    if values.is_empty() {
        return;
    }
    q.push(format!(" AND {expr} IN ("));
    let mut list = q.separated(", ");
    for v in values {
        list.push_bind(v.clone());
    }
    q.push(")");
}
