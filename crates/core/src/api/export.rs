//! Exporting one audit: JSON (everything), CSV (its findings), or a self-contained HTML
//! report with its screenshots.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Result};
use crate::export::{self, ExportFormat};
use crate::ids::{AuditId, ProjectName};
use crate::{Backend, Store};

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
        export::render(&Backend::Local(self.clone()), project, id, format, false).await
    }

    /// As [`Store::export_audit`], with the findings triage hid too
    /// (`veritas-db export --include-hidden`).
    pub async fn export_audit_with_hidden(
        &self,
        project: &ProjectName,
        id: &AuditId,
        format: ExportFormat,
    ) -> Result<String> {
        export::render(&Backend::Local(self.clone()), project, id, format, true).await
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
        let text = export::render(&Backend::Local(self.clone()), project, id, format, include_hidden).await?;
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

impl Backend {
    /// Audit `id` of `project` in `format`, as text (see [`Store::export_audit`]); with
    /// `include_hidden`, the findings triage hid are kept.
    pub async fn export_audit(
        &self,
        project: &ProjectName,
        id: &AuditId,
        format: ExportFormat,
        include_hidden: bool,
    ) -> Result<String> {
        export::render(self, project, id, format, include_hidden).await
    }

    /// Write the export of audit `id` where the person can find it and return the file's
    /// path: a data folder's `exports/` (see [`Store::export_audit_to_folder`]), or for a team
    /// database, which has no folder on this machine, the user's downloads folder (else
    /// their home folder), as `<id>.<extension>`.
    pub async fn export_audit_to_folder(
        &self,
        project: &ProjectName,
        id: &AuditId,
        format: ExportFormat,
        include_hidden: bool,
    ) -> Result<PathBuf> {
        match self {
            Backend::Local(store) => {
                store
                    .export_audit_to_folder(project, id, format, include_hidden)
                    .await
            }
            Backend::Team(_) => {
                let dir = dirs::download_dir()
                    .or_else(dirs::home_dir)
                    .ok_or_else(|| Error::new(ErrorKind::Io, "no downloads or home folder to export into"))?;
                let text = export::render(self, project, id, format, include_hidden).await?;
                // The id is checked (an AuditId), so it is a safe file name.
                let path = dir.join(format!("{id}.{}", format.extension()));
                crate::blocking(move || {
                    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
                    crate::screenshots::write_atomically(&dir, &path, text.as_bytes())?;
                    Ok(path)
                })
                .await?
            }
        }
    }
}
