//! Triage: verdicts on findings that follow the problem across a site's audits, their
//! history, and their exchange between analysts.

use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::query;
use crate::triage::{
    check_export, check_text, conflicting_keys, os_user_name, AuditTriage, FindingTriage, TriageDecision,
    TriageExport, TriageImport, TriageVerdict, AUTHOR_MAX, NOTE_MAX,
};
use crate::write::{Change, NewDecision};
use crate::Store;

/// How a decision is to be recorded.
#[derive(Debug, Clone)]
pub struct TriageRequest {
    pub finding_id: i64,
    pub verdict: TriageVerdict,
    pub note: String,
    /// Who decides; `None`: the OS user.
    pub author: Option<String>,
    /// For this finding's audit alone (an override), not for the site.
    pub only_this_audit: bool,
}

/// The request's note checked, and its author (the OS user's name where none is given),
/// checked and trimmed: the same for every storage engine.
pub(crate) fn checked_author(req: &TriageRequest) -> Result<String> {
    if req.note.chars().count() > NOTE_MAX {
        return Err(Error::invalid(
            "triage note",
            format!("is longer than {NOTE_MAX} characters"),
        ));
    }
    let author = req.author.clone().unwrap_or_else(os_user_name);
    check_text("author", &author, AUTHOR_MAX).map_err(|why| Error::invalid("triage author", why))?;
    Ok(author.trim().to_string())
}

impl Store {
    /// Record a verdict on a finding's problem (`triage_finding`; `veritas-db triage`), and
    /// return how the finding now stands in its audit.
    pub async fn triage_finding(&self, project: &ProjectName, req: TriageRequest) -> Result<FindingTriage> {
        let author = checked_author(&req)?;
        self.write(Change::Triage {
            project: project.to_string(),
            decision: NewDecision {
                finding_id: req.finding_id,
                verdict: req.verdict,
                note: req.note,
                author,
                decided_at: crate::time::now_text(),
                only_this_audit: req.only_this_audit,
            },
        })
        .await?;
        let audit: String = sqlx::query_scalar("SELECT audit_id FROM audit_findings WHERE id = ?1")
            .bind(req.finding_id)
            .fetch_one(self.database().reader())
            .await?;
        let id = AuditId::parse(&audit)?;
        self.audit_triage(project, &id)
            .await?
            .findings
            .into_iter()
            .find(|f| f.finding_id == req.finding_id)
            .ok_or_else(|| Error::not_found(format!("finding {} in project {project}", req.finding_id)))
    }

    /// Each finding of audit `id` under its site's decisions (`audit_triage`).
    pub async fn audit_triage(&self, project: &ProjectName, id: &AuditId) -> Result<AuditTriage> {
        query::triage::audit_triage(self.database().reader(), project, id).await
    }

    /// Every decision about a finding's problem on its site, newest first
    /// (`triage_history`; `veritas-db triage --history`).
    pub async fn triage_history(
        &self,
        project: &ProjectName,
        finding_id: i64,
    ) -> Result<Vec<TriageDecision>> {
        query::triage::finding_history(self.database().reader(), project, finding_id).await
    }

    /// Every decision of `project` (`veritas-db triage export`).
    pub async fn export_triage(&self, project: &ProjectName) -> Result<TriageExport> {
        Ok(TriageExport {
            format: "veritas-triage".into(),
            version: 1,
            project: project.to_string(),
            exported_at: crate::time::now_text(),
            decisions: query::triage::project_decisions(self.database().reader(), project).await?,
        })
    }

    /// Merge another analyst's export `text` (read from `from`) into `project`, by site and
    /// fingerprint: new decisions are added, known ones kept, and disagreements reported and
    /// kept as conflicts (`veritas-db triage import`).
    pub async fn import_triage(&self, project: &ProjectName, text: &str, from: &str) -> Result<TriageImport> {
        let export = check_export(text)?;
        let total = export.decisions.len();
        let added = self
            .write(Change::ImportTriage {
                project: project.to_string(),
                decisions: export.decisions,
                from: from.to_string(),
            })
            .await?
            .rows as usize;
        let all = query::triage::project_decisions(self.database().reader(), project).await?;
        Ok(TriageImport {
            added,
            known: total - added,
            conflicts: conflicting_keys(&all),
        })
    }
}
