//! Exporting one audit: JSON (everything), CSV (its findings), or a self-contained HTML
//! report with its screenshots.

use std::path::PathBuf;

use crate::error::Result;
use crate::export::{self, ExportFormat};
use crate::ids::{AuditId, ProjectName};
use crate::Store;

/// The folder of a data directory that the app's exports are written into.
pub const EXPORTS_DIR: &str = "exports";

impl Store {
    /// Audit `id` of `project` in `format`, as text (`veritas-db export`). Findings triaged
    /// as false positives or accepted risks are left out, and the export says how many.
    pub async fn export_audit(
        &self,
        project: &ProjectName,
        id: &AuditId,
        format: ExportFormat,
    ) -> Result<String> {
        export::render(self, project, id, format, false).await
    }

    /// As [`Store::export_audit`], with the findings triage hid too
    /// (`veritas-db export --include-hidden`).
    pub async fn export_audit_with_hidden(
        &self,
        project: &ProjectName,
        id: &AuditId,
        format: ExportFormat,
    ) -> Result<String> {
        export::render(self, project, id, format, true).await
    }

    /// Write the export of audit `id` into the data directory's `exports/` folder, as
    /// `<id>.<extension>`, and return the file's path (`export_audit`: the app writes its
    /// exports where the user can find them beside the data). With `include_hidden`, the
    /// findings triage hid are kept (the findings view's switch).
    pub async fn export_audit_to_folder(
        &self,
        project: &ProjectName,
        id: &AuditId,
        format: ExportFormat,
        include_hidden: bool,
    ) -> Result<PathBuf> {
        self.check_writable()?;
        // The id is checked (an AuditId), so it is a safe file name.
        let text = export::render(self, project, id, format, include_hidden).await?;
        let (base, name) = (
            self.data_dir().to_path_buf(),
            format!("{id}.{}", format.extension()),
        );
        // Not through a link: `exports/` or a planted `exports/<id>.html` link would have the
        // export overwrite a file out of the data folder. The rename replaces a link at the
        // file's own name instead of writing through it.
        crate::blocking(move || {
            let dir = crate::paths::own_folder(&base, &[EXPORTS_DIR], true)?.unwrap_or_default();
            let path = dir.join(name);
            crate::screenshots::write_atomically(&dir, &path, text.as_bytes())?;
            Ok(path)
        })
        .await?
    }
}
