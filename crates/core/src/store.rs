//! [`Store`]: the database and the screenshot directory of one data directory, behind one
//! cloneable handle. Every capability of the app and the CLI is a method here.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::changes::{Change, Outcome};
use crate::db::Database;
use crate::error::{Error, ErrorKind, Result};
use crate::ids;
use crate::model::{AuditDetail, AuditRecord, ProjectInfo, Screenshot};
use crate::query::{
    self, AuditFilter, AuditPage, AuditRowPage, Comparison, Facets, ListRequest, SimilarFinding,
};
use crate::screenshots::{self, ImageInfo, ScreenshotDir};

/// The database file's name inside a data directory (the backend's name).
pub const DB_FILE: &str = "veritas_audits.db";
/// The screenshot folder's name inside a data directory (the backend's name).
pub const SCREENSHOTS_DIR: &str = "screenshots";

/// The data directory when none is given: `VERITAS_DATA_DIR`, else the platform's data
/// directory (`~/.local/share/veritas-viewer` on Linux).
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("VERITAS_DATA_DIR").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("veritas-viewer"))
        .ok_or_else(|| Error::new(ErrorKind::Io, "no platform data directory; pass --data-dir"))
}

/// An open data directory.
#[derive(Clone)]
pub struct Store {
    db: Database,
    shots: ScreenshotDir,
    root: PathBuf,
    /// Keeps an ephemeral store's temporary folder alive as long as the store.
    _ephemeral: Option<Arc<tempfile::TempDir>>,
}

impl Store {
    /// Open the data directory `root` (created on first use), migrating its database.
    pub async fn open(root: &Path) -> Result<Store> {
        std::fs::create_dir_all(root.join(SCREENSHOTS_DIR)).map_err(|e| Error::io(root, e))?;
        let db = Database::open(&root.join(DB_FILE)).await?;
        Ok(Store::assemble(db, root.to_path_buf(), None))
    }

    /// An in-memory database and a temporary screenshot folder: nothing is written to any
    /// data directory, and everything is gone when the store is dropped.
    pub async fn open_ephemeral() -> Result<Store> {
        let tmp = tempfile::Builder::new()
            .prefix("veritas-ephemeral-")
            .tempdir()
            .map_err(|e| Error::new(ErrorKind::Io, format!("temporary folder: {e}")))?;
        std::fs::create_dir_all(tmp.path().join(SCREENSHOTS_DIR)).map_err(|e| Error::io(tmp.path(), e))?;
        let db = Database::open_in_memory().await?;
        let root = tmp.path().to_path_buf();
        Ok(Store::assemble(db, root, Some(Arc::new(tmp))))
    }

    fn assemble(db: Database, root: PathBuf, tmp: Option<Arc<tempfile::TempDir>>) -> Store {
        let shots = ScreenshotDir::new(root.join(SCREENSHOTS_DIR), root.join("cache").join("thumbnails"));
        Store {
            db,
            shots,
            root,
            _ephemeral: tmp,
        }
    }

    /// The data directory (a temporary one for an ephemeral store).
    pub fn data_dir(&self) -> &Path {
        &self.root
    }

    pub fn is_ephemeral(&self) -> bool {
        self._ephemeral.is_some()
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn screenshots(&self) -> &ScreenshotDir {
        &self.shots
    }

    pub(crate) async fn write(&self, change: Change) -> Result<Outcome> {
        self.db.write(change).await
    }

    // ---- reads ----

    /// The projects with their audit counts.
    pub async fn projects(&self) -> Result<Vec<ProjectInfo>> {
        query::projects(self.db.reader()).await
    }

    /// One page of the audit list.
    pub async fn list(&self, project: &str, req: &ListRequest) -> Result<AuditPage> {
        query::list_audits(self.db.reader(), ids::project_name(project)?, req).await
    }

    /// One page of the audit list as the list view's rows (no long text or JSON columns).
    pub async fn list_rows(&self, project: &str, req: &ListRequest) -> Result<AuditRowPage> {
        query::list_audit_rows(self.db.reader(), ids::project_name(project)?, req).await
    }

    /// Facet counts under a filter.
    pub async fn facets(&self, project: &str, filter: &AuditFilter) -> Result<Facets> {
        query::facets(self.db.reader(), ids::project_name(project)?, filter).await
    }

    /// An audit with its findings, screenshots (with what their files say) and events.
    pub async fn audit(&self, project: &str, id: &str) -> Result<AuditDetail> {
        let rows =
            query::get_audit_rows(self.db.reader(), ids::project_name(project)?, ids::audit_id(id)?).await?;
        let shots = self.shots.clone();
        let screenshots = tokio::task::spawn_blocking(move || {
            rows.screenshots
                .into_iter()
                .map(|s| describe_file(&shots, s))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, format!("reading screenshot files: {e}")))?;
        Ok(AuditDetail {
            audit: rows.audit,
            findings: rows.findings,
            screenshots,
            events: rows.events,
        })
    }

    /// The audits of one url, oldest first.
    pub async fn history(&self, project: &str, url: &str) -> Result<Vec<crate::model::Audit>> {
        query::history(self.db.reader(), ids::project_name(project)?, url).await
    }

    /// Compare audit `other` with audit `base`.
    pub async fn compare(&self, project: &str, base: &str, other: &str) -> Result<Comparison> {
        query::compare(
            self.db.reader(),
            ids::project_name(project)?,
            ids::audit_id(base)?,
            ids::audit_id(other)?,
        )
        .await
    }

    /// Findings similar to `finding_id` by embedding.
    pub async fn similar_findings(
        &self,
        project: &str,
        finding_id: i64,
        limit: usize,
    ) -> Result<Vec<SimilarFinding>> {
        query::similar_findings(self.db.reader(), ids::project_name(project)?, finding_id, limit).await
    }

    /// The file of screenshot `screenshot_id` of audit `audit_id`, with its sniffed format:
    /// how the app serves a screenshot (never by a path from the UI).
    pub async fn screenshot_file(
        &self,
        project: &str,
        audit_id: &str,
        screenshot_id: i64,
    ) -> Result<(PathBuf, ImageInfo)> {
        let shot = self.screenshot_row(project, audit_id, screenshot_id).await?;
        let shots = self.shots.clone();
        let found = tokio::task::spawn_blocking(move || {
            let path = shots.resolve(&shot.audit_id, &shot.file_path)?;
            let info = screenshots::inspect_file(&path)?;
            Some((path, info))
        })
        .await
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
        found.ok_or_else(|| {
            Error::not_found(format!(
                "the file of screenshot {screenshot_id} of audit {audit_id}"
            ))
        })
    }

    /// A cached JPEG thumbnail of a screenshot, `width` pixels wide.
    pub async fn thumbnail(
        &self,
        project: &str,
        audit_id: &str,
        screenshot_id: i64,
        width: u32,
    ) -> Result<PathBuf> {
        let (source, _) = self.screenshot_file(project, audit_id, screenshot_id).await?;
        let shots = self.shots.clone();
        let audit_id = audit_id.to_string();
        tokio::task::spawn_blocking(move || shots.thumbnail(&audit_id, &source, width))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?
    }

    async fn screenshot_row(&self, project: &str, audit_id: &str, screenshot_id: i64) -> Result<Screenshot> {
        query::get_screenshot_row(
            self.db.reader(),
            ids::project_name(project)?,
            ids::audit_id(audit_id)?,
            screenshot_id,
        )
        .await
    }

    // ---- writes ----

    /// Store a whole audit with its children in one transaction.
    pub async fn insert_audit(&self, project: &str, record: AuditRecord) -> Result<()> {
        ids::audit_id(&record.id)?;
        self.write(Change::InsertAudit {
            project: ids::project_name(project)?.to_string(),
            record: Box::new(record),
        })
        .await
        .map(|_| ())
    }

    /// Delete an audit, its rows and its files.
    pub async fn delete_audit(&self, project: &str, id: &str) -> Result<()> {
        let id = ids::audit_id(id)?;
        self.write(Change::Delete {
            project: ids::project_name(project)?.to_string(),
            audit_id: id.to_string(),
        })
        .await?;
        // Files go after the rows are gone: a crash in between leaves orphan files (which
        // `doctor` reports), never rows pointing at nothing.
        let shots = self.shots.clone();
        let id = id.to_string();
        tokio::task::spawn_blocking(move || shots.remove_audit(&id))
            .await
            .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?
    }

    /// Mark running audits of `project` that nothing has updated for `idle` as
    /// disconnected (their producer is gone). Returns how many.
    pub async fn mark_disconnected(&self, project: &str, idle: Duration) -> Result<u64> {
        let since = chrono::Utc::now() - chrono::Duration::from_std(idle).unwrap_or(chrono::Duration::zero());
        let out = self
            .write(Change::MarkDisconnected {
                project: ids::project_name(project)?.to_string(),
                idle_since: crate::time::to_text(since),
            })
            .await?;
        Ok(out.rows)
    }

    /// Attach an embedding (and the model that made it) to a finding.
    pub async fn set_embedding(
        &self,
        project: &str,
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
            project: ids::project_name(project)?.to_string(),
            finding_id,
            vector,
            model: model.to_string(),
            version: version.to_string(),
        })
        .await
        .map(|_| ())
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
