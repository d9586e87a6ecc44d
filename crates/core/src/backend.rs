//! The storage boundary: where the audits live, a local data folder ([`Store`]: SQLite and a
//! screenshot folder) or a team store ([`TeamStore`]: PostgreSQL and an object store), behind
//! one type whose methods give the same shapes from either. The app and `veritas-db` choose
//! one by configuration and call these.
//!
//! The team engine grows capability by capability (issue 15); what it cannot do yet is
//! refused with an error naming the capability, never answered from the wrong place.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Result};
use crate::ids::{AuditId, ProjectName};
use crate::model::{AuditDetail, ProjectInfo};
use crate::query::{AuditFilter, AuditPage, AuditRowPage, Facets, ListRequest};
use crate::screenshots::{DiffSummary, ImageInfo};
use crate::team::TeamStore;
use crate::triage::{AuditTriage, FindingTriage, TriageDecision};
use crate::Store;
use crate::TriageRequest;

/// Where the audits are.
#[derive(Clone)]
pub enum Backend {
    /// A local data folder.
    Local(Store),
    /// A team's PostgreSQL database and object store.
    Team(TeamStore),
}

impl Backend {
    /// What it is, for a person: the data folder, or the team database and object store
    /// (never a password).
    pub fn describe(&self) -> String {
        match self {
            Backend::Local(store) => format!("data folder {}", store.data_dir().display()),
            Backend::Team(team) => format!(
                "team database {} with screenshots in {}",
                team.database().url(),
                team.objects().url()
            ),
        }
    }

    /// The team store, if that is where the audits are.
    pub fn team(&self) -> Option<&TeamStore> {
        match self {
            Backend::Local(_) => None,
            Backend::Team(team) => Some(team),
        }
    }

    /// The local store, for a capability only it has so far; `capability` names it in the
    /// error a team store gives.
    pub fn local(&self, capability: &str) -> Result<&Store> {
        match self {
            Backend::Local(store) => Ok(store),
            Backend::Team(_) => Err(not_on_team(capability)),
        }
    }

    /// Ingest an event stream into `project` (see [`Store::ingest`]).
    pub async fn ingest<R: tokio::io::AsyncBufRead + Unpin>(
        &self,
        project: &ProjectName,
        options: &crate::IngestOptions,
        reader: R,
        notify: &mut (dyn FnMut(crate::IngestNotice<'_>) + Send),
    ) -> Result<crate::IngestReport> {
        match self {
            Backend::Local(s) => s.ingest(project, options, reader, notify).await,
            Backend::Team(t) => t.ingest(project, options, reader, notify).await,
        }
    }

    /// The projects with their audit counts.
    pub async fn projects(&self) -> Result<Vec<ProjectInfo>> {
        match self {
            Backend::Local(s) => s.projects().await,
            Backend::Team(t) => t.projects().await,
        }
    }

    /// One page of the audit list as the list view's rows.
    pub async fn list_audits(&self, project: &ProjectName, req: &ListRequest) -> Result<AuditRowPage> {
        match self {
            Backend::Local(s) => s.list_audits(project, req).await,
            Backend::Team(t) => t.list_audits(project, req).await,
        }
    }

    /// One page of the audit list, every column of each audit.
    pub async fn list_audits_full(&self, project: &ProjectName, req: &ListRequest) -> Result<AuditPage> {
        match self {
            Backend::Local(s) => s.list_audits_full(project, req).await,
            Backend::Team(t) => t.list_audits_full(project, req).await,
        }
    }

    /// Exact facet counts under a filter.
    pub async fn audit_facets(&self, project: &ProjectName, filter: &AuditFilter) -> Result<Facets> {
        match self {
            Backend::Local(s) => s.audit_facets(project, filter).await,
            Backend::Team(t) => t.audit_facets(project, filter).await,
        }
    }

    /// Facet counts for a window's sidebar: counts past the sidebar's budget are estimated
    /// unless `exact` (see [`Store::audit_facets_superseding`] and
    /// [`TeamStore::audit_facets_within`]); locally, `caller`'s previous request is stopped
    /// too (on a team database each count from the rows is bounded by the budget instead).
    pub async fn audit_facets_superseding(
        &self,
        caller: &str,
        project: &ProjectName,
        filter: &AuditFilter,
        exact: bool,
    ) -> Result<Facets> {
        match self {
            Backend::Local(s) => s.audit_facets_superseding(caller, project, filter, exact).await,
            Backend::Team(t) => t.audit_facets_within(project, filter, exact).await,
        }
    }

    /// The audits of one site, oldest first.
    pub async fn audit_history(&self, project: &ProjectName, url: &str) -> Result<Vec<crate::model::Audit>> {
        match self {
            Backend::Local(s) => s.audit_history(project, url).await,
            Backend::Team(t) => t.audit_history(project, url).await,
        }
    }

    /// Compare audit `other` with audit `base`.
    pub async fn compare_audits(
        &self,
        project: &ProjectName,
        base: &AuditId,
        other: &AuditId,
    ) -> Result<crate::query::Comparison> {
        match self {
            Backend::Local(s) => s.compare_audits(project, base, other).await,
            Backend::Team(t) => t.compare_audits(project, base, other).await,
        }
    }

    /// Every triage decision of `project`, as an exchange file.
    pub async fn export_triage(&self, project: &ProjectName) -> Result<crate::triage::TriageExport> {
        match self {
            Backend::Local(s) => s.export_triage(project).await,
            Backend::Team(t) => t.export_triage(project).await,
        }
    }

    /// Merge another analyst's exchange file `text` (read from `from`) into `project`.
    pub async fn import_triage(
        &self,
        project: &ProjectName,
        text: &str,
        from: &str,
    ) -> Result<crate::triage::TriageImport> {
        match self {
            Backend::Local(s) => s.import_triage(project, text, from).await,
            Backend::Team(t) => t.import_triage(project, text, from).await,
        }
    }

    /// Delete an audit with its children and its screenshots.
    pub async fn delete_audit(&self, project: &ProjectName, id: &AuditId) -> Result<()> {
        match self {
            Backend::Local(s) => s.delete_audit(project, id).await,
            Backend::Team(t) => t.delete_audit(project, id).await,
        }
    }

    /// An audit's findings against its site's previous audit (`audit_changes`).
    pub async fn audit_changes(&self, project: &ProjectName, id: &AuditId) -> Result<crate::AuditChanges> {
        match self {
            Backend::Local(s) => s.audit_changes(project, id).await,
            Backend::Team(t) => t.audit_changes(project, id).await,
        }
    }

    /// The `limit` findings most similar to `finding_id` by embedding (`veritas-db similar`).
    pub async fn similar_findings(
        &self,
        project: &ProjectName,
        finding_id: i64,
        limit: usize,
    ) -> Result<Vec<crate::SimilarFinding>> {
        match self {
            Backend::Local(s) => s.similar_findings(project, finding_id, limit).await,
            Backend::Team(t) => t.similar_findings(project, finding_id, limit).await,
        }
    }

    /// An audit with its findings, screenshots and events.
    pub async fn get_audit(&self, project: &ProjectName, id: &AuditId) -> Result<AuditDetail> {
        match self {
            Backend::Local(s) => s.get_audit(project, id).await,
            Backend::Team(t) => t.get_audit(project, id).await,
        }
    }
}

impl Backend {
    /// The file of a screenshot (for a team store, a local copy of its object), with its
    /// sniffed format: what the `shot:` scheme serves.
    pub async fn screenshot_file(
        &self,
        project: &ProjectName,
        audit_id: &AuditId,
        screenshot_id: i64,
    ) -> Result<(PathBuf, ImageInfo)> {
        match self {
            Backend::Local(s) => s.screenshot_file(project, audit_id, screenshot_id).await,
            Backend::Team(t) => t.screenshot_file(project, audit_id, screenshot_id).await,
        }
    }

    /// A cached JPEG thumbnail of a screenshot, `width` pixels wide.
    pub async fn thumbnail(
        &self,
        project: &ProjectName,
        audit_id: &AuditId,
        screenshot_id: i64,
        width: u32,
    ) -> Result<PathBuf> {
        match self {
            Backend::Local(s) => s.thumbnail(project, audit_id, screenshot_id, width).await,
            Backend::Team(t) => t.thumbnail(project, audit_id, screenshot_id, width).await,
        }
    }

    /// The difference of two screenshots and its cached heat map.
    pub async fn screenshot_diff(
        &self,
        project: &ProjectName,
        before_audit: &AuditId,
        before: i64,
        after_audit: &AuditId,
        after: i64,
    ) -> Result<(DiffSummary, PathBuf)> {
        match self {
            Backend::Local(s) => {
                s.screenshot_diff(project, before_audit, before, after_audit, after)
                    .await
            }
            Backend::Team(t) => {
                t.screenshot_diff(project, before_audit, before, after_audit, after)
                    .await
            }
        }
    }
}

impl Backend {
    /// Call `on_change` from a background task after any commit by anyone: a local
    /// database is asked every `every` whether it changed, a team database notifies.
    pub async fn watch_changes<F>(
        &self,
        every: std::time::Duration,
        on_change: F,
    ) -> Result<tokio::task::JoinHandle<()>>
    where
        F: Fn() + Send + 'static,
    {
        match self {
            Backend::Local(s) => s.watch_changes(every, on_change).await,
            Backend::Team(t) => t.watch_changes(on_change).await,
        }
    }
}

impl Backend {
    /// Record a verdict on a finding's problem, and how the finding now stands.
    pub async fn triage_finding(&self, project: &ProjectName, req: TriageRequest) -> Result<FindingTriage> {
        match self {
            Backend::Local(s) => s.triage_finding(project, req).await,
            Backend::Team(t) => t.triage_finding(project, req).await,
        }
    }

    /// Each finding of an audit under its site's decisions.
    pub async fn audit_triage(&self, project: &ProjectName, id: &AuditId) -> Result<AuditTriage> {
        match self {
            Backend::Local(s) => s.audit_triage(project, id).await,
            Backend::Team(t) => t.audit_triage(project, id).await,
        }
    }

    /// Every decision about a finding's problem on its site, newest first.
    pub async fn triage_history(
        &self,
        project: &ProjectName,
        finding_id: i64,
    ) -> Result<Vec<TriageDecision>> {
        match self {
            Backend::Local(s) => s.triage_history(project, finding_id).await,
            Backend::Team(t) => t.triage_history(project, finding_id).await,
        }
    }
}

fn not_on_team(capability: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("{capability}: not available on a team (PostgreSQL) database yet; it works on a local data folder"),
    )
}
