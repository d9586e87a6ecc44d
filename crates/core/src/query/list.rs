//! The audit list: filters, sort orders, keyset pagination and facet counts.

use std::collections::HashMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Arguments, Row, SqliteConnection, SqlitePool};

use super::{audit_from_row, audit_row_from_row, matching, AUDIT_COLUMNS, ROW_COLUMNS};
use crate::error::{Error, Result};
use crate::model::{Audit, AuditRow, AuditStatus};
use crate::search::{self, fts_query, Term};

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
}

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
    fn numeric(self) -> bool {
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
}

const MAX_LIMIT: u32 = 500;

/// A WHERE clause and its parameters, built up from a filter. Parameters are always
/// bound, never inlined.
#[derive(Default)]
struct Conditions {
    sql: Vec<String>,
    args: Vec<Value>,
}

impl Conditions {
    fn push(&mut self, sql: impl Into<String>, args: impl IntoIterator<Item = Value>) {
        self.sql.push(sql.into());
        self.args.extend(args);
    }

    fn any_of(&mut self, expr: &str, values: &[String]) {
        if values.is_empty() {
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.push(format!("{expr} IN ({marks})"), values.iter().map(|v| json!(v)));
    }

    fn where_clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" AND {}", self.sql.join(" AND "))
        }
    }

    fn arguments(&self, project: &str, extra: &[Value]) -> Result<SqliteArguments<'static>> {
        let mut args = SqliteArguments::default();
        let mut add = |v: &Value| -> Result<()> {
            match v {
                Value::String(s) => args.add(s.clone()),
                Value::Number(n) if n.is_i64() => args.add(n.as_i64()),
                Value::Number(n) => args.add(n.as_f64()),
                _ => args.add(Option::<String>::None),
            }
            .map_err(|e| Error::invalid("query parameter", e))
        };
        add(&json!(project))?;
        self.args.iter().chain(extra).try_for_each(&mut add)?;
        Ok(args)
    }
}

/// Which facet's own filter to leave out.
#[derive(Clone, Copy, PartialEq)]
enum Facet {
    None,
    Status,
    Risk,
    Tier,
    SiteType,
    Severity,
    Pattern,
}

fn conditions(filter: &AuditFilter, skip: Facet) -> Result<Conditions> {
    let mut c = Conditions::default();
    if skip != Facet::Status && !filter.status.is_empty() {
        let st: Vec<String> = filter.status.iter().map(|s| s.as_str().to_string()).collect();
        c.any_of("lower(a.status)", &st);
    }
    if skip != Facet::Risk {
        c.any_of("a.risk_level", &filter.risk_level);
    }
    if skip != Facet::Tier {
        c.any_of("a.audit_tier", &filter.audit_tier);
    }
    if skip != Facet::SiteType {
        c.any_of("a.site_type", &filter.site_type);
    }
    let severities: Vec<String> = filter.severity.iter().map(|s| s.to_lowercase()).collect();
    for (facet, column, values) in [
        (Facet::Severity, "lower(f.severity)", &severities),
        (Facet::Pattern, "f.pattern_type", &filter.pattern_type),
    ] {
        if skip != facet && !values.is_empty() {
            let marks = vec!["?"; values.len()].join(", ");
            c.push(
                format!("EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = a.id AND {column} IN ({marks}))"),
                values.iter().map(|v| json!(v)),
            );
        }
    }
    for (bound, op) in [(filter.min_score, ">="), (filter.max_score, "<=")] {
        if let Some(v) = bound {
            if !v.is_finite() {
                return Err(Error::invalid("score bound", "must be a number"));
            }
            c.push(format!("a.trust_score {op} ?"), [json!(v)]);
        }
    }
    if let Some(from) = &filter.created_from {
        let t = crate::time::bound_text(from)
            .ok_or_else(|| Error::invalid(format!("created_from {from:?}"), "not a date or time"))?;
        c.push("COALESCE(a.created_at, '') >= ?", [json!(t)]);
    }
    if let Some(to) = &filter.created_to {
        let mut t = crate::time::parse(to)
            .ok_or_else(|| Error::invalid(format!("created_to {to:?}"), "not a date or time"))?;
        if to.trim().len() <= 10 {
            // A bare date means up to the end of that day.
            t += chrono::Duration::days(1);
        }
        c.push("COALESCE(a.created_at, '') < ?", [json!(crate::time::to_text(t))]);
    }
    if let Some(q) = filter.search.as_deref().and_then(fts_query) {
        c.push(
            "(a.rowid IN (SELECT rowid FROM audits_fts WHERE audits_fts MATCH ?)
              OR a.id IN (SELECT f.audit_id FROM findings_fts JOIN audit_findings f ON f.id = findings_fts.rowid
                          WHERE findings_fts MATCH ?))",
            [json!(q), json!(q)],
        );
    }
    if let Some(sub) = filter.url_contains.as_deref().filter(|s| !s.is_empty()) {
        let escaped = sub.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        c.push("a.url LIKE ? ESCAPE '\\'", [json!(format!("%{escaped}%"))]);
    }
    Ok(c)
}

fn encode_cursor(key: Value, id: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json!([key, id]).to_string())
}

fn decode_cursor(cursor: &str, sort: SortKey) -> Result<(Value, String)> {
    let bad = || Error::invalid(format!("cursor {cursor:?}"), "not a cursor this list gave out");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    match v.as_array().map(Vec::as_slice) {
        Some([key, Value::String(id)]) => {
            let fits = if sort.numeric() {
                key.is_number()
            } else {
                key.is_string()
            };
            if fits {
                Ok((key.clone(), id.clone()))
            } else {
                Err(bad())
            }
        }
        _ => Err(bad()),
    }
}

/// The ordering parts of a list query: the sort expression, its direction and the keyset
/// comparison for "after the cursor".
fn ordering(req: &ListRequest) -> (&'static str, &'static str, &'static str) {
    let (dir, cmp) = match req.direction {
        Direction::Desc => ("DESC", "<"),
        Direction::Asc => ("ASC", ">"),
    };
    (req.sort.expr(), dir, cmp)
}

/// The keyset condition for "after the cursor" and its two parameters (none without one).
fn keyset_condition(after: Option<(Value, String)>, expr: &str, cmp: &str) -> (String, Vec<Value>) {
    match after {
        Some((key, id)) => (format!(" AND ({expr}, a.id) {cmp} (?, ?)"), vec![key, json!(id)]),
        None => (String::new(), Vec::new()),
    }
}

/// The cursor of the list after `row` (which has `id` and `sort_key` columns).
fn cursor_after(row: &SqliteRow, sort: SortKey) -> (Value, String) {
    let key = if sort.numeric() {
        json!(row.try_get_unchecked::<f64, _>("sort_key").unwrap_or(-1.0))
    } else {
        json!(row.try_get_unchecked::<String, _>("sort_key").unwrap_or_default())
    };
    (key, row.try_get_unchecked("id").unwrap_or_default())
}

/// What a page's rows are read as: the columns selected and how a row is decoded.
struct Shape<T> {
    columns: &'static str,
    decode: fn(&SqliteRow) -> T,
}

/// One page of audits of `project`, every column.
pub async fn list_audits(pool: &SqlitePool, project: &str, req: &ListRequest) -> Result<AuditPage> {
    let shape = Shape {
        columns: AUDIT_COLUMNS,
        decode: audit_from_row,
    };
    let (audits, next_cursor) = list_page(pool, project, req, &shape).await?;
    Ok(AuditPage { audits, next_cursor })
}

/// One page of the list of `project`, as the list view's rows.
pub async fn list_audit_rows(pool: &SqlitePool, project: &str, req: &ListRequest) -> Result<AuditRowPage> {
    let shape = Shape {
        columns: ROW_COLUMNS,
        decode: audit_row_from_row,
    };
    let (audits, next_cursor) = list_page(pool, project, req, &shape).await?;
    Ok(AuditRowPage { audits, next_cursor })
}

/// A page of rows in `shape` and the cursor after it.
async fn list_page<T>(
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
        .map(|c| decode_cursor(c, req.sort))
        .transpose()?;
    let terms = req
        .filter
        .search
        .as_deref()
        .map(search::terms)
        .unwrap_or_default();
    if !terms.is_empty() {
        let mut conn = pool.acquire().await?;
        if let Some(page) = walk_matches(&mut conn, project, req, limit, after.clone(), &terms, shape).await?
        {
            return Ok(page);
        }
        // Matches are sparse: collecting them all is cheaper than walking on.
    }
    let c = conditions(&req.filter, Facet::None)?;
    let (expr, dir, cmp) = ordering(req);
    let (keyset, mut extra) = keyset_condition(after, expr, cmp);
    extra.push(json!(limit + 1));
    let sql = format!(
        "SELECT {}, {expr} AS sort_key FROM audits a
         WHERE a.project = ?{}{keyset}
         ORDER BY {expr} {dir}, a.id {dir} LIMIT ?",
        shape.columns,
        c.where_clause()
    );
    let rows: Vec<SqliteRow> = sqlx::query_with(&sql, c.arguments(project, &extra)?)
        .fetch_all(pool)
        .await?;
    let more = rows.len() > limit as usize;
    let rows = &rows[..rows.len().min(limit as usize)];
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => {
            let (key, id) = cursor_after(last, req.sort);
            Some(encode_cursor(key, &id))
        }
        _ => None,
    };
    Ok((rows.iter().map(shape.decode).collect(), next_cursor))
}

/// A page of a search, found by walking the list (every other filter applied) in its order,
/// a chunk at a time, keeping the audits that match, until the page is full. `None` when
/// [`matching::WALK_BUDGET`] audits were walked without filling the page: the matches are
/// sparse, and the caller collects them instead.
async fn walk_matches<T>(
    conn: &mut SqliteConnection,
    project: &str,
    req: &ListRequest,
    limit: u32,
    mut after: Option<(Value, String)>,
    terms: &[Term],
    shape: &Shape<T>,
) -> Result<Option<(Vec<T>, Option<String>)>> {
    let others = AuditFilter {
        search: None,
        ..req.filter.clone()
    };
    let c = conditions(&others, Facet::None)?;
    let (expr, dir, cmp) = ordering(req);
    let mut plan = matching::plan(conn, terms).await?;
    if plan.none() {
        return Ok(Some((Vec::new(), None)));
    }
    // Found so far, in list order: rowid and the cursor after it.
    let mut found: Vec<(i64, (Value, String))> = Vec::new();
    let mut chunk = 128u32;
    let mut walked = 0usize;
    while found.len() <= limit as usize {
        if walked >= matching::WALK_BUDGET {
            return Ok(None);
        }
        let (keyset, mut extra) = keyset_condition(after.take(), expr, cmp);
        extra.push(json!(chunk));
        let sql = format!(
            "SELECT a.rowid AS r, a.id, {expr} AS sort_key FROM audits a
             WHERE a.project = ?{}{keyset}
             ORDER BY {expr} {dir}, a.id {dir} LIMIT ?",
            c.where_clause()
        );
        let rows: Vec<SqliteRow> = sqlx::query_with(&sql, c.arguments(project, &extra)?)
            .fetch_all(&mut *conn)
            .await?;
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
                found.push((*rowid, cursor_after(row, req.sort)));
            }
        }
        match rows.last() {
            Some(last) if rows.len() == chunk as usize => after = Some(cursor_after(last, req.sort)),
            _ => break, // the end of the list
        }
        // Matches may be sparse further on: read more at a time.
        chunk *= 2;
    }
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
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
        (true, Some((_, (key, id)))) => Some(encode_cursor(key.clone(), id)),
        _ => None,
    };
    // A row deleted meanwhile is simply left out.
    let audits = rowids.iter().filter_map(|r| by_rowid.remove(r)).collect();
    Ok(Some((audits, next_cursor)))
}

/// Facet counts for `project` under `filter`.
pub async fn facets(pool: &SqlitePool, project: &str, filter: &AuditFilter) -> Result<Facets> {
    async fn counts(
        pool: &SqlitePool,
        project: &str,
        filter: &AuditFilter,
        facet: Facet,
    ) -> Result<Vec<FacetCount>> {
        let c = conditions(filter, facet)?;
        let sql = match facet {
            Facet::Severity | Facet::Pattern => {
                let col = if facet == Facet::Severity {
                    "lower(g.severity)"
                } else {
                    "g.pattern_type"
                };
                format!(
                    "SELECT {col} AS v, count(DISTINCT a.id) AS n FROM audits a JOIN audit_findings g ON g.audit_id = a.id
                     WHERE a.project = ?{} GROUP BY v ORDER BY n DESC, v",
                    c.where_clause()
                )
            }
            _ => {
                let col = match facet {
                    Facet::Status => "lower(a.status)",
                    Facet::Risk => "a.risk_level",
                    Facet::Tier => "a.audit_tier",
                    _ => "a.site_type",
                };
                format!(
                    "SELECT {col} AS v, count(*) AS n FROM audits a WHERE a.project = ?{} GROUP BY v ORDER BY n DESC, v",
                    c.where_clause()
                )
            }
        };
        let rows = sqlx::query_with(&sql, c.arguments(project, &[])?)
            .fetch_all(pool)
            .await?;
        Ok(rows
            .iter()
            .filter_map(|r| {
                let value = super::text(r, "v")?;
                Some(FacetCount {
                    value,
                    count: super::int(r, "n").unwrap_or(0),
                })
            })
            .collect())
    }
    let c = conditions(filter, Facet::None)?;
    let total: i64 = sqlx::query_scalar_with(
        &format!(
            "SELECT count(*) FROM audits a WHERE a.project = ?{}",
            c.where_clause()
        ),
        c.arguments(project, &[])?,
    )
    .fetch_one(pool)
    .await?;
    Ok(Facets {
        total,
        status: counts(pool, project, filter, Facet::Status).await?,
        risk_level: counts(pool, project, filter, Facet::Risk).await?,
        audit_tier: counts(pool, project, filter, Facet::Tier).await?,
        site_type: counts(pool, project, filter, Facet::SiteType).await?,
        severity: counts(pool, project, filter, Facet::Severity).await?,
        pattern_type: counts(pool, project, filter, Facet::Pattern).await?,
    })
}
