//! Facet counts read from the counts the triggers of migrations 7 and 8 maintain
//! (`facet_counts`, `facet_totals`, `facet_scores`, `facet_pairs`), instead of counting audits: a few thousand summed rows whatever the
//! number of audits.
//!
//! The maintained counts answer a facet when the filter is made of what they are kept by:
//! the audit-level facets (status, risk level, tier, site type), a score range with whole
//! bounds, and at most one value of one finding-level facet (severity, pattern, MITRE, CWE,
//! green flags) besides the facet being counted. Anything else (a search, a date range, a
//! url, two finding-level values) is counted from the rows by the caller.

use std::collections::BTreeMap;

use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::facets::FacetCount;
use super::filter::{Conditions, Facet};
use crate::error::Result;

/// The facets in the order of [`Facets`](super::Facets)' fields.
pub(super) const FACETS: [Facet; 10] = [
    Facet::Status,
    Facet::Risk,
    Facet::Tier,
    Facet::SiteType,
    Facet::Severity,
    Facet::Pattern,
    Facet::Mitre,
    Facet::Cwe,
    Facet::GreenFlags,
    Facet::Changes,
];

/// The `audit_facts` kind of a finding-level facet.
pub(super) fn fact_kind(facet: Facet) -> Option<&'static str> {
    Some(match facet {
        Facet::Severity => "severity",
        Facet::Pattern => "pattern",
        Facet::Mitre => "mitre",
        Facet::Cwe => "cwe",
        Facet::GreenFlags => "green_flags",
        Facet::Changes => "change",
        _ => return None,
    })
}

/// The kinds of `audit_facts` a finding-level facet of `kind` reads: with the hidden
/// findings, also the facts only triaged-away findings give (migration 12). An audit never
/// has both kinds of one value, so their counts add up.
pub(super) fn stored_kinds(kind: &'static str, include_hidden: bool) -> Vec<&'static str> {
    match (kind, include_hidden) {
        ("severity", true) => vec!["severity", "severity_hidden"],
        ("pattern", true) => vec!["pattern", "pattern_hidden"],
        _ => vec![kind],
    }
}

/// The facet kind a stored fact counts as: with the hidden findings, a hidden-only fact
/// counts as its visible kind; without them it is a kind no facet reads.
pub(super) fn shown_kind(stored: &str, include_hidden: bool) -> &str {
    match (stored, include_hidden) {
        ("severity_hidden", true) => "severity",
        ("pattern_hidden", true) => "pattern",
        _ => stored,
    }
}

/// A finding-level condition of the filter: audits with (or, for "no green flags",
/// without) one of `values` of `kind`.
struct Multi<'a> {
    facet: Facet,
    kind: &'static str,
    values: &'a [String],
    negated: bool,
}

fn multis(c: &Conditions) -> Vec<Multi<'_>> {
    let mut out = Vec::new();
    for (facet, values) in [
        (Facet::Severity, &c.severity),
        (Facet::Pattern, &c.pattern_type),
        (Facet::Mitre, &c.mitre),
        (Facet::Cwe, &c.cwe),
        (Facet::Changes, &c.changes),
    ] {
        if !values.is_empty() {
            out.push(Multi {
                facet,
                kind: fact_kind(facet).unwrap_or_default(),
                values,
                negated: false,
            });
        }
    }
    if let Some(want) = c.green_flags {
        out.push(Multi {
            facet: Facet::GreenFlags,
            kind: "green_flags",
            values: &[],
            negated: !want,
        });
    }
    out
}

impl Multi<'_> {
    /// The one fact this condition asks for, if it asks for one (several values are an
    /// OR, which per-value counts cannot add up without counting audits twice).
    fn single(&self) -> Option<(&'static str, &str, bool)> {
        match (self.facet, self.values) {
            (Facet::GreenFlags, _) => Some((self.kind, "yes", self.negated)),
            (_, [v]) => Some((self.kind, v.as_str(), self.negated)),
            _ => None,
        }
    }
}

/// A summed row of `facet_counts` under the score range.
struct CubeRow {
    kind: String,
    value: Option<String>,
    /// status, risk level, tier, site type (NULL where the audit has none).
    dims: [Option<String>; 4],
    n: i64,
}

/// What the maintained counts could answer: per facet (in [`FACETS`] order) and the total,
/// `None` where the caller must count from the rows.
#[derive(Default)]
pub(super) struct Partial {
    pub(super) total: Option<i64>,
    pub(super) facets: [Option<Vec<FacetCount>>; 10],
}

/// Whether the counts can say anything at all under `c`: no search, dates, url or triage state, and
/// score bounds that are whole numbers (the counts keep whole scores).
fn answerable(c: &Conditions) -> bool {
    let whole = |b: Option<f64>| b.is_none_or(|v| v.fract() == 0.0 && v.abs() < 1e15);
    c.search.is_none()
        && c.url_like.is_none()
        && !c.untriaged
        && c.created_from.is_none()
        && c.created_before.is_none()
        && whole(c.min_score)
        && whole(c.max_score)
}

/// The facets the maintained counts answer under `c`.
pub(super) async fn from_counts(
    conn: &mut SqliteConnection,
    project: &str,
    c: &Conditions,
) -> Result<Partial> {
    let mut out = Partial::default();
    if !answerable(c) {
        return Ok(out);
    }
    let ms = multis(c);
    let only_scores = ms.is_empty()
        && c.status.is_empty()
        && c.risk_level.is_empty()
        && c.audit_tier.is_empty()
        && c.site_type.is_empty();
    if only_scores && (c.min_score.is_some() || c.max_score.is_some()) {
        return from_scores(conn, project, c).await;
    }
    let cube = cube_rows(conn, project, c).await?;
    let has_audit_conditions = !(c.status.is_empty()
        && c.risk_level.is_empty()
        && c.audit_tier.is_empty()
        && c.site_type.is_empty()
        && c.min_score.is_none()
        && c.max_score.is_none());

    // The total and the audit-level facets: under every finding-level condition, which
    // must be one fact at most.
    let only = match ms.as_slice() {
        [] => Some(None),
        [m] => m.single().map(Some),
        _ => None,
    };
    if let Some(only) = only {
        let tally = |skip: Facet, dim: Option<usize>| -> BTreeMap<Option<String>, i64> {
            let mut t = BTreeMap::new();
            for r in &cube {
                if !matches_dims(r, c, skip) {
                    continue;
                }
                let sign = match only {
                    None => i64::from(r.kind == "audit"),
                    Some((kind, value, negated)) => {
                        let is_fact = r.kind == kind && r.value.as_deref() == Some(value);
                        if negated {
                            i64::from(r.kind == "audit") - i64::from(is_fact)
                        } else {
                            i64::from(is_fact)
                        }
                    }
                };
                if sign != 0 {
                    *t.entry(dim.and_then(|d| r.dims[d].clone())).or_insert(0) += sign * r.n;
                }
            }
            t
        };
        out.total = Some(tally(Facet::None, None).values().sum());
        for (i, facet) in [Facet::Status, Facet::Risk, Facet::Tier, Facet::SiteType]
            .into_iter()
            .enumerate()
        {
            out.facets[i] = Some(sorted(tally(facet, Some(i))));
        }
    }

    // The finding-level facets: under the other finding-level conditions.
    for (i, facet) in FACETS.into_iter().enumerate().skip(4) {
        let Some(kind) = fact_kind(facet) else { continue };
        let others: Vec<&Multi> = ms.iter().filter(|m| m.facet != facet).collect();
        let counts = match others.as_slice() {
            [] => Some(fact_tally(&cube, c, kind)),
            // Pairs are kept per project only: with audit-level conditions, count the rows.
            [m] if !has_audit_conditions => match m.single() {
                Some((k2, v2, negated)) => {
                    let with = pairs(conn, project, k2, v2, kind, c.include_hidden).await?;
                    Some(if negated {
                        // Audits with the value, less those that also have the other fact.
                        let mut all = fact_tally(&cube, c, kind);
                        for (v, n) in with {
                            *all.entry(v).or_insert(0) -= n;
                        }
                        all
                    } else {
                        with
                    })
                }
                None => None,
            },
            _ => None,
        };
        out.facets[i] = counts.map(|t| {
            if facet == Facet::GreenFlags {
                // "yes" is counted; "no" is the rest of the audits under the same conditions.
                let yes = t.get(&Some("yes".to_string())).copied().unwrap_or(0);
                let all = audits_under(&cube, c, others.first().and_then(|m| m.single()));
                green(yes, all)
            } else {
                sorted(t)
            }
        });
    }
    Ok(out)
}

/// Every facet under a score range and nothing else, from `facet_scores` (migration 8): a
/// row per facet value and score instead of the whole cube under the range.
async fn from_scores(conn: &mut SqliteConnection, project: &str, c: &Conditions) -> Result<Partial> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT facet, nullif(value, x'') AS value, sum(n) AS n FROM facet_scores WHERE project = ",
    );
    q.push_bind(project.to_string());
    push_score_range(&mut q, c);
    q.push(" GROUP BY facet, value HAVING sum(n) <> 0");
    let rows = q.build().fetch_all(&mut *conn).await?;
    let mut by_facet: BTreeMap<String, BTreeMap<Option<String>, i64>> = BTreeMap::new();
    for r in &rows {
        let stored: String = r.try_get("facet").unwrap_or_default();
        let facet = shown_kind(&stored, c.include_hidden).to_string();
        let value: Option<String> = r.try_get("value").ok().flatten();
        *by_facet.entry(facet).or_default().entry(value).or_insert(0) +=
            r.try_get::<i64, _>("n").unwrap_or(0);
    }
    let mut take = |name: &str| by_facet.remove(name).unwrap_or_default();
    let total: i64 = take("audit").values().sum();
    let mut out = Partial {
        total: Some(total),
        ..Partial::default()
    };
    for (i, name) in ["status", "risk_level", "audit_tier", "site_type"]
        .into_iter()
        .enumerate()
    {
        out.facets[i] = Some(sorted(take(name)));
    }
    for (i, facet) in FACETS.into_iter().enumerate().skip(4) {
        let Some(kind) = fact_kind(facet) else { continue };
        let t = take(kind);
        out.facets[i] = Some(if facet == Facet::GreenFlags {
            green(t.get(&Some("yes".to_string())).copied().unwrap_or(0), total)
        } else {
            sorted(t)
        });
    }
    Ok(out)
}

/// The score range on the kept `score` and `whole` columns. Scores are kept as their floor
/// and whether they are whole; a score that is no number ('t') passes any lower bound and
/// no upper one, as `trust_score >= ?` does on text.
fn push_score_range(q: &mut QueryBuilder<'_, Sqlite>, c: &Conditions) {
    if let Some(min) = c.min_score {
        q.push(" AND (score = 't' OR (typeof(score) = 'integer' AND score >= ")
            .push_bind(min)
            .push("))");
    }
    if let Some(max) = c.max_score {
        q.push(" AND typeof(score) = 'integer' AND (score < ")
            .push_bind(max)
            .push(" OR (score = ")
            .push_bind(max)
            .push(" AND whole = 1))");
    }
}

/// The summed counts of the project under the score range, per fact and audit-level
/// combination (a few thousand rows however many audits there are). Without a score range
/// they come summed already from `facet_totals` (migration 8).
///
/// They come back as one JSON array in one row: sqlx hands each row of a result from its
/// SQLite worker thread to the caller's task on its own, a thread switch a row, which made
/// 7,000 rows take 70 ms where SQLite reads them in 5.
async fn cube_rows(conn: &mut SqliteConnection, project: &str, c: &Conditions) -> Result<Vec<CubeRow>> {
    // A value that is no text (x'' for none, or a number another program stored) is none,
    // as decoding it as text would say.
    let text = |col: &str| format!("CASE WHEN typeof({col}) = 'text' THEN {col} END");
    let mut q = QueryBuilder::<Sqlite>::new(format!(
        "SELECT json_group_array(json_array({}, {}, {}, {}, {}, {}, n)) FROM (",
        text("kind"),
        text("value"),
        text("status"),
        text("risk_level"),
        text("audit_tier"),
        text("site_type"),
    ));
    if c.min_score.is_none() && c.max_score.is_none() {
        q.push(
            "SELECT kind, value, status, risk_level, audit_tier, site_type, n FROM facet_totals \
             WHERE n <> 0 AND project = ",
        )
        .push_bind(project.to_string());
    } else {
        q.push(
            "SELECT kind, value, status, risk_level, audit_tier, site_type, sum(n) AS n \
             FROM facet_counts WHERE project = ",
        )
        .push_bind(project.to_string());
        push_score_range(&mut q, c);
        q.push(" GROUP BY kind, value, status, risk_level, audit_tier, site_type HAVING sum(n) <> 0");
    }
    q.push(")");
    let json: String = q.build_query_scalar().fetch_one(&mut *conn).await?;
    let rows: Vec<[serde_json::Value; 7]> = serde_json::from_str(&json)?;
    let text = |v: &serde_json::Value| v.as_str().map(str::to_string);
    Ok(rows
        .iter()
        .map(|r| CubeRow {
            kind: shown_kind(&text(&r[0]).unwrap_or_default(), c.include_hidden).to_string(),
            value: text(&r[1]),
            dims: [text(&r[2]), text(&r[3]), text(&r[4]), text(&r[5])],
            n: r[6].as_i64().unwrap_or(0),
        })
        .collect())
}

/// Whether a summed row meets the audit-level conditions, `skip`'s own left out.
fn matches_dims(r: &CubeRow, c: &Conditions, skip: Facet) -> bool {
    [
        (Facet::Status, &c.status),
        (Facet::Risk, &c.risk_level),
        (Facet::Tier, &c.audit_tier),
        (Facet::SiteType, &c.site_type),
    ]
    .iter()
    .enumerate()
    .all(|(i, (facet, want))| {
        *facet == skip || want.is_empty() || r.dims[i].as_ref().is_some_and(|v| want.contains(v))
    })
}

/// Audits per value of `kind` under the audit-level conditions.
fn fact_tally(cube: &[CubeRow], c: &Conditions, kind: &str) -> BTreeMap<Option<String>, i64> {
    let mut t = BTreeMap::new();
    for r in cube
        .iter()
        .filter(|r| r.kind == kind && matches_dims(r, c, Facet::None))
    {
        *t.entry(r.value.clone()).or_insert(0) += r.n;
    }
    t
}

/// Audits under the audit-level conditions and (if given) one fact or its absence.
fn audits_under(cube: &[CubeRow], c: &Conditions, fact: Option<(&str, &str, bool)>) -> i64 {
    cube.iter()
        .filter(|r| matches_dims(r, c, Facet::None))
        .map(|r| {
            let audit = i64::from(r.kind == "audit");
            match fact {
                None => audit * r.n,
                Some((k, v, negated)) => {
                    let is_fact = i64::from(r.kind == k && r.value.as_deref() == Some(v));
                    if negated {
                        (audit - is_fact) * r.n
                    } else {
                        is_fact * r.n
                    }
                }
            }
        })
        .sum()
}

/// Audits per value of `kind2` among the audits with fact (`kind`, `value`), each kind
/// read as [`stored_kinds`] says.
async fn pairs(
    conn: &mut SqliteConnection,
    project: &str,
    kind: &'static str,
    value: &str,
    kind2: &'static str,
    include_hidden: bool,
) -> Result<BTreeMap<Option<String>, i64>> {
    let mut q = QueryBuilder::<Sqlite>::new("SELECT value2, sum(n) AS n FROM facet_pairs WHERE project = ");
    q.push_bind(project.to_string());
    q.push(" AND value = ").push_bind(value.to_string());
    for (column, kind) in [("kind", kind), ("kind2", kind2)] {
        q.push(format!(" AND {column} IN ("));
        let mut list = q.separated(", ");
        for k in stored_kinds(kind, include_hidden) {
            list.push_bind(k);
        }
        q.push(")");
    }
    q.push(" GROUP BY value2 HAVING sum(n) <> 0");
    let rows = q.build().fetch_all(&mut *conn).await?;
    let mut out = BTreeMap::new();
    for r in &rows {
        *out.entry(r.try_get("value2").ok()).or_insert(0) += r.try_get::<i64, _>("n").unwrap_or(0);
    }
    Ok(out)
}

/// Counts most frequent first, values without a name (NULL) and empty counts left out.
pub(crate) fn sorted(t: BTreeMap<Option<String>, i64>) -> Vec<FacetCount> {
    let mut v: Vec<FacetCount> = t
        .into_iter()
        .filter_map(|(value, count)| Some(FacetCount { value: value?, count }).filter(|f| f.count > 0))
        .collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    v
}

/// The green-flag facet from the audits with flags among `all`.
pub(crate) fn green(yes: i64, all: i64) -> Vec<FacetCount> {
    [("yes", yes), ("no", all - yes)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(v, n)| FacetCount {
            value: v.to_string(),
            count: n,
        })
        .collect()
}
