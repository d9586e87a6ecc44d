//! Screenshots of a team store as the app serves them: by audit and screenshot id (never a
//! URL of the store given to the webview), read from the object store through the core,
//! checked against their content key, and kept as local copies so that thumbnails and
//! diffs are made exactly as for a data folder's files.

use std::path::PathBuf;

use super::TeamStore;
use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::screenshots::{self, DiffSummary, ImageInfo};

impl TeamStore {
    /// A local copy of screenshot `screenshot_id` of audit `audit_id`, with its format (the
    /// `shot:` scheme's original).
    pub async fn screenshot_file(
        &self,
        project: &ProjectName,
        audit_id: &AuditId,
        screenshot_id: i64,
    ) -> Result<(PathBuf, ImageInfo)> {
        let key: Option<Option<String>> = sqlx::query_scalar(
            "SELECT s.object_key FROM audit_screenshots s JOIN audits a ON a.id = s.audit_id
             WHERE s.id = $1 AND s.audit_id = $2 AND a.project = $3",
        )
        .bind(screenshot_id)
        .bind(audit_id.as_str())
        .bind(project.as_str())
        .fetch_optional(self.database().pool())
        .await?;
        let missing = || {
            Error::not_found(format!(
                "the file of screenshot {screenshot_id} of audit {audit_id}"
            ))
        };
        let key = key.ok_or_else(missing)?.ok_or_else(missing)?;
        // The content key's digest names the copy: the same bytes are fetched once.
        let name = key.rsplit('/').next().unwrap_or_default().to_string();
        let cached = self.cache.audit_dir(audit_id).join(&name);
        let bytes = if cached.is_file() {
            None
        } else {
            Some(self.objects().get(&key).await?)
        };
        let (cache, audit) = (self.cache.clone(), audit_id.clone());
        crate::blocking(move || {
            let path = match bytes {
                Some(bytes) => cache.keep_copy(&audit, &name, &bytes)?,
                None => cached,
            };
            let info = screenshots::inspect_file(&path)
                .ok_or_else(|| Error::invalid(path.display(), "not an image the viewer can show"))?;
            Ok((path, info))
        })
        .await?
    }

    /// A cached JPEG thumbnail of a screenshot, `width` pixels wide.
    pub async fn thumbnail(
        &self,
        project: &ProjectName,
        audit_id: &AuditId,
        screenshot_id: i64,
        width: u32,
    ) -> Result<PathBuf> {
        let (source, _) = self.screenshot_file(project, audit_id, screenshot_id).await?;
        let (cache, audit) = (self.cache.clone(), audit_id.clone());
        crate::blocking(move || cache.thumbnail(&audit, &source, width)).await?
    }

    /// The difference of two screenshots, and its cached heat map.
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
        let cache = self.cache.clone();
        let (x, y) = (before_audit.clone(), after_audit.clone());
        crate::blocking(move || cache.diff(&x, &a, &y, &b)).await?
    }
}
