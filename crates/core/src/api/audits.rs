//! The audits of a project: listing, facets, one audit in full, its history and
//! comparisons, similar findings; and the writes a person or a producer makes to them.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::model::{Audit, AuditDetail, AuditRecord, ProjectInfo};
use crate::query::{
    self, AuditChanges, AuditFilter, AuditPage, AuditRowPage, Comparison, FacetOptions, Facets, ListRequest,
    SimilarFinding,
};
use crate::write::Change;
use crate::Store;

/// How long the sidebar's facets are counted before what is left is estimated: the
/// list's rows are already painted, and this leaves the estimate (a search of the newest
/// audits, then the facets among them) room within the 300 ms a click's answer may take on
/// a million audits.
pub const SIDEBAR_BUDGET: Duration = Duration::from_millis(100);

impl Store {
    /// The projects with their audit counts (`projects`; `veritas-db projects`).
    pub async fn projects(&self) -> Result<Vec<ProjectInfo>> {
        query::projects(self.database().reader()).await
    }

    /// One page of the audit list as the list view's rows, without the long text and JSON
    /// columns (`list_audits`; `veritas-db list`).
    pub async fn list_audits(&self, project: &ProjectName, req: &ListRequest) -> Result<AuditRowPage> {
        query::list_page(self.database().reader(), project, req, &query::AS_ROWS)
            .await
            .map(|(audits, next_cursor)| AuditRowPage { audits, next_cursor })
    }

    /// The same page as [`Store::list_audits`], every column of each audit
    /// (`veritas-db list --json`).
    pub async fn list_audits_full(&self, project: &ProjectName, req: &ListRequest) -> Result<AuditPage> {
        query::list_page(self.database().reader(), project, req, &query::AS_AUDITS)
            .await
            .map(|(audits, next_cursor)| AuditPage { audits, next_cursor })
    }

    /// Exact facet counts under a filter (`veritas-db list --facets`).
    pub async fn audit_facets(&self, project: &ProjectName, filter: &AuditFilter) -> Result<Facets> {
        query::facets(self.database().reader(), project, filter).await
    }

    /// Facet counts for a sidebar (`audit_facets`): the request of `caller` (a window)
    /// stops the one it made before, which fails with `cancelled`. Unless `exact`, counts
    /// not made within [`SIDEBAR_BUDGET`] are estimated and named in
    /// [`Facets::estimated`]; the sidebar shows them and asks again with `exact`.
    pub async fn audit_facets_superseding(
        &self,
        caller: &str,
        project: &ProjectName,
        filter: &AuditFilter,
        exact: bool,
    ) -> Result<Facets> {
        let (cancel, _done) = self.facet_requests.begin(caller);
        let options = FacetOptions {
            budget: (!exact).then_some(SIDEBAR_BUDGET),
            cancel: Some(cancel),
        };
        query::facets_with(self.database().reader(), project, filter, &options).await
    }

    /// An audit with its findings, screenshots (with what their files say) and events
    /// (`get_audit`; `veritas-db show`).
    pub async fn get_audit(&self, project: &ProjectName, id: &AuditId) -> Result<AuditDetail> {
        let mut rows = query::get_audit_rows(self.database().reader(), project, id).await?;
        let runs = crate::runs::assign(&mut rows.findings, &mut rows.screenshots, &rows.events);
        let screenshots = self.describe_files(rows.screenshots).await?;
        Ok(assemble_detail(
            rows.audit,
            rows.findings,
            screenshots,
            rows.events,
            runs,
        ))
    }

    /// The audits of one url, oldest first (`audit_history`; `veritas-db history`).
    pub async fn audit_history(&self, project: &ProjectName, url: &str) -> Result<Vec<Audit>> {
        query::history(self.database().reader(), project, url).await
    }

    /// Compare audit `other` with audit `base` (`compare_audits`; `veritas-db compare`).
    pub async fn compare_audits(
        &self,
        project: &ProjectName,
        base: &AuditId,
        other: &AuditId,
    ) -> Result<Comparison> {
        query::compare(self.database().reader(), project, base, other).await
    }

    /// Audit `id`'s findings against the previous audit of its site: each new, persisting
    /// or regressed, and the previous audit's findings that are gone (`audit_changes`;
    /// `veritas-db changes`).
    pub async fn audit_changes(&self, project: &ProjectName, id: &AuditId) -> Result<AuditChanges> {
        query::audit_changes(self.database().reader(), project, id).await
    }

    /// Findings similar to `finding_id` by embedding (`veritas-db similar`).
    pub async fn similar_findings(
        &self,
        project: &ProjectName,
        finding_id: i64,
        limit: usize,
    ) -> Result<Vec<SimilarFinding>> {
        query::similar_findings(self.database().reader(), project, finding_id, limit).await
    }

    /// Delete an audit, its rows and its files (`delete_audit`; `veritas-db delete`).
    pub async fn delete_audit(&self, project: &ProjectName, id: &AuditId) -> Result<()> {
        self.write(Change::Delete {
            project: project.to_string(),
            audit_id: id.to_string(),
        })
        .await?;
        // Files go after the rows are gone: a crash in between leaves orphan files (which
        // `doctor` reports), never rows pointing at nothing.
        let shots = self.screenshots().clone();
        let id = id.clone();
        crate::blocking(move || shots.remove_audit(&id)).await?
    }

    /// Store a whole audit with its children in one transaction (demo data, imports, the
    /// benchmark).
    pub async fn insert_audit(&self, project: &ProjectName, record: AuditRecord) -> Result<()> {
        // The record is input like any other: its id becomes a folder name.
        AuditId::parse(&record.id)?;
        self.write(Change::InsertAudit {
            project: project.to_string(),
            record: Box::new(record),
        })
        .await
        .map(|_| ())
    }

    /// Attach an embedding (and the model that made it) to a finding.
    pub async fn set_embedding(
        &self,
        project: &ProjectName,
        finding_id: i64,
        vector: Vec<f32>,
        model: &str,
        version: &str,
    ) -> Result<()> {
        if vector.is_empty() || vector.iter().any(|x| !x.is_finite()) {
            return Err(Error::invalid(
                "embedding",
                "must be a non-empty vector of finite numbers",
            ));
        }
        self.write(Change::SetEmbedding {
            project: project.to_string(),
            finding_id,
            vector,
            model: model.to_string(),
            version: version.to_string(),
        })
        .await
        .map(|_| ())
    }

    /// Mark running audits of `project` that nothing has updated for `idle` as
    /// disconnected (their producer is gone). Returns how many.
    pub async fn mark_disconnected(&self, project: &ProjectName, idle: Duration) -> Result<u64> {
        let since = chrono::Utc::now() - chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::zero());
        let out = self
            .write(Change::MarkDisconnected {
                project: project.to_string(),
                idle_since: crate::time::to_text(since),
            })
            .await?;
        Ok(out.rows)
    }
}

/// An audit read whole, its runs assigned: with the last run's timeline and intelligence
/// (the views show the last run; the others' rows are there, marked with their run). The
/// same for every storage engine.
pub(crate) fn assemble_detail(
    audit: Audit,
    findings: Vec<crate::model::Finding>,
    screenshots: Vec<crate::model::Screenshot>,
    events: Vec<crate::model::AuditEvent>,
    runs: Vec<crate::model::AuditRun>,
) -> AuditDetail {
    let last = runs.last().map_or(1, |r| r.number);
    let last_events: Vec<_> = events.iter().filter(|e| e.run == last).cloned().collect();
    AuditDetail {
        timeline: crate::timeline::timeline(&last_events),
        intelligence: crate::intel::intelligence(&last_events, audit.fields.security_results.as_ref()),
        audit,
        findings,
        screenshots,
        events,
        runs,
    }
}
