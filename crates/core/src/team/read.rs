//! Reading a team database: the projects, a page of the audit list (filters, every sort,
//! keyset paging with the same cursors as on SQLite) and one audit in full, in the same
//! shapes as the local store gives them ([`AuditRow`], [`Audit`], [`AuditDetail`]).
//!
//! Every filter of the list works here as on SQLite: the derived ones (MITRE, CWE, green
//! flags, changes, severities and patterns without the findings triaged away) read the
//! audit facts migration 5 keeps. The facets are in [`super::facets`].

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row};

use super::TeamStore;
use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::model::{
    derived_risk_level, Audit, AuditDetail, AuditEvent, AuditFields, AuditRow, Finding, ProjectInfo,
    Screenshot,
};
use crate::query::list::cursor::Cursor;
use crate::query::list::filter::{Conditions, Facet};
use crate::query::{AuditFilter, AuditPage, AuditRowPage, Direction, ListRequest, SortKey};

/// Page size when the request names none, and the most a page may hold (as on SQLite).
const DEFAULT_LIMIT: u32 = 50;
const MAX_LIMIT: u32 = 500;

/// The columns of an audit, with its counted children.
const AUDIT_COLUMNS: &str = "a.id, a.project, a.url, a.status, a.audit_tier, a.verdict_mode, a.trust_score,
    a.risk_level, a.signal_scores, a.narrative, a.site_type, a.site_type_confidence, a.security_results,
    a.pages_scanned, a.screenshots_count, a.elapsed_seconds, a.errors, a.error_message, a.started_at,
    a.completed_at, a.created_at, a.updated_at,
    (SELECT count(*) FROM audit_findings f WHERE f.audit_id = a.id) AS findings_rows,
    (SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = a.id) AS screenshot_rows";

/// How many audits a search walks in list order before it asks the indexes
/// ([`TeamStore::page_query`]): first, and at most (a rare word costs the first walk, about
/// 5 ms at 200; past 2,000 the indexes are as fast as walking further).
const SEARCH_WALK: (i64, i64) = (200, 2000);

/// Each sort's expression, as the indexes of migration 1 have it: text in byte order ("C"),
/// which is how SQLite compares, so both engines list in the same order.
fn sort_expr(sort: SortKey) -> &'static str {
    match sort {
        SortKey::Created => "(COALESCE(a.created_at, '') COLLATE \"C\")",
        SortKey::Score => "COALESCE(a.trust_score, -1.0)",
        SortKey::Url => "(a.url COLLATE \"C\")",
        SortKey::Status => "(lower(a.status) COLLATE \"C\")",
        SortKey::RiskLevel => "(COALESCE(a.risk_level, '') COLLATE \"C\")",
        SortKey::AuditTier => "(COALESCE(a.audit_tier, '') COLLATE \"C\")",
        SortKey::SiteType => "(COALESCE(a.site_type, '') COLLATE \"C\")",
        SortKey::Findings => "(SELECT count(*) FROM audit_findings f WHERE f.audit_id = a.id)::float8",
        SortKey::Screenshots => "(SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = a.id)::float8",
    }
}

/// The stored form of a time in the model's (ISO) form.
fn shown_time(stored: Option<String>) -> Option<String> {
    stored.map(|t| crate::time::parse(&t).map(crate::time::to_iso).unwrap_or(t))
}

fn audit_from_row(row: &PgRow) -> Result<Audit> {
    let trust_score: Option<f64> = row.try_get("trust_score")?;
    let json = |col: &str| -> Result<Option<serde_json::Value>> {
        Ok(row
            .try_get::<Option<sqlx::types::Json<serde_json::Value>>, _>(col)?
            .map(|j| j.0))
    };
    Ok(Audit {
        id: row.try_get("id")?,
        project: row.try_get("project")?,
        url: row.try_get("url")?,
        status: row.try_get::<String, _>("status")?.to_lowercase(),
        fields: AuditFields {
            audit_tier: row.try_get("audit_tier")?,
            verdict_mode: row.try_get("verdict_mode")?,
            trust_score,
            risk_level: derived_risk_level(
                row.try_get::<Option<String>, _>("risk_level")?.as_deref(),
                trust_score,
            ),
            signal_scores: json("signal_scores")?,
            narrative: row.try_get("narrative")?,
            site_type: row.try_get("site_type")?,
            site_type_confidence: row.try_get("site_type_confidence")?,
            security_results: json("security_results")?,
            pages_scanned: row.try_get("pages_scanned")?,
            elapsed_seconds: row.try_get("elapsed_seconds")?,
            errors: json("errors")?,
            error_message: row.try_get("error_message")?,
            started_at: shown_time(row.try_get("started_at")?),
            completed_at: shown_time(row.try_get("completed_at")?),
            created_at: shown_time(row.try_get("created_at")?),
            updated_at: shown_time(row.try_get("updated_at")?),
        },
        findings_count: row.try_get("findings_rows")?,
        screenshots_count: row.try_get("screenshot_rows")?,
        recorded_screenshots_count: row.try_get("screenshots_count")?,
        unreadable: Vec::new(),
    })
}

fn row_from_audit((a, changes): (Audit, Vec<String>)) -> AuditRow {
    AuditRow {
        id: a.id,
        url: a.url,
        status: a.status,
        audit_tier: a.fields.audit_tier,
        trust_score: a.fields.trust_score,
        risk_level: a.fields.risk_level,
        site_type: a.fields.site_type,
        created_at: a.fields.created_at,
        findings_count: a.findings_count,
        screenshots_count: a.screenshots_count,
        changes,
        unreadable: a.unreadable,
    }
}

/// ` AND <expr> = ANY(<values>)`, nothing for no values.
pub(super) fn any_of(q: &mut QueryBuilder<'_, Postgres>, expr: &str, values: Vec<String>) {
    if !values.is_empty() {
        q.push(format!(" AND {expr} = ANY(")).push_bind(values).push(")");
    }
}

/// The stored kind of a finding fact a filter reads: severities and patterns of the
/// findings not triaged away unless the filter takes those too (migration 5).
pub(super) fn fact_kind(kind: &'static str, include_hidden: bool) -> &'static str {
    match (kind, include_hidden) {
        ("severity", false) => "severity_shown",
        ("pattern", false) => "pattern_shown",
        _ => kind,
    }
}

/// The filter's conditions, checked and put in their stored forms as on SQLite
/// ([`Conditions::check`]: a bound that is no number or no date is refused and named);
/// `skip`'s own choice left out.
pub(super) fn push_conditions(
    q: &mut QueryBuilder<'_, Postgres>,
    filter: &AuditFilter,
    skip: Facet,
) -> Result<()> {
    let c = Conditions::check(filter)?;
    let keep = |facet: Facet, values: &Vec<String>| if skip == facet { Vec::new() } else { values.clone() };
    any_of(q, "lower(a.status)", keep(Facet::Status, &c.status));
    any_of(q, "a.risk_level", keep(Facet::Risk, &c.risk_level));
    any_of(q, "a.audit_tier", keep(Facet::Tier, &c.audit_tier));
    any_of(q, "a.site_type", keep(Facet::SiteType, &c.site_type));
    // The audit's facts (migrations 3 and 5): one row per kind and value, not one per
    // finding or event.
    for (facet, kind, values) in [
        (Facet::Severity, "severity", &c.severity),
        (Facet::Pattern, "pattern", &c.pattern_type),
        (Facet::Mitre, "mitre", &c.mitre),
        (Facet::Cwe, "cwe", &c.cwe),
        (Facet::Changes, "change", &c.changes),
    ] {
        let values = keep(facet, values);
        if !values.is_empty() {
            q.push(" AND EXISTS (SELECT 1 FROM audit_facts f WHERE f.audit_id = a.id AND f.kind = ")
                .push_bind(fact_kind(kind, c.include_hidden))
                .push(" AND f.value = ANY(")
                .push_bind(values)
                .push("))");
        }
    }
    if let (Some(want), true) = (c.green_flags, skip != Facet::GreenFlags) {
        q.push(if want { " AND EXISTS" } else { " AND NOT EXISTS" });
        q.push(" (SELECT 1 FROM audit_facts f WHERE f.audit_id = a.id AND f.kind = 'green_flags')");
    }
    if let Some(v) = c.min_score {
        q.push(" AND a.trust_score >= ").push_bind(v);
    }
    if let Some(v) = c.max_score {
        q.push(" AND a.trust_score <= ").push_bind(v);
    }
    if let Some(t) = c.created_from {
        q.push(" AND (COALESCE(a.created_at, '') COLLATE \"C\") >= ")
            .push_bind(t);
    }
    if let Some(t) = c.created_before {
        q.push(" AND (COALESCE(a.created_at, '') COLLATE \"C\") < ")
            .push_bind(t);
    }
    if let Some(like) = c.url_like {
        q.push(" AND a.url ILIKE ").push_bind(like).push(" ESCAPE '\\'");
    }
    if c.untriaged {
        // A finding whose problem has no decision on its site, for the site or this audit.
        q.push(
            " AND EXISTS (SELECT 1 FROM audit_findings u WHERE u.audit_id = a.id AND NOT EXISTS \
             (SELECT 1 FROM triage_state t WHERE t.site = u.site AND t.fingerprint = u.fingerprint \
             AND t.scope IN ('', a.id)))",
        );
    }
    if let Some(text) = filter.search.as_deref().filter(|s| !s.trim().is_empty()) {
        // websearch_to_tsquery reads any text (words, "phrases", -not) without a syntax
        // error, so a person's search text is never SQL and never fails the query. Each
        // side is a GIN index scan of its stored vector (migration 4; an OR across the two
        // tables would scan every audit).
        q.push(
            " AND a.id IN (SELECT x.id FROM audits x WHERE x.search_vector @@ websearch_to_tsquery('simple', ",
        )
        .push_bind(text.to_string())
        .push(
            ") UNION SELECT f.audit_id FROM audit_findings f WHERE f.search_vector @@ websearch_to_tsquery('simple', ",
        )
        .push_bind(text.to_string())
        .push("))");
    }
    Ok(())
}

impl TeamStore {
    /// The projects with their audit counts (`projects`).
    pub async fn projects(&self) -> Result<Vec<ProjectInfo>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT p.name, (SELECT count(*) FROM audits a WHERE a.project = p.name) FROM projects p ORDER BY p.name",
        )
        .fetch_all(self.database().pool())
        .await?;
        Ok(rows
            .into_iter()
            .map(|(name, audits)| ProjectInfo { name, audits })
            .collect())
    }

    /// One page of the audit list as the list view's rows (`list_audits`).
    pub async fn list_audits(&self, project: &ProjectName, req: &ListRequest) -> Result<AuditRowPage> {
        let (audits, next_cursor) = self.list_page(project, req).await?;
        Ok(AuditRowPage {
            audits: audits.into_iter().map(row_from_audit).collect(),
            next_cursor,
        })
    }

    /// The same page with every column of each audit (`veritas-db list --json`).
    pub async fn list_audits_full(&self, project: &ProjectName, req: &ListRequest) -> Result<AuditPage> {
        let (audits, next_cursor) = self.list_page(project, req).await?;
        Ok(AuditPage {
            audits: audits.into_iter().map(|(a, _)| a).collect(),
            next_cursor,
        })
    }

    async fn list_page(
        &self,
        project: &ProjectName,
        req: &ListRequest,
    ) -> Result<(Vec<(Audit, Vec<String>)>, Option<String>)> {
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
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
        let search = req.filter.search.as_deref().filter(|s| !s.trim().is_empty());
        let mut rows = Vec::new();
        if let Some(text) = search {
            // A first short walk; if it found some matches but not a page, one long enough
            // for a page at the rate it found them (within the limit).
            let mut walked = 0;
            let mut depth = SEARCH_WALK.0;
            while depth > walked {
                rows = self
                    .page_query(project, req, after.as_ref(), Some((text, depth)))?
                    .build()
                    .fetch_all(self.database().pool())
                    .await?;
                if rows.len() > limit as usize || rows.is_empty() {
                    break;
                }
                walked = depth;
                let wanted = depth as f64 * f64::from(limit + 1) / rows.len() as f64;
                depth = ((wanted * 1.5).ceil() as i64).min(SEARCH_WALK.1);
            }
        }
        // No search, or the walk found less than a page: the indexes answer.
        if rows.len() <= limit as usize {
            rows = self
                .page_query(project, req, after.as_ref(), None)?
                .build()
                .fetch_all(self.database().pool())
                .await?;
        }
        let more = rows.len() > limit as usize;
        let mut audits = Vec::with_capacity(rows.len().min(limit as usize));
        let mut next = None;
        for (i, row) in rows.iter().take(limit as usize).enumerate() {
            let changes: Option<Vec<String>> = row.try_get("changes")?;
            audits.push((audit_from_row(row)?, changes.unwrap_or_default()));
            if more && i + 1 == limit as usize {
                let (number, text) = if req.sort.numeric() {
                    (row.try_get::<Option<f64>, _>("sort_key")?, None)
                } else {
                    (None, row.try_get::<Option<String>, _>("sort_key")?)
                };
                next = Some(Cursor::of(req.sort, number, text, row.try_get("id")?).encode());
            }
        }
        Ok((audits, next))
    }

    /// The query of one page (`limit` + 1 rows, the last telling whether there are more).
    ///
    /// With `walk` (text, depth), a search's words are matched against the first `depth`
    /// audits the other conditions give, in list order, each probed on its own vector and
    /// then its findings'. A word on many audits fills a page within a few of them; the matching
    /// index scans would gather every match first (93 ms p95 at 20k for a word on half of
    /// them). The caller takes the walk only if it filled the page, since past the walk
    /// there may be more matches: otherwise it asks again without `walk`, through the GIN
    /// indexes, which is fast for the rare words the walk cannot fill a page with.
    fn page_query<'a>(
        &self,
        project: &ProjectName,
        req: &'a ListRequest,
        after: Option<&Cursor>,
        walk: Option<(&'a str, i64)>,
    ) -> Result<QueryBuilder<'a, Postgres>> {
        let limit = req.limit.unwrap_or(DEFAULT_LIMIT);
        let expr = sort_expr(req.sort);
        let (dir, cmp) = match req.direction {
            Direction::Desc => ("DESC", "<"),
            Direction::Asc => ("ASC", ">"),
        };
        let changes = "(SELECT array_agg(x.value ORDER BY x.value) FROM audit_facts x
                        WHERE x.audit_id = a.id AND x.kind = 'change') AS changes";
        let mut q = QueryBuilder::new(match walk {
            None => format!(
                "SELECT {AUDIT_COLUMNS}, {expr} AS sort_key, {changes} FROM audits a WHERE a.project = "
            ),
            Some(_) => format!(
                "SELECT {AUDIT_COLUMNS}, w.sort_key, {changes} FROM (SELECT a.id, {expr} AS sort_key,
                   (a.id COLLATE \"C\") AS sort_id, a.search_vector FROM audits a WHERE a.project = "
            ),
        });
        q.push_bind(project.as_str().to_string());
        let without_search;
        let filter = match walk {
            None => &req.filter,
            Some(_) => {
                without_search = AuditFilter {
                    search: None,
                    ..req.filter.clone()
                };
                &without_search
            }
        };
        push_conditions(&mut q, filter, Facet::None)?;
        if let Some(c) = after {
            let (number, text, id) = c.parts();
            q.push(format!(" AND ({expr}, (a.id COLLATE \"C\")) {cmp} ("));
            match (number, text) {
                (Some(n), _) => q.push_bind(n),
                (None, t) => q.push_bind(t.unwrap_or_default().to_string()),
            };
            q.push(", ").push_bind(id.to_string()).push(")");
        }
        q.push(format!(
            " ORDER BY {expr} {dir}, (a.id COLLATE \"C\") {dir} LIMIT "
        ));
        if let Some((text, depth)) = walk {
            q.push_bind(depth)
                .push(
                    ") w JOIN audits a ON a.id = w.id
                     WHERE (w.search_vector @@ websearch_to_tsquery('simple', ",
                )
                .push_bind(text)
                .push(
                    ") OR EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = w.id
                       AND f.search_vector @@ websearch_to_tsquery('simple', ",
                )
                .push_bind(text)
                // OFFSET 0 keeps the probe per audit: without it PostgreSQL hashes every
                // matching finding first, which is the cost the walk is there to avoid.
                .push(format!(
                    ") OFFSET 0)) ORDER BY w.sort_key {dir}, w.sort_id {dir} LIMIT "
                ));
        }
        q.push_bind(i64::from(limit) + 1);
        Ok(q)
    }

    /// The audits of one site (`url`, with or without its trailing slash), oldest first
    /// (`audit_history`), as on SQLite.
    pub async fn audit_history(&self, project: &ProjectName, url: &str) -> Result<Vec<Audit>> {
        let base = url.trim_end_matches('/');
        let rows = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audits a WHERE a.project = $1 AND a.url IN ($2, $3)
             ORDER BY (COALESCE(a.created_at, '') COLLATE \"C\"), (a.id COLLATE \"C\")"
        ))
        .bind(project.as_str())
        .bind(base)
        .bind(format!("{base}/"))
        .fetch_all(self.database().pool())
        .await?;
        rows.iter().map(audit_from_row).collect()
    }

    /// Compare audit `other` with audit `base` (`compare_audits`), as on SQLite.
    pub async fn compare_audits(
        &self,
        project: &ProjectName,
        base: &AuditId,
        other: &AuditId,
    ) -> Result<crate::query::Comparison> {
        let (b, o) = tokio::try_join!(self.get_audit(project, base), self.get_audit(project, other))?;
        Ok(crate::query::related::comparison(
            b.audit, b.findings, o.audit, o.findings,
        ))
    }

    /// An audit with its findings, screenshots and events (`get_audit`).
    pub async fn get_audit(&self, project: &ProjectName, id: &AuditId) -> Result<AuditDetail> {
        let pool = self.database().pool();
        let row = sqlx::query(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audits a WHERE a.id = $1 AND a.project = $2"
        ))
        .bind(id.as_str())
        .bind(project.as_str())
        .fetch_optional(pool)
        .await?
        .ok_or_else(|| Error::not_found(format!("audit {id} in project {}", project.as_str())))?;
        let audit = audit_from_row(&row)?;

        let mut findings = findings_of(pool, id.as_str()).await?;

        let mut screenshots = sqlx::query(
            "SELECT id, object_key, format, width, height, file_path, label, index_num, file_size_bytes,
                 created_at, run
             FROM audit_screenshots WHERE audit_id = $1 ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            let key: Option<String> = r.try_get("object_key")?;
            let side = |col: &str| -> Result<Option<u32>> {
                Ok(r.try_get::<Option<i32>, _>(col)?
                    .and_then(|v| u32::try_from(v).ok()))
            };
            Ok(Screenshot {
                id: r.try_get("id")?,
                audit_id: id.as_str().to_string(),
                label: r.try_get("label")?,
                index: r.try_get("index_num")?,
                file_path: r.try_get("file_path")?,
                file_size_bytes: r.try_get("file_size_bytes")?,
                created_at: shown_time(r.try_get("created_at")?),
                // Its bytes are in the object store, read through the core; no local path.
                resolved_path: None,
                exists: key.is_some(),
                format: r.try_get("format")?,
                width: side("width")?,
                height: side("height")?,
                run: r.try_get("run")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;

        let events = sqlx::query(
            "SELECT id, event_type, data, timestamp, run FROM audit_events WHERE audit_id = $1 ORDER BY seq",
        )
        .bind(id.as_str())
        .fetch_all(pool)
        .await?
        .iter()
        .map(|r| {
            Ok(AuditEvent {
                id: r.try_get("id")?,
                event_type: r.try_get("event_type")?,
                data: r
                    .try_get::<Option<sqlx::types::Json<serde_json::Value>>, _>("data")?
                    .map(|j| j.0),
                timestamp: shown_time(r.try_get("timestamp")?),
                run: r.try_get("run")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;

        let runs = crate::runs::assign(&mut findings, &mut screenshots, &events);
        Ok(crate::api::audits::assemble_detail(
            audit,
            findings,
            screenshots,
            events,
            runs,
        ))
    }
}

/// The columns [`finding_from_row`] reads.
pub(super) const FINDING_COLUMNS: &str =
    "f.id, f.pattern_type, f.category, f.severity, f.confidence, f.description,
    f.plain_english, f.screenshot_index, f.created_at, f.finding_key, f.fingerprint, f.embedding,
    f.embedding_model, f.embedding_model_version, f.cwe_id, f.cvss_score, f.run";

/// The findings of audit `audit_id`, in the order they arrived.
pub(super) async fn findings_of<'e>(exec: impl sqlx::PgExecutor<'e>, audit_id: &str) -> Result<Vec<Finding>> {
    sqlx::query(&format!(
        "SELECT {FINDING_COLUMNS} FROM audit_findings f WHERE f.audit_id = $1 ORDER BY f.seq"
    ))
    .bind(audit_id)
    .fetch_all(exec)
    .await?
    .iter()
    .map(|r| finding_from_row(r, audit_id))
    .collect()
}

/// A finding of audit `audit_id` from a row of [`FINDING_COLUMNS`].
pub(super) fn finding_from_row(r: &PgRow, audit_id: &str) -> Result<Finding> {
    Ok(Finding {
        id: r.try_get("id")?,
        audit_id: audit_id.to_string(),
        pattern_type: r.try_get("pattern_type")?,
        category: r.try_get("category")?,
        severity: r.try_get::<String, _>("severity")?.to_lowercase(),
        confidence: r.try_get("confidence")?,
        description: r.try_get("description")?,
        plain_english: r.try_get("plain_english")?,
        screenshot_index: r
            .try_get::<Option<i64>, _>("screenshot_index")?
            .filter(|i| *i >= 0),
        created_at: shown_time(r.try_get("created_at")?),
        finding_key: r.try_get("finding_key")?,
        embedding: r.try_get("embedding")?,
        embedding_model: r.try_get("embedding_model")?,
        embedding_model_version: r.try_get("embedding_model_version")?,
        cwe_id: r.try_get("cwe_id")?,
        cvss_score: r.try_get("cvss_score")?,
        run: r.try_get("run")?,
        pattern_unrecorded: false,
        fingerprint: r.try_get("fingerprint")?,
    }
    .with_unrecorded_flag())
}
