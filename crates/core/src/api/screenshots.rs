//! Screenshots as the app serves them: by audit and screenshot id, never by a path from the
//! UI, with the format sniffed from the bytes; and their cached thumbnails.

use std::path::PathBuf;

use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::model::Screenshot;
use crate::query;
use crate::screenshots::{self, DiffSummary, ImageInfo, ScreenshotDir};
use crate::Store;

impl Store {
    /// The file of screenshot `screenshot_id` of audit `audit_id`, with its sniffed format:
    /// how the `shot:` scheme finds what to serve.
    pub async fn screenshot_file(
        &self,
        project: &ProjectName,
        audit_id: &AuditId,
        screenshot_id: i64,
    ) -> Result<(PathBuf, ImageInfo)> {
        let shot =
            query::get_screenshot_row(self.database().reader(), project, audit_id, screenshot_id).await?;
        let shots = self.screenshots().clone();
        let found = crate::blocking(move || {
            let path = shots.resolve(&shot.audit_id, &shot.file_path)?;
            let info = screenshots::inspect_file(&path)?;
            Some((path, info))
        })
        .await?;
        found.ok_or_else(|| {
            Error::not_found(format!(
                "the file of screenshot {screenshot_id} of audit {audit_id}"
            ))
        })
    }

    /// A cached JPEG thumbnail of a screenshot, `width` pixels wide (the `shot:` scheme's
    /// `?w=`).
    pub async fn thumbnail(
        &self,
        project: &ProjectName,
        audit_id: &AuditId,
        screenshot_id: i64,
        width: u32,
    ) -> Result<PathBuf> {
        let (source, _) = self.screenshot_file(project, audit_id, screenshot_id).await?;
        let shots = self.screenshots().clone();
        let audit_id = audit_id.clone();
        crate::blocking(move || shots.thumbnail(&audit_id, &source, width)).await?
    }

    /// The difference of two screenshots of `project` (`before` of audit `before_audit`,
    /// `after` of `after_audit`): what share of the page changed, and the cached heat map's
    /// path (the `shot:` scheme's `/diff/...`; `screenshot_diff`).
    pub async fn screenshot_diff(
        &self,
        project: &ProjectName,
        before_audit: &AuditId,
        before: i64,
        after_audit: &AuditId,
        after: i64,
    ) -> Result<(DiffSummary, PathBuf)> {
        let (a, _) = self.screenshot_file(project, before_audit, before).await?;
        let (b, _) = self.screenshot_file(project, after_audit, after).await?;
        let shots = self.screenshots().clone();
        let (x, y) = (before_audit.clone(), after_audit.clone());
        crate::blocking(move || shots.diff(&x, &a, &y, &b)).await?
    }

    /// Fill in what the files of screenshot rows say (off the async threads: it reads
    /// every file's header).
    pub(crate) async fn describe_files(&self, rows: Vec<Screenshot>) -> Result<Vec<Screenshot>> {
        let shots = self.screenshots().clone();
        crate::blocking(move || rows.into_iter().map(|s| describe_file(&shots, s)).collect()).await
    }
}

/// Fill in what the file of a screenshot row says: where it is, whether it exists, its
/// real format and size.
fn describe_file(shots: &ScreenshotDir, mut s: Screenshot) -> Screenshot {
    if let Some(path) = shots.resolve(&s.audit_id, &s.file_path) {
        s.exists = true;
        if let Some(info) = screenshots::inspect_file(&path) {
            s.format = Some(info.format.name().to_string());
            s.width = Some(info.width);
            s.height = Some(info.height);
        }
        s.resolved_path = Some(path.to_string_lossy().into_owned());
    }
    s
}
