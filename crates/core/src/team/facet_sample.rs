//! The sidebar's facets on a team database within a time budget, as on a data folder
//! (`query/list/facets.rs`): what the maintained counts answer is exact; a count from the
//! rows that runs past [`SIDEBAR_BUDGET`] is stopped by PostgreSQL (`statement_timeout`),
//! and then every facet is estimated from the project's newest `SAMPLE` audits (the
//! folder's sample size), scaled up and named in [`Facets::estimated`] (with the folder's
//! names). A search goes to the sample at once: its exact counts read the matches of the
//! whole index once per facet, which at a million audits never fits the budget. The sidebar shows the estimates and asks for the exact counts next.

use sqlx::QueryBuilder;

use super::facets::Rows;
use super::TeamStore;
use crate::api::audits::SIDEBAR_BUDGET;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::ProjectName;
use crate::query::list::facets::{NAMES, SAMPLE};
use crate::query::{AuditFilter, FacetCount, Facets};

impl TeamStore {
    /// Facet counts for a window's sidebar: exact if `exact`, else within the sidebar's
    /// budget, estimated past it (see the module's notes).
    pub async fn audit_facets_within(
        &self,
        project: &ProjectName,
        filter: &AuditFilter,
        exact: bool,
    ) -> Result<Facets> {
        if exact {
            return self.audit_facets(project, filter).await;
        }
        if search_of(filter).is_none() {
            let rows = Rows {
                budget: Some(SIDEBAR_BUDGET),
                only: None,
            };
            if let Some(facets) = self.count_facets(project, filter, &rows).await? {
                return Ok(facets);
            }
        }
        self.estimate_facets(project, filter).await
    }

    /// Every facet counted among the project's newest audits (those the search matches
    /// among them, for a search) and scaled up to the project; exact, and not named as
    /// estimated, when the sample is the whole project.
    async fn estimate_facets(&self, project: &ProjectName, filter: &AuditFilter) -> Result<Facets> {
        let pool = self.database().pool();
        let all: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(n), 0)::bigint FROM facet_counts WHERE project = $1 AND kind = 'audit'",
        )
        .bind(project.as_str())
        .fetch_one(pool)
        .await?;
        // The list's own order and index (audits_list_created).
        let newest: Vec<String> = sqlx::query_scalar(
            "SELECT a.id FROM audits a WHERE a.project = $1
             ORDER BY (COALESCE(a.created_at, '') COLLATE \"C\") DESC, (a.id COLLATE \"C\") DESC LIMIT $2",
        )
        .bind(project.as_str())
        .bind(SAMPLE)
        .fetch_all(pool)
        .await?;
        let sampled = newest.len() as i64;
        let whole = sampled >= all;
        let mut rest = filter.clone();
        let only = match search_of(filter) {
            None => newest,
            Some(text) => {
                // The search asked once of the sample, each audit probed as the list's walk
                // probes it (team/read.rs), not once per facet over the whole index.
                rest.search = None;
                let mut q = QueryBuilder::new("SELECT a.id FROM audits a WHERE a.id = ANY(");
                q.push_bind(newest)
                    .push(") AND (a.search_vector @@ websearch_to_tsquery('simple', ")
                    .push_bind(text.to_string())
                    .push(
                        ") OR EXISTS (SELECT 1 FROM audit_findings f WHERE f.audit_id = a.id
                           AND f.search_vector @@ websearch_to_tsquery('simple', ",
                    )
                    .push_bind(text.to_string())
                    .push(") OFFSET 0))");
                q.build_query_scalar().fetch_all(pool).await?
            }
        };
        let rows = Rows {
            budget: None,
            only: Some(only),
        };
        let mut facets = self
            .count_facets(project, &rest, &rows)
            .await?
            .ok_or_else(|| Error::new(ErrorKind::Internal, "facet counts without a budget gave up"))?;
        if !whole && sampled > 0 {
            let ratio = all as f64 / sampled as f64;
            let scale = |n: i64| (n as f64 * ratio).round() as i64;
            facets.total = scale(facets.total);
            for list in [
                &mut facets.status,
                &mut facets.risk_level,
                &mut facets.audit_tier,
                &mut facets.site_type,
                &mut facets.severity,
                &mut facets.pattern_type,
                &mut facets.mitre,
                &mut facets.cwe,
                &mut facets.green_flags,
                &mut facets.changes,
            ] {
                for FacetCount { count, .. } in list.iter_mut() {
                    *count = scale(*count);
                }
            }
            // Every count is estimated: the total and each facet, named as on a folder.
            facets.estimated = std::iter::once("total")
                .chain(NAMES)
                .map(str::to_string)
                .collect();
        }
        Ok(facets)
    }
}

/// The filter's search text, if it has one.
fn search_of(filter: &AuditFilter) -> Option<&str> {
    filter.search.as_deref().filter(|s| !s.trim().is_empty())
}
