//! Facet counts on a team database, for the sidebar: how many audits each value of a facet
//! would give under the current filter, each facet leaving out its own choice.
//!
//! As on SQLite, most filters are answered from counts the database maintains (migration 3:
//! `facet_counts`, kept by triggers): no filter, any of the audit-level facets, whole score
//! bounds, and one finding value (a severity or a pattern). The rest (a search, dates, a
//! url, several finding values, a fractional score bound, and a finding facet under the
//! other finding facet's choice) are counted from the rows, reading the audits' finding facts
//! (`audit_facts`) rather than their findings. Every count is exact.

use std::collections::BTreeMap;

use sqlx::{Postgres, QueryBuilder};

use super::read::{any_of, push_conditions, refuse_unsupported, Skip};
use super::TeamStore;
use crate::error::{Error, Result};
use crate::ids::ProjectName;
use crate::query::list::counts::sorted;
use crate::query::{AuditFilter, FacetCount, Facets};

/// One of the facets: its name in the rows and in the counts.
#[derive(Clone, Copy)]
struct Facet {
    skip: Skip,
    /// Its expression over `audits a` (finding facets: over `audit_facts fv`).
    rows: &'static str,
    /// Its kind of finding fact, for a finding facet.
    fact: Option<&'static str>,
    /// Its column of `facet_counts` (finding facets: `value`).
    counts: &'static str,
}

const STATUS: Facet = Facet {
    skip: Skip::Status,
    rows: "lower(a.status)",
    fact: None,
    counts: "status",
};
const RISK: Facet = Facet {
    skip: Skip::Risk,
    rows: "a.risk_level",
    fact: None,
    counts: "risk_level",
};
const TIER: Facet = Facet {
    skip: Skip::Tier,
    rows: "a.audit_tier",
    fact: None,
    counts: "audit_tier",
};
const SITE_TYPE: Facet = Facet {
    skip: Skip::SiteType,
    rows: "a.site_type",
    fact: None,
    counts: "site_type",
};
const SEVERITY: Facet = Facet {
    skip: Skip::Severity,
    rows: "fv.value",
    fact: Some("severity"),
    counts: "value",
};
const PATTERN: Facet = Facet {
    skip: Skip::Pattern,
    rows: "fv.value",
    fact: Some("pattern"),
    counts: "value",
};

/// Whether the maintained counts can answer `filter` exactly: only conditions they keep.
fn counts_answer(filter: &AuditFilter) -> bool {
    let whole = |b: Option<f64>| b.is_none_or(|v| v.fract() == 0.0 && v.abs() < 1e15);
    filter.search.as_deref().is_none_or(|s| s.trim().is_empty())
        && filter.created_from.is_none()
        && filter.created_to.is_none()
        && filter.url_contains.as_deref().is_none_or(str::is_empty)
        && whole(filter.min_score)
        && whole(filter.max_score)
        && filter.severity.len() + filter.pattern_type.len() <= 1
}

/// The one finding value the filter asks for, if any, unless it is `skip`'s own choice: the
/// fact (kind, value) the counts are read at; the audits' own count (`audit`) otherwise.
fn fact_of(filter: &AuditFilter, skip: Skip) -> (&'static str, String) {
    match (filter.severity.first(), filter.pattern_type.first()) {
        (Some(s), _) if skip != Skip::Severity => ("severity", s.to_lowercase()),
        (_, Some(p)) if skip != Skip::Pattern => ("pattern", p.clone()),
        _ => ("audit", String::new()),
    }
}

/// The conditions on `facet_counts`' columns: the filter's audit-level choices (`skip`'s
/// own left out) and score bounds (whole numbers: a score's floor and whether it is whole).
fn push_dimensions(q: &mut QueryBuilder<'_, Postgres>, filter: &AuditFilter, skip: Skip) {
    let keep = |facet: Skip, values: Vec<String>| if skip == facet { Vec::new() } else { values };
    let statuses = filter.status.iter().map(|s| s.as_str().to_string()).collect();
    any_of(q, "status", keep(Skip::Status, statuses));
    any_of(q, "risk_level", keep(Skip::Risk, filter.risk_level.clone()));
    any_of(q, "audit_tier", keep(Skip::Tier, filter.audit_tier.clone()));
    any_of(q, "site_type", keep(Skip::SiteType, filter.site_type.clone()));
    if let Some(min) = filter.min_score {
        q.push(" AND score >= ").push_bind(min as i64);
    }
    if let Some(max) = filter.max_score {
        q.push(" AND (score < ")
            .push_bind(max as i64)
            .push(" OR (score = ")
            .push_bind(max as i64)
            .push(" AND whole))");
    }
}

impl TeamStore {
    /// Exact facet counts under a filter, each facet leaving out its own choice
    /// (`audit_facets`). The facets derived on SQLite (MITRE, CWE, green flags, changes) are
    /// empty here so far.
    pub async fn audit_facets(&self, project: &ProjectName, filter: &AuditFilter) -> Result<Facets> {
        refuse_unsupported(filter)?;
        for (name, bound) in [("min_score", filter.min_score), ("max_score", filter.max_score)] {
            if bound.is_some_and(|v| !v.is_finite()) {
                return Err(Error::invalid(format!("score bound {name}"), "must be a number"));
            }
        }
        let counts = counts_answer(filter);
        // The seven counts at once, each on a connection of its own.
        let (total, status, risk_level, audit_tier, site_type, severity, pattern_type) = tokio::try_join!(
            self.facet_total(project, filter, counts),
            self.facet(project, filter, STATUS, counts),
            self.facet(project, filter, RISK, counts),
            self.facet(project, filter, TIER, counts),
            self.facet(project, filter, SITE_TYPE, counts),
            self.facet(project, filter, SEVERITY, counts),
            self.facet(project, filter, PATTERN, counts),
        )?;
        Ok(Facets {
            total,
            status,
            risk_level,
            audit_tier,
            site_type,
            severity,
            pattern_type,
            mitre: Vec::new(),
            cwe: Vec::new(),
            green_flags: Vec::new(),
            changes: Vec::new(),
            hidden_findings: 0,
            estimated: Vec::new(),
        })
    }

    /// The audits the filter gives.
    async fn facet_total(&self, project: &ProjectName, filter: &AuditFilter, counts: bool) -> Result<i64> {
        let mut q;
        if counts {
            let (kind, value) = fact_of(filter, Skip::None);
            q = QueryBuilder::new("SELECT COALESCE(sum(n), 0)::bigint FROM facet_counts WHERE project = ");
            q.push_bind(project.as_str().to_string())
                .push(" AND kind = ")
                .push_bind(kind)
                .push(" AND value = ")
                .push_bind(value);
            push_dimensions(&mut q, filter, Skip::None);
        } else {
            q = QueryBuilder::new("SELECT count(*) FROM audits a WHERE a.project = ");
            q.push_bind(project.as_str().to_string());
            push_conditions(&mut q, filter, Skip::None)?;
        }
        Ok(q.build_query_scalar::<i64>()
            .fetch_one(self.database().pool())
            .await?)
    }

    /// One facet's counts.
    async fn facet(
        &self,
        project: &ProjectName,
        filter: &AuditFilter,
        facet: Facet,
        counts: bool,
    ) -> Result<Vec<FacetCount>> {
        let (kind, value) = fact_of(filter, facet.skip);
        // A finding facet under the other finding facet's choice needs audits with both
        // facts: the counts hold one fact at a time.
        let counts = counts && (facet.fact.is_none() || kind == "audit");
        let mut q;
        if counts {
            q = QueryBuilder::new(format!(
                "SELECT {} AS value, sum(n)::bigint AS n FROM facet_counts WHERE project = ",
                facet.counts
            ));
            q.push_bind(project.as_str().to_string()).push(" AND kind = ");
            match facet.fact {
                Some(fact) => q.push_bind(fact),
                None => q.push_bind(kind).push(" AND value = ").push_bind(value),
            };
            push_dimensions(&mut q, filter, facet.skip);
        } else {
            q = QueryBuilder::new(format!(
                "SELECT {} AS value, count(*) AS n FROM audits a",
                facet.rows
            ));
            if let Some(fact) = facet.fact {
                // One row per audit and value: the audit's facts are distinct.
                q.push(format!(
                    " JOIN audit_facts fv ON fv.audit_id = a.id AND fv.kind = '{fact}'"
                ));
            }
            q.push(" WHERE a.project = ")
                .push_bind(project.as_str().to_string());
            push_conditions(&mut q, filter, facet.skip)?;
        }
        q.push(" GROUP BY 1");
        let rows: Vec<(Option<String>, i64)> = q.build_query_as().fetch_all(self.database().pool()).await?;
        let mut by_value = BTreeMap::new();
        for (value, n) in rows {
            *by_value.entry(value).or_insert(0) += n;
        }
        Ok(sorted(by_value))
    }
}
