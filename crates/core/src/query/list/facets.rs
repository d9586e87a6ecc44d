//! Facet counts for the sidebar: how many audits each value of six facets would give under
//! the current filter, each facet leaving out its own choice.

use serde::Serialize;
use sqlx::{QueryBuilder, Sqlite, SqlitePool};

use super::filter::{AuditFilter, Conditions, Facet};
use crate::error::Result;

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
}

/// Facet counts for `project` under `filter`.
pub async fn facets(pool: &SqlitePool, project: &str, filter: &AuditFilter) -> Result<Facets> {
    let c = Conditions::check(filter)?;
    let mut q = QueryBuilder::<Sqlite>::new("SELECT count(*) FROM audits a WHERE a.project = ");
    q.push_bind(project.to_string());
    c.push(&mut q, Facet::None);
    let total: i64 = q.build_query_scalar().fetch_one(pool).await?;
    Ok(Facets {
        total,
        status: counts(pool, project, &c, Facet::Status).await?,
        risk_level: counts(pool, project, &c, Facet::Risk).await?,
        audit_tier: counts(pool, project, &c, Facet::Tier).await?,
        site_type: counts(pool, project, &c, Facet::SiteType).await?,
        severity: counts(pool, project, &c, Facet::Severity).await?,
        pattern_type: counts(pool, project, &c, Facet::Pattern).await?,
        mitre: counts(pool, project, &c, Facet::Mitre).await?,
        cwe: counts(pool, project, &c, Facet::Cwe).await?,
        green_flags: green_flag_counts(pool, project, &c).await?,
    })
}

/// Audits with and without green flags under the filter (its own choice left out).
async fn green_flag_counts(pool: &SqlitePool, project: &str, c: &Conditions) -> Result<Vec<FacetCount>> {
    let mut q = QueryBuilder::<Sqlite>::new(
        "SELECT count(*) AS n, sum(EXISTS (SELECT 1 FROM audit_facts x WHERE x.audit_id = a.id \
         AND x.kind = 'green_flags')) AS yes FROM audits a WHERE a.project = ",
    );
    q.push_bind(project.to_string());
    c.push(&mut q, Facet::GreenFlags);
    let row = q.build().fetch_one(pool).await?;
    let all = super::super::int(&row, "n").unwrap_or(0);
    let yes = super::super::int(&row, "yes").unwrap_or(0);
    Ok([("yes", yes), ("no", all - yes)]
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(v, n)| FacetCount {
            value: v.to_string(),
            count: n,
        })
        .collect())
}

/// The counts of one facet, most frequent first.
async fn counts(pool: &SqlitePool, project: &str, c: &Conditions, facet: Facet) -> Result<Vec<FacetCount>> {
    let mut q = QueryBuilder::<Sqlite>::new("");
    match facet {
        Facet::Mitre | Facet::Cwe => {
            let kind = if facet == Facet::Mitre { "mitre" } else { "cwe" };
            q.push(format!(
                "SELECT x.value AS v, count(DISTINCT a.id) AS n FROM audits a \
                 JOIN audit_facts x ON x.audit_id = a.id AND x.kind = '{kind}' WHERE a.project = "
            ));
        }
        Facet::Severity | Facet::Pattern => {
            let col = if facet == Facet::Severity {
                "lower(g.severity)"
            } else {
                "g.pattern_type"
            };
            q.push(format!(
                "SELECT {col} AS v, count(DISTINCT a.id) AS n FROM audits a \
                 JOIN audit_findings g ON g.audit_id = a.id WHERE a.project = "
            ));
        }
        _ => {
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
    q.push(" GROUP BY v ORDER BY n DESC, v");
    let rows = q.build().fetch_all(pool).await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let value = super::super::text(r, "v")?;
            Some(FacetCount {
                value,
                count: super::super::int(r, "n").unwrap_or(0),
            })
        })
        .collect())
}
