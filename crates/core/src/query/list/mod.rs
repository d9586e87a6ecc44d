//! The audit list: one page at a time, in any column's order, under a filter, with keyset
//! paging; a search walks the list in order instead of collecting every match.
//!
//! - [`filter`]: the filter and its WHERE conditions;
//! - [`cursor`]: keyset paging;
//! - [`facets`]: the sidebar's counts, from [`counts`] (the maintained ones) where they answer;
//! - here: the page itself, and the search walk.

pub(crate) mod counts;
pub(crate) mod cursor;
pub(crate) mod facets;
pub(crate) mod filter;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection, SqlitePool};

use self::cursor::{ordering, push_keyset, Cursor};
pub use self::facets::{facets, facets_with, FacetCount, FacetOptions, Facets};
pub use self::filter::AuditFilter;
use self::filter::{Conditions, Facet};
use super::{audit_from_row, audit_row_from_row, matching, AUDIT_COLUMNS, ROW_COLUMNS};
use crate::error::{Error, Result};
use crate::model::{Audit, AuditRow};
use crate::search::{self, Term};

/// Sort orders of the list: one per column of the audit list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SortKey {
    #[default]
    Created,
    Score,
    Url,
    Status,
    RiskLevel,
    AuditTier,
    SiteType,
    Findings,
    Screenshots,
}

impl SortKey {
    /// The ordering expression. Created, score and url match indexes of migration 0002
    /// exactly; the others are for a person clicking a column header and scan the project.
    fn expr(self) -> &'static str {
        match self {
            SortKey::Created => "COALESCE(a.created_at, '')",
            SortKey::Score => "COALESCE(a.trust_score, -1.0)",
            SortKey::Url => "a.url",
            SortKey::Status => "lower(a.status)",
            SortKey::RiskLevel => "COALESCE(a.risk_level, '')",
            SortKey::AuditTier => "COALESCE(a.audit_tier, '')",
            SortKey::SiteType => "COALESCE(a.site_type, '')",
            SortKey::Findings => "(SELECT count(*) FROM audit_findings f WHERE f.audit_id = a.id)",
            SortKey::Screenshots => "(SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = a.id)",
        }
    }

    /// Whether the sort key is a number (else text); cursors carry it typed.
    pub(crate) fn numeric(self) -> bool {
        matches!(self, SortKey::Score | SortKey::Findings | SortKey::Screenshots)
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Asc,
    #[default]
    Desc,
}

/// One page of the list.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(default)]
pub struct ListRequest {
    pub filter: AuditFilter,
    pub sort: SortKey,
    pub direction: Direction,
    /// Page size, 1 to 500 (default 50).
    pub limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    pub after: Option<String>,
}

/// A page of audits and the cursor of the next page, if there is one.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditPage {
    pub audits: Vec<Audit>,
    pub next_cursor: Option<String>,
}

/// A page of list rows (what the list view shows) and the cursor of the next page.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRowPage {
    pub audits: Vec<AuditRow>,
    pub next_cursor: Option<String>,
}

const MAX_LIMIT: u32 = 500;

/// What a page's rows are read as: the columns selected and how a row is decoded.
pub(crate) struct Shape<T> {
    columns: &'static str,
    decode: fn(&SqliteRow) -> T,
}

/// List pages of whole audits (every column).
pub(crate) const AS_AUDITS: Shape<Audit> = Shape {
    columns: AUDIT_COLUMNS,
    decode: audit_from_row,
};

/// List pages of the list view's rows.
pub(crate) const AS_ROWS: Shape<AuditRow> = Shape {
    columns: ROW_COLUMNS,
    decode: audit_row_from_row,
};

/// A page of rows in `shape` and the cursor after it.
pub(crate) async fn list_page<T>(
    pool: &SqlitePool,
    project: &str,
    req: &ListRequest,
    shape: &Shape<T>,
) -> Result<(Vec<T>, Option<String>)> {
    let limit = req.limit.unwrap_or(50);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::invalid(
            format!("limit {limit}"),
            format!("must be 1 to {MAX_LIMIT}"),
        ));
    }
    let after = req
        .after
        .as_deref()
        .map(|c| Cursor::decode(c, req.sort))
        .transpose()?;
    let conditions = Conditions::check(&req.filter)?;
    let terms = req
        .filter
        .search
        .as_deref()
        .map(search::terms)
        .unwrap_or_default();
    if !terms.is_empty() {
        let mut conn = pool.acquire().await?;
        let others = conditions.without_search();
        let walk = Walk {
            project,
            req,
            conditions: &others,
            limit,
            terms: &terms,
        };
        if let Some(page) = walk.run(&mut conn, after.clone(), shape).await? {
            return Ok(page);
        }
        // Matches are sparse: collecting them all is cheaper than walking on.
    }
    let (expr, dir, cmp) = ordering(req);
    let mut q = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {}, {expr} AS sort_key FROM audits a WHERE a.project = ",
        shape.columns
    ));
    q.push_bind(project.to_string());
    conditions.push(&mut q, Facet::None);
    push_keyset(&mut q, after.as_ref(), expr, cmp);
    q.push(format!(" ORDER BY {expr} {dir}, a.id {dir} LIMIT "))
        .push_bind(limit + 1);
    let rows: Vec<SqliteRow> = q.build().fetch_all(pool).await?;
    let more = rows.len() > limit as usize;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Some(Cursor::after(last, req.sort).encode()),
        _ => None,
    };
    Ok((rows.iter().map(shape.decode).collect(), next_cursor))
}

/// A search page found by walking the list (every other filter applied) in its order, a
/// chunk at a time, keeping the audits that match, until the page is full.
struct Walk<'a> {
    project: &'a str,
    req: &'a ListRequest,
    /// Every condition but the search.
    conditions: &'a Conditions,
    limit: u32,
    terms: &'a [Term],
}

impl Walk<'_> {
    /// The page, or `None` when [`matching::WALK_BUDGET`] audits were walked without
    /// filling it: the matches are sparse, and the caller collects them instead.
    async fn run<T>(
        &self,
        conn: &mut SqliteConnection,
        mut after: Option<Cursor>,
        shape: &Shape<T>,
    ) -> Result<Option<(Vec<T>, Option<String>)>> {
        let (expr, dir, cmp) = ordering(self.req);
        let limit = self.limit as usize;
        let mut plan = matching::plan(conn, self.terms).await?;
        if plan.none() {
            return Ok(Some((Vec::new(), None)));
        }
        // Found so far, in list order: rowid and the cursor after it.
        let mut found: Vec<(i64, Cursor)> = Vec::new();
        let mut chunk = 128u32;
        let mut walked = 0usize;
        while found.len() <= limit {
            if walked >= matching::WALK_BUDGET {
                return Ok(None);
            }
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT a.rowid AS r, a.id, {expr} AS sort_key FROM audits a WHERE a.project = "
            ));
            q.push_bind(self.project.to_string());
            self.conditions.push(&mut q, Facet::None);
            push_keyset(&mut q, after.take().as_ref(), expr, cmp);
            q.push(format!(" ORDER BY {expr} {dir}, a.id {dir} LIMIT "))
                .push_bind(chunk);
            let rows: Vec<SqliteRow> = q.build().fetch_all(&mut *conn).await?;
            let ids: Vec<(i64, String)> = rows
                .iter()
                .map(|r| {
                    (
                        r.get::<i64, _>("r"),
                        r.try_get_unchecked("id").unwrap_or_default(),
                    )
                })
                .collect();
            walked += ids.len();
            let hits = matching::matching(conn, &mut plan, &ids).await?;
            for (row, (rowid, _)) in rows.iter().zip(&ids) {
                if hits.contains(rowid) {
                    found.push((*rowid, Cursor::after(row, self.req.sort)));
                }
            }
            match rows.last() {
                Some(last) if rows.len() == chunk as usize => {
                    after = Some(Cursor::after(last, self.req.sort))
                }
                _ => break, // the end of the list
            }
            // Matches may be sparse further on: read more at a time.
            chunk *= 2;
        }
        let more = found.len() > limit;
        found.truncate(limit);
        let rowids: Vec<i64> = found.iter().map(|(r, _)| *r).collect();
        let rows: Vec<SqliteRow> = sqlx::query(&format!(
            "SELECT {}, a.rowid AS r FROM audits a WHERE a.rowid IN (SELECT value FROM json_each(?))",
            shape.columns
        ))
        .bind(serde_json::to_string(&rowids)?)
        .fetch_all(&mut *conn)
        .await?;
        let mut by_rowid: HashMap<i64, T> = rows
            .iter()
            .map(|r| (r.get::<i64, _>("r"), (shape.decode)(r)))
            .collect();
        let next_cursor = match (more, found.last()) {
            (true, Some((_, c))) => Some(c.encode()),
            _ => None,
        };
        // A row deleted meanwhile is simply left out.
        let audits = rowids.iter().filter_map(|r| by_rowid.remove(r)).collect();
        Ok(Some((audits, next_cursor)))
    }
}
