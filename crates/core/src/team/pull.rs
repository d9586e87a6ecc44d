//! `pull`: copy a team's projects (audits, findings, events, screenshots, triage) into a
//! local data folder, for work offline; and, into a new folder, the team database's backup
//! (`veritas-db backup` on a team database), which `push` restores.
//!
//! It reads through the team store's API ([`TeamStore::list_audits_full`],
//! [`TeamStore::get_audit`], [`TeamStore::export_triage`]) and writes through the folder's
//! (one transaction an audit, [`Store::insert_audit`]; triage by
//! [`Store::import_triage`]), so what arrives is checked as any input is. Screenshots are
//! copied from the object store into the folder before their audit's rows. An audit the
//! folder has already, unchanged, is left as it is; one that changed on the team since
//! (a later `updated_at`, more rows) replaces the folder's copy; pulling again changes nothing.

use std::path::Path;

use serde::Serialize;

use super::TeamStore;
use crate::error::{Error, ErrorKind, Result};
use crate::ids::{AuditId, ProjectName};
use crate::model::{AuditDetail, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot};
use crate::query::ListRequest;
use crate::Store;

/// What a pull did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PullReport {
    /// The team database and object store, without credentials.
    pub database: String,
    pub objects: String,
    /// The data folder written.
    pub data_dir: String,
    pub projects: usize,
    /// Audits read from the team, those the folder did not have, and those it had in an
    /// older state (replaced).
    pub audits: usize,
    pub new_audits: usize,
    pub replaced_audits: usize,
    pub findings: usize,
    pub events: usize,
    pub screenshots: usize,
    /// Screenshots whose object the team database records as missing (recorded by path
    /// alone, as there).
    pub screenshots_missing: usize,
    /// Triage decisions the folder did not have, and those it had.
    pub triage_added: usize,
    pub triage_known: usize,
    /// Audits not copied, each with the reason (the rest were).
    pub refused: Vec<String>,
}

impl Store {
    /// Copy project `only` of `team`, or every project, into this data folder
    /// (`veritas-db pull`).
    pub async fn pull_from(&self, team: &TeamStore, only: Option<&ProjectName>) -> Result<PullReport> {
        self.check_writable()?;
        let mut report = PullReport {
            database: team.database().url().to_string(),
            objects: team.objects().url().to_string(),
            data_dir: self.data_dir().display().to_string(),
            ..PullReport::default()
        };
        let projects = match only {
            Some(p) => vec![p.clone()],
            None => team
                .projects()
                .await?
                .iter()
                .map(|p| ProjectName::parse(&p.name))
                .collect::<Result<Vec<_>>>()?,
        };
        for project in projects {
            report.projects += 1;
            let mut request = ListRequest {
                limit: Some(500),
                ..ListRequest::default()
            };
            loop {
                let page = team.list_audits_full(&project, &request).await?;
                for audit in &page.audits {
                    let id = AuditId::parse(&audit.id)?;
                    let detail = team.get_audit(&project, &id).await?;
                    match pull_audit(self, team, &project, &detail, &mut report).await {
                        Ok(()) => {}
                        Err(e) if e.kind == ErrorKind::InvalidInput || e.kind == ErrorKind::Conflict => {
                            report.refused.push(format!("{}: {}", audit.id, e.message));
                        }
                        Err(e) => return Err(e.context(format!("pulling audit {}", audit.id))),
                    }
                }
                match page.next_cursor {
                    Some(next) => request.after = Some(next),
                    None => break,
                }
            }
            let triage = team.export_triage(&project).await?;
            let text = serde_json::to_string(&triage)
                .map_err(|e| Error::encoding(format!("the triage of project {project}"), e))?;
            let imported = self
                .import_triage(&project, &text, &format!("team database {}", report.database))
                .await?;
            report.triage_added += imported.added;
            report.triage_known += imported.known;
        }
        Ok(report)
    }
}

impl TeamStore {
    /// A restorable copy of every project of the team database with its screenshots: a new
    /// data folder `dest` (a new or empty folder; written beside it and renamed into place
    /// whole), as `veritas-db backup` makes on a team database. `veritas-db --data-dir DEST
    /// push --all-projects --to URL` restores it, into this database or a new one.
    pub async fn backup_to(&self, dest: &Path) -> Result<PullReport> {
        let staging = crate::maintenance::backup_staging(dest)?;
        let copy = Store::open(staging.path()).await?;
        let mut report = copy.pull_from(self, None).await?;
        copy.database().clone().close().await;
        drop(copy);
        crate::maintenance::finish_backup(staging, dest)?;
        report.data_dir = dest.display().to_string();
        Ok(report)
    }
}

/// Whether the folder's copy of an audit is the team's as it is now.
fn same_state(local: &AuditDetail, team: &AuditDetail) -> bool {
    local.audit.status == team.audit.status
        && local.audit.fields.updated_at == team.audit.fields.updated_at
        && local.findings.len() == team.findings.len()
        && local.screenshots.len() == team.screenshots.len()
        && local.events.len() == team.events.len()
}

async fn pull_audit(
    store: &Store,
    team: &TeamStore,
    project: &ProjectName,
    detail: &AuditDetail,
    report: &mut PullReport,
) -> Result<()> {
    let audit = &detail.audit;
    let id = AuditId::parse(&audit.id)?;
    report.audits += 1;
    match store.get_audit(project, &id).await {
        Ok(local) if same_state(&local, detail) => return Ok(()),
        Ok(_) => {
            store.delete_audit(project, &id).await?;
            report.replaced_audits += 1;
        }
        Err(e) if e.kind == ErrorKind::NotFound => report.new_audits += 1,
        Err(e) => return Err(e),
    }
    // Times are read in ISO form and written in the stored one.
    let stored = |t: &Option<String>| {
        t.as_ref().map(|t| {
            crate::time::parse(t)
                .map(crate::time::to_text)
                .unwrap_or_else(|| t.clone())
        })
    };
    // Screenshots first: a crash before the rows leaves files `doctor` reports, never rows
    // pointing at nothing.
    let mut screenshots = Vec::with_capacity(detail.screenshots.len());
    for s in &detail.screenshots {
        if s.exists {
            let (path, _) = team.screenshot_file(project, &id, s.id).await?;
            let bytes = tokio::fs::read(&path).await.map_err(|e| Error::io(&path, e))?;
            // Under the name it was recorded with, so that the row's path finds it here.
            let name = file_name(&s.file_path)
                .filter(|n| crate::ids::is_plain_file_name(n))
                .map(str::to_string)
                .unwrap_or_else(|| format!("pulled_{}_{}", s.index, s.id));
            let shots = store.screenshots().clone();
            let (audit_id, name2) = (id.clone(), name.clone());
            let kept = crate::blocking(move || shots.keep_copy(&audit_id, &name2, &bytes)).await??;
            screenshots.push(NewScreenshot {
                file_path: if file_name(&s.file_path) == Some(name.as_str()) {
                    s.file_path.clone()
                } else {
                    kept.to_string_lossy().into_owned()
                },
                label: s.label.clone(),
                index: s.index,
                file_size_bytes: s.file_size_bytes,
                created_at: stored(&s.created_at),
                run: Some(s.run),
            });
        } else {
            report.screenshots_missing += 1;
            screenshots.push(NewScreenshot {
                file_path: s.file_path.clone(),
                label: s.label.clone(),
                index: s.index,
                file_size_bytes: s.file_size_bytes,
                created_at: stored(&s.created_at),
                run: Some(s.run),
            });
        }
    }
    let mut fields = audit.fields.clone();
    for t in [
        &mut fields.started_at,
        &mut fields.completed_at,
        &mut fields.created_at,
        &mut fields.updated_at,
    ] {
        *t = stored(t);
    }
    let record = AuditRecord {
        id: audit.id.clone(),
        url: audit.url.clone(),
        status: Some(AuditStatus::parse(&audit.status).ok_or_else(|| {
            Error::invalid(
                format!("audit {}", audit.id),
                format!("has status {:?}", audit.status),
            )
        })?),
        fields,
        screenshots_count: audit.recorded_screenshots_count,
        findings: detail
            .findings
            .iter()
            .map(|f| NewFinding {
                key: f.finding_key.clone(),
                pattern_type: f.pattern_type.clone(),
                category: f.category.clone(),
                severity: f.severity.clone(),
                confidence: f.confidence,
                description: f.description.clone(),
                plain_english: f.plain_english.clone(),
                screenshot_index: f.screenshot_index,
                embedding: f.embedding.clone(),
                embedding_model: f.embedding_model.clone(),
                embedding_model_version: f.embedding_model_version.clone(),
                cwe_id: f.cwe_id.clone(),
                cvss_score: f.cvss_score,
                created_at: stored(&f.created_at),
                run: Some(f.run),
            })
            .collect(),
        screenshots,
        events: detail
            .events
            .iter()
            .map(|e| NewEvent {
                event_type: e.event_type.clone(),
                data: e.data.clone().unwrap_or(serde_json::Value::Null),
                timestamp: stored(&e.timestamp),
                run: Some(e.run),
            })
            .collect(),
    };
    report.findings += record.findings.len();
    report.events += record.events.len();
    report.screenshots += record.screenshots.len();
    store.insert_audit(project, record).await
}

/// The last part of a recorded path, whichever machine's separators it has.
fn file_name(path: &str) -> Option<&str> {
    path.rsplit(['/', '\\']).next().filter(|n| !n.is_empty())
}
