//! Facet counts for the sidebar: how many audits each value of nine facets would give under
//! the current filter, each facet leaving out its own choice.
//!
//! Most filters are answered from the counts the database maintains ([`counts`](super::counts)),
//! in a few milliseconds at any size. The rest (a search, a date range, a url, several
//! finding-level values) are counted from the rows, never joining the findings (their
//! severities and patterns are per-audit facts). That count can run under a time budget:
//! past it, the facets not yet counted are estimated from the newest audits and named in
//! [`Facets::estimated`], so the sidebar can show them at once and ask for the exact counts
//! next. A request can be cancelled: the query in progress stops at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool};

use super::counts::{self, fact_kind, green, shown_kind, sorted, stored_kinds, FACETS};
use super::filter::{AuditFilter, Conditions, Facet};
use crate::db::time_limit;
use crate::error::{Error, ErrorKind, Result};
use crate::query::matching;
use crate::search::{self, Term};

/// Counts of audits per value, for the facet sidebar.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacetCount {
    pub value: String,
    pub count: i64,
}

/// Facet counts under the current filters. Each facet ignores its own filter, so a person
/// can see what choosing another value would give.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Facets {
    pub total: i64,
    pub status: Vec<FacetCount>,
    pub risk_level: Vec<FacetCount>,
    pub audit_tier: Vec<FacetCount>,
    pub site_type: Vec<FacetCount>,
    pub severity: Vec<FacetCount>,
    pub pattern_type: Vec<FacetCount>,
    /// MITRE ATT&CK techniques mapped.
    pub mitre: Vec<FacetCount>,
    /// Weaknesses named (`CWE-<n>`).
    pub cwe: Vec<FacetCount>,
    /// `yes` and `no`: audits with and without green flags.
    pub green_flags: Vec<FacetCount>,
    /// `new` and `regressed`: audits with a finding new on their site, or back after an
    /// absence.
    pub changes: Vec<FacetCount>,
    /// Findings of the project triaged away (false positives and accepted risks): left out
    /// of the severity and pattern counts unless the filter's `include_hidden` is set.
    pub hidden_findings: i64,
    /// The counts that are estimates, by field name (`total`, `status`, ...): the time
    /// budget ran out before they were counted, so they were scaled up from the newest
    /// audits. Empty when every count is exact.
    pub estimated: Vec<String>,
}

/// How a facet request may run.
#[derive(Debug, Clone, Default)]
pub struct FacetOptions {
    /// Count for at most this long, then estimate what is left (`None`: count it all).
    pub budget: Option<Duration>,
    /// Set to stop the request: the query in progress is interrupted and the request
    /// fails with [`ErrorKind::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
}

/// How many of the newest audits an estimate counts.
pub(crate) const SAMPLE: i64 = 4000;

/// How often (in SQLite virtual machine steps) a running count looks at the clock and the
/// cancel flag: often enough to stop within about a millisecond.
const CHECK_EVERY: i32 = 2000;

/// The field names of the facets, in [`FACETS`] order.
pub(crate) const NAMES: [&str; 10] = [
    "status",
    "risk_level",
    "audit_tier",
    "site_type",
    "severity",
    "pattern_type",
    "mitre",
    "cwe",
    "green_flags",
    "changes",
];

/// Exact facet counts for `project` under `filter`.
pub async fn facets(pool: &SqlitePool, project: &str, filter: &AuditFilter) -> Result<Facets> {
    facets_with(pool, project, filter, &FacetOptions::default()).await
}

/// Facet counts for `project` under `filter`, within `options`' budget (estimates past it)
/// and until its cancel flag is set.
pub async fn facets_with(
    pool: &SqlitePool,
    project: &str,
    filter: &AuditFilter,
    options: &FacetOptions,
) -> Result<Facets> {
    let c = Conditions::check(filter)?;
    let mut conn = pool.acquire().await?;
    let deadline = options.budget.map(|b| Instant::now() + b);
    // While `enforce` is set, the handler ends a query past the deadline. It is set once
    // the maintained counts have been read (they are cheap, and an answer needs them), and
    // cleared for the estimate, which runs under the cancel flag alone.
    let enforce = Arc::new(AtomicBool::new(false));
    let cancel = options.cancel.clone().unwrap_or_default();
    // The handler is removed when the request ends; should the request's future be dropped
    // first, `active` is cleared on the way out, so a handler left on the pooled connection
    // never interrupts somebody else's query.
    let active = Arc::new(AtomicBool::new(true));
    let _inactive = ClearOnDrop(active.clone());
    {
        let (enforce, cancel, active) = (enforce.clone(), cancel.clone(), active.clone());
        // This handler replaces the pool's (db/time_limit.rs), so it keeps its limit too.
        let limit = Instant::now() + time_limit::limit(time_limit::Use::Read);
        conn.lock_handle()
            .await?
            .set_progress_handler(CHECK_EVERY, move || {
                !(active.load(Ordering::Relaxed)
                    && (cancel.load(Ordering::Relaxed)
                        || Instant::now() >= limit
                        || (enforce.load(Ordering::Relaxed)
                            && deadline.is_some_and(|d| Instant::now() >= d))))
            });
    }
    let terms = filter.search.as_deref().map(search::terms).unwrap_or_default();
    let run = Run {
        project,
        c: &c,
        terms: &terms,
        deadline,
        enforce: &enforce,
        cancel: &cancel,
    };
    let result = run.all(&mut conn).await;
    // The connection goes back to the pool: no handler may outlive this request.
    if let Ok(mut handle) = conn.lock_handle().await {
        handle.remove_progress_handler();
    }
    result
}

/// Clears its flag when dropped, however the request ends.
struct ClearOnDrop(Arc<AtomicBool>);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Relaxed);
    }
}

/// One facet request in progress.
struct Run<'a> {
    project: &'a str,
    c: &'a Conditions,
    /// The search's terms (none without a search).
    terms: &'a [Term],
    deadline: Option<Instant>,
    enforce: &'a AtomicBool,
    cancel: &'a AtomicBool,
}

/// What counting one facet gave.
enum Outcome<T> {
    Counted(T),
    /// The budget ran out: estimate it.
    OverBudget,
}

impl Run<'_> {
    async fn all(&self, conn: &mut SqliteConnection) -> Result<Facets> {
        let partial = counts::from_counts(conn, self.project, self.c)
            .await
            .map_err(|e| self.why(e))?;
        // Read before the deadline is enforced, like the maintained counts: it is driven from
        // the few triage keys that hide (migration 12), not from the findings.
        let hidden_findings: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM hidden_findings WHERE site >= ?1 || char(31) AND site < ?1 || char(32)",
        )
        .bind(self.project)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| self.why(e.into()))?;
        self.enforce.store(self.deadline.is_some(), Ordering::Relaxed);
        let mut estimated = Vec::new();
        let mut sample: Option<Sample> = None;
        let unanswered = partial.total.is_none() || partial.facets.iter().any(Option::is_none);
        if unanswered && self.deadline.is_some() && !self.terms.is_empty() {
            // Under a budget, a search goes to the sample at once: its exact counts read
            // the whole index once per facet, which at 1,000,000 audits never fits the
            // budget (the attempt only spent it), and the sidebar asks for them next.
            self.sample(conn, &mut sample).await?;
        }

        let total = match partial.total {
            Some(t) => t,
            None => match self
                .attempt_unless(sample.is_some(), || exact_total(conn, self.project, self.c))
                .await?
            {
                Outcome::Counted(t) => t,
                Outcome::OverBudget => {
                    let s = self.sample(conn, &mut sample).await?;
                    if !s.whole {
                        estimated.push("total".to_string());
                    }
                    s.scale(s.tally.total)
                }
            },
        };
        let mut lists: Vec<Vec<FacetCount>> = Vec::with_capacity(FACETS.len());
        for (i, (facet, known)) in FACETS.into_iter().zip(partial.facets).enumerate() {
            let list = match known {
                Some(list) => list,
                // Once the budget has run out, the facets left are all estimated: counting
                // them exactly would take the time the budget is there to bound.
                None => match self
                    .attempt_unless(sample.is_some(), || exact(conn, self.project, self.c, facet))
                    .await?
                {
                    Outcome::Counted(list) => list,
                    Outcome::OverBudget => {
                        let s = self.sample(conn, &mut sample).await?;
                        if !s.whole {
                            estimated.push(NAMES[i].to_string());
                        }
                        s.estimate(i)
                    }
                },
            };
            lists.push(list);
        }
        let mut it = lists.into_iter();
        let mut next = || it.next().unwrap_or_default();
        Ok(Facets {
            total,
            status: next(),
            risk_level: next(),
            audit_tier: next(),
            site_type: next(),
            severity: next(),
            pattern_type: next(),
            mitre: next(),
            cwe: next(),
            green_flags: next(),
            changes: next(),
            hidden_findings,
            estimated,
        })
    }

    /// Whether the budget has run out.
    fn over(&self) -> bool {
        self.enforce.load(Ordering::Relaxed) && self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// `count`'s result as [`attempt`](Self::attempt) gives it, or over budget at once
    /// when `skip` (the budget ran out on an earlier facet).
    async fn attempt_unless<T, F, Fut>(&self, skip: bool, count: F) -> Result<Outcome<T>>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        if skip {
            return Ok(Outcome::OverBudget);
        }
        self.attempt(count().await)
    }

    /// A count's result: cancelled, over budget, or what it gave.
    fn attempt<T>(&self, r: Result<T>) -> Result<Outcome<T>> {
        match r {
            Err(_) if self.cancel.load(Ordering::Relaxed) => Err(cancelled()),
            Err(_) if self.over() => Ok(Outcome::OverBudget),
            Err(e) => Err(e),
            Ok(_) if self.over() => Ok(Outcome::OverBudget),
            Ok(v) => Ok(Outcome::Counted(v)),
        }
    }

    /// An error, or the cancellation it stands for.
    fn why(&self, e: Error) -> Error {
        if self.cancel.load(Ordering::Relaxed) {
            cancelled()
        } else {
            e
        }
    }

    /// The sample estimates count (made once per request), the deadline lifted.
    async fn sample<'s>(
        &self,
        conn: &mut SqliteConnection,
        slot: &'s mut Option<Sample>,
    ) -> Result<&'s Sample> {
        self.enforce.store(false, Ordering::Relaxed);
        if slot.is_none() {
            *slot = Some(
                Sample::newest(conn, self.project, self.c, self.terms)
                    .await
                    .map_err(|e| self.why(e))?,
            );
        }
        Ok(slot.as_ref().expect("just made"))
    }
}

fn cancelled() -> Error {
    Error::new(
        ErrorKind::Cancelled,
        "the facet counts were cancelled by a newer request",
    )
}

/// The newest audits of the project, which an estimate counts and scales up.
struct Sample {
    /// What the sample gave under the conditions.
    tally: Tally,
    /// Whether the sample is every audit of the project: then its counts are exact.
    whole: bool,
    /// Audits in the project over audits in the sample.
    ratio: f64,
}

impl Sample {
    /// The newest audits of `project` under `c`, whose search is `terms`, counted.
    async fn newest(
        conn: &mut SqliteConnection,
        project: &str,
        c: &Conditions,
        terms: &[Term],
    ) -> Result<Sample> {
        let (all, everyone): (i64, i64) = sqlx::query_as(
            "SELECT ifnull(sum(CASE WHEN project = ? THEN n END), 0), ifnull(sum(n), 0) \
             FROM facet_totals WHERE kind = 'audit'",
        )
        .bind(project)
        .fetch_one(&mut *conn)
        .await?;
        // The newest audits by rowid: walking the table backwards reads about
        // SAMPLE * everyone / all rows, going through a project index reads and sorts all
        // of the project's. SQLite's planner (3.46) takes the index even for a project that
        // is the whole database, 230 ms at 1,000,000 audits where the walk takes 10.
        let walk = (all as f64) * (all as f64) > (SAMPLE as f64) * (everyone as f64);
        let lo: Option<i64> = sqlx::query_scalar(if walk {
            "SELECT rowid FROM audits NOT INDEXED WHERE project = ? ORDER BY rowid DESC LIMIT 1 OFFSET ?"
        } else {
            "SELECT rowid FROM audits WHERE project = ? ORDER BY rowid DESC LIMIT 1 OFFSET ?"
        })
        .bind(project)
        .bind(SAMPLE - 1)
        .fetch_optional(&mut *conn)
        .await?;
        // Fewer audits than a sample: the sample is the project, and its counts exact.
        let whole = lo.is_none();
        let lo = lo.unwrap_or(i64::MIN);
        let mut restricted = c.clone();
        restricted.sample = Some(lo);
        if !terms.is_empty() {
            // The search is what costs: asked once of the sample, not once per facet, and
            // as the list's walk asks it (query/matching.rs: prefixes as the index's words,
            // each index read over the sample's range of rowids), not as one FTS5 query
            // over the whole index (60 ms for a word at 1,000,000 audits, 2 s for "p").
            // Rows come as one JSON row: sqlx moves rows between threads one at a time.
            let chunk: String = sqlx::query_scalar(
                "SELECT json_group_array(json_array(rowid, id)) FROM audits \
                 WHERE project = ? AND rowid >= ?",
            )
            .bind(project)
            .bind(lo)
            .fetch_one(&mut *conn)
            .await?;
            let chunk: Vec<(i64, String)> = serde_json::from_str(&chunk)?;
            let mut plan = matching::plan(conn, terms).await?;
            let mut hits: Vec<i64> = if plan.none() {
                Vec::new()
            } else {
                matching::matching(conn, &mut plan, &chunk)
                    .await?
                    .into_iter()
                    .collect()
            };
            hits.sort_unstable();
            restricted.matched = Some(serde_json::to_string(&hits)?);
        }
        let in_sample: i64 =
            sqlx::query_scalar("SELECT count(*) FROM audits WHERE project = ? AND rowid >= ?")
                .bind(project)
                .bind(lo)
                .fetch_one(&mut *conn)
                .await?;
        Ok(Sample {
            tally: Tally::count(conn, project, &restricted).await?,
            whole,
            ratio: if !whole && in_sample > 0 {
                all as f64 / in_sample as f64
            } else {
                1.0
            },
        })
    }

    fn scale(&self, n: i64) -> i64 {
        (n as f64 * self.ratio).round() as i64
    }

    /// The estimate of facet `i` (in [`FACETS`] order).
    fn estimate(&self, i: usize) -> Vec<FacetCount> {
        let t = &self.tally.facets[i];
        if FACETS[i] == Facet::GreenFlags {
            let yes = t.get(&Some("yes".to_string())).copied().unwrap_or(0);
            return green(self.scale(yes), self.scale(self.tally.green_all));
        }
        sorted(t.iter().map(|(v, n)| (v.clone(), self.scale(*n))).collect())
    }
}

/// Every facet of a few thousand audits counted in one pass over their rows and facts:
/// one query, where a query per facet (each walking the sample's facts again) took most of
/// an estimate's time.
#[derive(Default)]
struct Tally {
    /// Audits under every condition.
    total: i64,
    /// Per facet (in [`FACETS`] order), audits per value under every condition but the
    /// facet's own; for green flags, the audits with flags under `yes`.
    facets: [BTreeMap<Option<String>, i64>; 10],
    /// The audits under every condition but the green-flag choice (its "no" is these less
    /// "yes").
    green_all: i64,
}

/// One audit of the sample: its audit-level values and its facts.
#[derive(serde::Deserialize)]
struct SampleAudit(
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Option<serde_json::Value>,
    Vec<(serde_json::Value, serde_json::Value)>,
);

/// A stored value as the facets name it: text as it is, a number as its text, else none.
fn named(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Tally {
    /// The audits under `c`'s conditions that no facet leaves out, each checked against the
    /// facets' choices here.
    async fn count(conn: &mut SqliteConnection, project: &str, c: &Conditions) -> Result<Tally> {
        let mut q = QueryBuilder::<Sqlite>::new(
            "SELECT json_group_array(json_array(lower(a.status), a.risk_level, a.audit_tier, \
             a.site_type, json((SELECT json_group_array(json_array(x.kind, x.value)) \
             FROM audit_facts x WHERE x.audit_id = a.id)))) FROM audits a WHERE a.project = ",
        );
        q.push_bind(project.to_string());
        c.push_others(&mut q);
        let json: String = q.build_query_scalar().fetch_one(&mut *conn).await?;
        let audits: Vec<SampleAudit> = serde_json::from_str(&json)?;
        let mut t = Tally::default();
        for a in &audits {
            let dims = [&a.0, &a.1, &a.2, &a.3].map(|v| v.as_ref().and_then(named));
            let facts: Vec<(String, Option<String>)> = a
                .4
                .iter()
                .filter_map(|(k, v)| Some((shown_kind(k.as_str()?, c.include_hidden).to_string(), named(v))))
                .collect();
            let has = |kind: &str, values: &[String]| {
                facts
                    .iter()
                    .any(|(k, v)| k == kind && v.as_ref().is_some_and(|v| values.contains(v)))
            };
            let has_green = facts.iter().any(|(k, _)| k == "green_flags");
            let within = |want: &[String], v: &Option<String>| {
                want.is_empty() || v.as_ref().is_some_and(|v| want.contains(v))
            };
            // Whether the audit meets each facet's own choice, in FACETS order.
            let meets = [
                within(&c.status, &dims[0]),
                within(&c.risk_level, &dims[1]),
                within(&c.audit_tier, &dims[2]),
                within(&c.site_type, &dims[3]),
                c.severity.is_empty() || has("severity", &c.severity),
                c.pattern_type.is_empty() || has("pattern", &c.pattern_type),
                c.mitre.is_empty() || has("mitre", &c.mitre),
                c.cwe.is_empty() || has("cwe", &c.cwe),
                c.green_flags.is_none_or(|want| want == has_green),
                c.changes.is_empty() || has("change", &c.changes),
            ];
            let missed = meets.iter().filter(|m| !**m).count();
            if missed == 0 {
                t.total += 1;
            }
            for (i, facet) in FACETS.into_iter().enumerate() {
                // Counted for this facet when every other facet's choice is met.
                if missed > usize::from(!meets[i]) {
                    continue;
                }
                let tally = &mut t.facets[i];
                if i < 4 {
                    *tally.entry(dims[i].clone()).or_insert(0) += 1;
                } else if facet == Facet::GreenFlags {
                    t.green_all += 1;
                    *tally.entry(Some("yes".to_string())).or_insert(0) += i64::from(has_green);
                } else if let Some(kind) = fact_kind(facet) {
                    let mut values: Vec<&Option<String>> =
                        facts.iter().filter(|(k, _)| k == kind).map(|(_, v)| v).collect();
                    values.sort();
                    values.dedup();
                    for v in values {
                        *tally.entry(v.clone()).or_insert(0) += 1;
                    }
                }
            }
        }
        Ok(t)
    }
}

/// Audits under all the conditions, counted.
async fn exact_total(conn: &mut SqliteConnection, project: &str, c: &Conditions) -> Result<i64> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM audits a WHERE a.project = ");
    q.push_bind(project.to_string());
    c.push(&mut q, Facet::None);
    Ok(q.build_query_scalar().fetch_one(&mut *conn).await?)
}

/// One facet counted from the rows, most frequent first.
async fn exact(
    conn: &mut SqliteConnection,
    project: &str,
    c: &Conditions,
    facet: Facet,
) -> Result<Vec<FacetCount>> {
    let mut q = QueryBuilder::<Sqlite>::new("");
    if facet == Facet::GreenFlags {
        q.push(
            "SELECT count(*) AS n, ifnull(sum(EXISTS (SELECT 1 FROM audit_facts x WHERE x.audit_id = a.id \
             AND x.kind = 'green_flags')), 0) AS yes FROM audits a WHERE a.project = ",
        );
        q.push_bind(project.to_string());
        c.push(&mut q, Facet::GreenFlags);
        let (all, yes): (i64, i64) = q.build_query_as().fetch_one(&mut *conn).await?;
        return Ok(green(yes, all));
    }
    match fact_kind(facet) {
        Some(kind) => {
            // Severities and patterns are facts of their audits too (migration 7); an
            // audit's visible and hidden-only facts of a value never coexist (migration 12).
            let kinds = stored_kinds(kind, c.include_hidden)
                .iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", ");
            q.push(format!(
                "SELECT x.value AS v, count(DISTINCT a.id) AS n FROM audits a \
                 JOIN audit_facts x ON x.audit_id = a.id AND x.kind IN ({kinds}) WHERE a.project = "
            ));
        }
        None => {
            let col = match facet {
                Facet::Status => "lower(a.status)",
                Facet::Risk => "a.risk_level",
                Facet::Tier => "a.audit_tier",
                _ => "a.site_type",
            };
            q.push(format!(
                "SELECT {col} AS v, count(*) AS n FROM audits a WHERE a.project = "
            ));
        }
    }
    q.push_bind(project.to_string());
    c.push(&mut q, facet);
    q.push(" GROUP BY v");
    let rows = q.build().fetch_all(&mut *conn).await?;
    Ok(sorted(
        rows.iter()
            .map(|r| (super::super::text(r, "v"), super::super::int(r, "n").unwrap_or(0)))
            .collect::<BTreeMap<_, _>>(),
    ))
}
