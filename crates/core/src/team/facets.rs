//! Facet counts on a team database, for the sidebar: how many audits each value of a facet
//! would give under the current filter, each facet leaving out its own choice.
//!
//! As on SQLite, most filters are answered from counts the database maintains (migrations 3
//! and 5: `facet_counts`, kept by triggers): no filter, any of the audit-level facets, whole
//! score bounds, and one fact (a severity, a pattern, a technique, a weakness, a change or
//! green flags); and a fact facet under one fact's choice without audit-level ones, from the
//! maintained pairs (migration 7: `facet_pairs`). The rest (a search, dates, a url, several
//! fact values, an absence of green flags, untriaged findings, a fractional score bound, and
//! a fact facet under another fact's choice and audit-level ones) are counted from the rows,
//! reading the audits' facts (`audit_facts`) rather than their findings. Every count here
//! is exact; the sidebar's budget and estimates are in `facet_sample.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use super::read::{any_of, fact_kind, push_conditions};
use super::TeamStore;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::ProjectName;
use crate::query::list::counts::{green, sorted};
use crate::query::list::filter::{Conditions, Facet as Skip};
use crate::query::{AuditFilter, FacetCount, Facets};

/// One of the facets: its name in the rows and in the counts.
#[derive(Clone, Copy)]
struct Facet {
    skip: Skip,
    /// Its expression over `audits a` (finding facets: over `audit_facts fv`).
    rows: &'static str,
    /// Its kind of audit fact, for a fact facet (severity and pattern: before
    /// [`fact_kind`] says which of theirs).
    fact: Option<&'static str>,
    /// Its column of `facet_counts` (fact facets: `value`).
    counts: &'static str,
}

const fn audit_facet(skip: Skip, column: &'static str, rows: &'static str) -> Facet {
    Facet {
        skip,
        rows,
        fact: None,
        counts: column,
    }
}

const fn fact_facet(skip: Skip, kind: &'static str) -> Facet {
    Facet {
        skip,
        rows: "fv.value",
        fact: Some(kind),
        counts: "value",
    }
}

const STATUS: Facet = audit_facet(Skip::Status, "status", "lower(a.status)");
const RISK: Facet = audit_facet(Skip::Risk, "risk_level", "a.risk_level");
const TIER: Facet = audit_facet(Skip::Tier, "audit_tier", "a.audit_tier");
const SITE_TYPE: Facet = audit_facet(Skip::SiteType, "site_type", "a.site_type");
const SEVERITY: Facet = fact_facet(Skip::Severity, "severity");
const PATTERN: Facet = fact_facet(Skip::Pattern, "pattern");
const MITRE: Facet = fact_facet(Skip::Mitre, "mitre");
const CWE: Facet = fact_facet(Skip::Cwe, "cwe");
const CHANGES: Facet = fact_facet(Skip::Changes, "change");

/// The filter's choices of audit facts: (facet, stored kind, values); green flags as the
/// fact `green_flags` = `yes` when they are asked for.
fn fact_choices(c: &Conditions) -> Vec<(Skip, &'static str, Vec<String>)> {
    let mut out = vec![
        (
            Skip::Severity,
            fact_kind("severity", c.include_hidden),
            c.severity.clone(),
        ),
        (
            Skip::Pattern,
            fact_kind("pattern", c.include_hidden),
            c.pattern_type.clone(),
        ),
        (Skip::Mitre, "mitre", c.mitre.clone()),
        (Skip::Cwe, "cwe", c.cwe.clone()),
        (Skip::Changes, "change", c.changes.clone()),
    ];
    if c.green_flags == Some(true) {
        out.push((Skip::GreenFlags, "green_flags", vec!["yes".into()]));
    }
    out.retain(|(_, _, values)| !values.is_empty());
    out
}

/// Whether the maintained counts can answer the filter exactly: only conditions they keep
/// (the counts hold one fact at a time, and no absence of one).
fn counts_answer(filter: &AuditFilter, c: &Conditions) -> bool {
    let whole = |b: Option<f64>| b.is_none_or(|v| v.fract() == 0.0 && v.abs() < 1e15);
    filter.search.as_deref().is_none_or(|s| s.trim().is_empty())
        && c.created_from.is_none()
        && c.created_before.is_none()
        && c.url_like.is_none()
        && !c.untriaged
        && c.green_flags != Some(false)
        && whole(c.min_score)
        && whole(c.max_score)
        && fact_choices(c).iter().map(|(_, _, v)| v.len()).sum::<usize>() <= 1
}

/// The one fact the filter asks for, if any, unless it is `skip`'s own choice: the fact
/// (kind, value) the counts are read at; the audits' own count (`audit`) otherwise.
fn fact_of(c: &Conditions, skip: Skip) -> (&'static str, String) {
    fact_choices(c)
        .into_iter()
        .find(|(facet, _, _)| *facet != skip)
        .map(|(_, kind, mut values)| (kind, values.remove(0)))
        .unwrap_or(("audit", String::new()))
}

/// ` AND a.id = ANY(<the sample>)` when [`Rows::only`] names the audits to count.
fn push_only(q: &mut QueryBuilder<'_, Postgres>, rows: &Rows) {
    if let Some(only) = &rows.only {
        q.push(" AND a.id = ANY(").push_bind(only.clone()).push(")");
    }
}

/// Whether the filter chooses audit-level facets or a score range, which the pairs (kept
/// per project only) cannot answer.
fn has_dimensions(c: &Conditions) -> bool {
    !(c.status.is_empty()
        && c.risk_level.is_empty()
        && c.audit_tier.is_empty()
        && c.site_type.is_empty()
        && c.min_score.is_none()
        && c.max_score.is_none())
}

/// The conditions on `facet_counts`' columns: the filter's audit-level choices (`skip`'s
/// own left out) and score bounds (whole numbers: a score's floor and whether it is whole).
fn push_dimensions(q: &mut QueryBuilder<'_, Postgres>, c: &Conditions, skip: Skip) {
    let keep = |facet: Skip, values: &Vec<String>| if skip == facet { Vec::new() } else { values.clone() };
    any_of(q, "status", keep(Skip::Status, &c.status));
    any_of(q, "risk_level", keep(Skip::Risk, &c.risk_level));
    any_of(q, "audit_tier", keep(Skip::Tier, &c.audit_tier));
    any_of(q, "site_type", keep(Skip::SiteType, &c.site_type));
    if let Some(min) = c.min_score {
        q.push(" AND score >= ").push_bind(min as i64);
    }
    if let Some(max) = c.max_score {
        q.push(" AND (score < ")
            .push_bind(max as i64)
            .push(" OR (score = ")
            .push_bind(max as i64)
            .push(" AND whole))");
    }
}

/// `SELECT <what> FROM facet_counts` of `project` at fact (kind, value), under `c`'s
/// audit-level choices (`skip`'s left out).
fn counts_query<'a>(
    what: &str,
    project: &ProjectName,
    kind: &'static str,
    value: Option<String>,
    c: &Conditions,
    skip: Skip,
) -> QueryBuilder<'a, Postgres> {
    let mut q = QueryBuilder::new(format!("SELECT {what} FROM facet_counts WHERE project = "));
    q.push_bind(project.as_str().to_string())
        .push(" AND kind = ")
        .push_bind(kind);
    if let Some(value) = value {
        q.push(" AND value = ").push_bind(value);
    }
    push_dimensions(&mut q, c, skip);
    q
}

/// How the counts the maintained tables do not give are taken from the rows.
#[derive(Clone, Debug, Default)]
pub(super) struct Rows {
    /// Each count from the rows may run this long (PostgreSQL's `statement_timeout`); past
    /// it the request gives up (`None`) rather than wait.
    pub(super) budget: Option<Duration>,
    /// Count these audits only (an estimate's sample), all from the rows: the maintained
    /// counts are of the whole project.
    pub(super) only: Option<Vec<String>>,
}

/// `statement_timeout`'s error: the statement ran past its time.
const QUERY_CANCELED: &str = "57014";

impl TeamStore {
    /// Exact facet counts under a filter, each facet leaving out its own choice
    /// (`audit_facets`), and the project's findings triaged away.
    pub async fn audit_facets(&self, project: &ProjectName, filter: &AuditFilter) -> Result<Facets> {
        self.count_facets(project, filter, &Rows::default())
            .await?
            .ok_or_else(|| Error::new(ErrorKind::Internal, "facet counts without a budget gave up"))
    }

    /// The facets under `filter` as [`Rows`] says to count them; `None` when a count ran past
    /// its budget.
    pub(super) async fn count_facets(
        &self,
        project: &ProjectName,
        filter: &AuditFilter,
        rows: &Rows,
    ) -> Result<Option<Facets>> {
        let c = Conditions::check(filter)?;
        let counts = counts_answer(filter, &c) && rows.only.is_none();
        let facet = |f: Facet| self.facet(project, filter, &c, f, counts, rows);
        // The counts at once, each on a connection of its own.
        let (total, status, risk_level, audit_tier, site_type, severity, pattern_type) = tokio::try_join!(
            self.facet_total(project, filter, &c, counts, rows),
            facet(STATUS),
            facet(RISK),
            facet(TIER),
            facet(SITE_TYPE),
            facet(SEVERITY),
            facet(PATTERN),
        )?;
        let (mitre, cwe, changes, green_flags, hidden_findings) = tokio::try_join!(
            facet(MITRE),
            facet(CWE),
            facet(CHANGES),
            self.green_facet(project, filter, &c, counts, rows),
            self.hidden_findings(project),
        )?;
        let (
            Some(total),
            Some(status),
            Some(risk_level),
            Some(audit_tier),
            Some(site_type),
            Some(severity),
            Some(pattern_type),
            Some(mitre),
            Some(cwe),
            Some(changes),
            Some(green_flags),
        ) = (
            total,
            status,
            risk_level,
            audit_tier,
            site_type,
            severity,
            pattern_type,
            mitre,
            cwe,
            changes,
            green_flags,
        )
        else {
            return Ok(None);
        };
        Ok(Some(Facets {
            total,
            status,
            risk_level,
            audit_tier,
            site_type,
            severity,
            pattern_type,
            mitre,
            cwe,
            green_flags,
            changes,
            hidden_findings,
            estimated: Vec::new(),
        }))
    }

    /// A count from the rows, within `rows`' budget (`None` past it).
    async fn counted(&self, mut q: QueryBuilder<'_, Postgres>, rows: &Rows) -> Result<Option<Vec<PgRow>>> {
        let pool = self.database().pool();
        let Some(budget) = rows.budget else {
            return Ok(Some(q.build().fetch_all(pool).await?));
        };
        let mut tx = pool.begin().await?;
        sqlx::query(&format!(
            "SET LOCAL statement_timeout = {}",
            budget.as_millis().max(1)
        ))
        .execute(&mut *tx)
        .await?;
        match q.build().fetch_all(&mut *tx).await {
            Ok(found) => {
                tx.commit().await?;
                Ok(Some(found))
            }
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(QUERY_CANCELED) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The audits the filter gives.
    async fn facet_total(
        &self,
        project: &ProjectName,
        filter: &AuditFilter,
        c: &Conditions,
        counts: bool,
        rows: &Rows,
    ) -> Result<Option<i64>> {
        let mut q;
        if counts {
            let (kind, value) = fact_of(c, Skip::None);
            q = counts_query(
                "COALESCE(sum(n), 0)::bigint",
                project,
                kind,
                Some(value),
                c,
                Skip::None,
            );
        } else {
            q = QueryBuilder::new("SELECT count(*) FROM audits a WHERE a.project = ");
            q.push_bind(project.as_str().to_string());
            push_conditions(&mut q, filter, Skip::None)?;
            push_only(&mut q, rows);
            let Some(found) = self.counted(q, rows).await? else {
                return Ok(None);
            };
            return Ok(Some(found[0].try_get(0)?));
        }
        Ok(Some(
            q.build_query_scalar::<i64>()
                .fetch_one(self.database().pool())
                .await?,
        ))
    }

    /// One facet's counts.
    async fn facet(
        &self,
        project: &ProjectName,
        filter: &AuditFilter,
        c: &Conditions,
        facet: Facet,
        counts: bool,
        rows: &Rows,
    ) -> Result<Option<Vec<FacetCount>>> {
        let (kind, value) = fact_of(c, facet.skip);
        if let Some(fact) = facet
            .fact
            .filter(|_| counts && kind != "audit" && !has_dimensions(c))
        {
            let pairs = self
                .pairs(project, (kind, &value), fact_kind(fact, c.include_hidden), None)
                .await?;
            return Ok(Some(sorted(
                pairs.into_iter().map(|(v, n)| (Some(v), n)).collect(),
            )));
        }
        // A fact facet under another fact's choice and audit-level ones needs audits with
        // both facts: the counts hold one fact at a time, the pairs no audit-level facets.
        let counts = counts && (facet.fact.is_none() || kind == "audit");
        let what = format!("{} AS value, sum(n)::bigint AS n", facet.counts);
        let found: Vec<(Option<String>, i64)>;
        if counts {
            let mut q = match facet.fact {
                Some(fact) => counts_query(
                    &what,
                    project,
                    fact_kind(fact, c.include_hidden),
                    None,
                    c,
                    facet.skip,
                ),
                None => counts_query(&what, project, kind, Some(value), c, facet.skip),
            };
            q.push(" GROUP BY 1");
            found = q.build_query_as().fetch_all(self.database().pool()).await?;
        } else {
            let mut q = QueryBuilder::new(format!(
                "SELECT {} AS value, count(*) AS n FROM audits a",
                facet.rows
            ));
            if let Some(fact) = facet.fact {
                // One row per audit and value: the audit's facts are distinct.
                q.push(" JOIN audit_facts fv ON fv.audit_id = a.id AND fv.kind = ")
                    .push_bind(fact_kind(fact, c.include_hidden));
            }
            q.push(" WHERE a.project = ")
                .push_bind(project.as_str().to_string());
            push_conditions(&mut q, filter, facet.skip)?;
            push_only(&mut q, rows);
            q.push(" GROUP BY 1");
            let Some(counted) = self.counted(q, rows).await? else {
                return Ok(None);
            };
            found = counted
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_>>()?;
        }
        let mut by_value = BTreeMap::new();
        for (value, n) in found {
            *by_value.entry(value).or_insert(0) += n;
        }
        Ok(Some(sorted(by_value)))
    }

    /// Audits with and without green flags (`yes`, `no`), the choice of either left out.
    async fn green_facet(
        &self,
        project: &ProjectName,
        filter: &AuditFilter,
        c: &Conditions,
        counts: bool,
        rows: &Rows,
    ) -> Result<Option<Vec<FacetCount>>> {
        let pool = self.database().pool();
        let (kind, value) = fact_of(c, Skip::GreenFlags);
        let (yes, all) = if counts && kind != "audit" && !has_dimensions(c) {
            let yes = self
                .pairs(project, (kind, &value), "green_flags", Some("yes"))
                .await?;
            let mut all = counts_query(
                "COALESCE(sum(n), 0)::bigint",
                project,
                kind,
                Some(value.clone()),
                c,
                Skip::GreenFlags,
            );
            let all = all.build_query_scalar::<i64>().fetch_one(pool).await?;
            (yes.values().sum(), all)
        } else if counts && kind == "audit" {
            let sum = "COALESCE(sum(n), 0)::bigint";
            let (mut yes, mut all) = (
                counts_query(
                    sum,
                    project,
                    "green_flags",
                    Some("yes".into()),
                    c,
                    Skip::GreenFlags,
                ),
                counts_query(sum, project, "audit", Some(String::new()), c, Skip::GreenFlags),
            );
            let (yes, all) = tokio::try_join!(
                yes.build_query_scalar::<i64>().fetch_one(pool),
                all.build_query_scalar::<i64>().fetch_one(pool)
            )?;
            (yes, all)
        } else {
            let mut q = QueryBuilder::new(
                "SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM audit_facts g WHERE g.audit_id = a.id \
                 AND g.kind = 'green_flags')), count(*) FROM audits a WHERE a.project = ",
            );
            q.push_bind(project.as_str().to_string());
            push_conditions(&mut q, filter, Skip::GreenFlags)?;
            push_only(&mut q, rows);
            let Some(found) = self.counted(q, rows).await? else {
                return Ok(None);
            };
            (found[0].try_get(0)?, found[0].try_get(1)?)
        };
        Ok(Some(green(yes, all)))
    }

    /// Audits per value of fact kind `kind2` (only `value2`, if given) among those with
    /// fact `with`, from the maintained pairs (migration 7): the deltas of each pair summed.
    async fn pairs(
        &self,
        project: &ProjectName,
        with: (&str, &str),
        kind2: &str,
        value2: Option<&str>,
    ) -> Result<BTreeMap<String, i64>> {
        let mut q =
            QueryBuilder::<Postgres>::new("SELECT value2, sum(n)::bigint FROM facet_pairs WHERE project = ");
        q.push_bind(project.as_str().to_string())
            .push(" AND kind = ")
            .push_bind(with.0.to_string())
            .push(" AND value = ")
            .push_bind(with.1.to_string())
            .push(" AND kind2 = ")
            .push_bind(kind2.to_string());
        if let Some(value2) = value2 {
            q.push(" AND value2 = ").push_bind(value2.to_string());
        }
        q.push(" GROUP BY 1 HAVING sum(n) <> 0");
        let rows: Vec<(String, i64)> = q.build_query_as().fetch_all(self.database().pool()).await?;
        Ok(rows.into_iter().collect())
    }

    /// The project's findings triaged away now (false positives and accepted risks), found
    /// from the few triage keys that hide.
    async fn hidden_findings(&self, project: &ProjectName) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT count(DISTINCT f.id) FROM triage_state t
             JOIN audit_findings f ON f.site = t.site AND f.fingerprint = t.fingerprint
              AND (t.scope = '' OR f.audit_id = t.scope)
             WHERE t.hides AND t.site >= $1 || chr(31) AND t.site < $1 || chr(32)
               AND veritas_hidden(f.site, f.fingerprint, f.audit_id)",
        )
        .bind(project.as_str())
        .fetch_one(self.database().pool())
        .await?)
    }
}
