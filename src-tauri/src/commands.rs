//! The app's commands: each takes the shared store from managed state and delegates to the
//! core. They are async (off the main thread), and many may run at once: the store has no
//! lock, its read pool and writer serve them concurrently.

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use veritas_core::demo::DemoReport;
use veritas_core::export::ExportFormat;
use veritas_core::{
    Audit, AuditDetail, AuditFilter, AuditRowPage, Comparison, Error, ErrorKind, Facets, ListRequest,
    ProjectInfo, Store,
};

type Result<T> = std::result::Result<T, Error>;

/// Where the app's data lives.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub data_dir: String,
    pub database: String,
    pub version: String,
    /// Whether the UI should report start-up and IPC timing (see [`crate::timing`]).
    pub timing: bool,
}

/// Demo loading progress.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

#[tauri::command(rename_all = "snake_case")]
pub async fn app_info(store: State<'_, Store>) -> Result<AppInfo> {
    Ok(AppInfo {
        data_dir: store.data_dir().to_string_lossy().into_owned(),
        database: store
            .data_dir()
            .join(veritas_core::DB_FILE)
            .to_string_lossy()
            .into_owned(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        timing: crate::timing::enabled(),
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn projects(store: State<'_, Store>) -> Result<Vec<ProjectInfo>> {
    store.projects().await
}

/// A page of the list as rows: the list view shows no narrative or JSON columns, so they
/// are not sent.
#[tauri::command(rename_all = "snake_case")]
pub async fn list_audits(
    store: State<'_, Store>,
    project: String,
    request: ListRequest,
) -> Result<AuditRowPage> {
    store.list_rows(&project, &request).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn audit_facets(store: State<'_, Store>, project: String, filter: AuditFilter) -> Result<Facets> {
    store.facets(&project, &filter).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_audit(store: State<'_, Store>, project: String, id: String) -> Result<AuditDetail> {
    store.audit(&project, &id).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn audit_history(store: State<'_, Store>, project: String, url: String) -> Result<Vec<Audit>> {
    store.history(&project, &url).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn compare_audits(
    store: State<'_, Store>,
    project: String,
    base: String,
    other: String,
) -> Result<Comparison> {
    store.compare(&project, &base, &other).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delete_audit(store: State<'_, Store>, project: String, id: String) -> Result<()> {
    store.delete_audit(&project, &id).await
}

/// Write the export into `<data dir>/exports/` and return the file's path.
#[tauri::command(rename_all = "snake_case")]
pub async fn export_audit(
    store: State<'_, Store>,
    project: String,
    id: String,
    format: ExportFormat,
) -> Result<String> {
    let text = store.export(&project, &id, format).await?;
    let dir = store.data_dir().join("exports");
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| Error::io(&dir, e))?;
    // `id` was checked by the export (a plain identifier), so it is a safe file name.
    let path = dir.join(format!("{id}.{}", format.extension()));
    tokio::fs::write(&path, text)
        .await
        .map_err(|e| Error::io(&path, e))?;
    Ok(path.to_string_lossy().into_owned())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn load_demo(
    store: State<'_, Store>,
    project: String,
    count: usize,
    on_progress: Channel<Progress>,
) -> Result<DemoReport> {
    veritas_core::demo::load_demo(&store, &project, count, &mut |done, total| {
        let _ = on_progress.send(Progress { done, total });
    })
    .await
}

/// Show the data folder, or a file the app wrote into it, in the file manager. Only paths
/// inside the data directory: the UI cannot make the app reveal anything else.
#[tauri::command(rename_all = "snake_case")]
pub async fn reveal_path(store: State<'_, Store>, path: Option<String>) -> Result<()> {
    let root = std::fs::canonicalize(store.data_dir()).map_err(|e| Error::io(store.data_dir(), e))?;
    let target = match path {
        None => root.clone(),
        Some(p) => std::fs::canonicalize(&p).map_err(|e| Error::io(std::path::Path::new(&p), e))?,
    };
    if !target.starts_with(&root) {
        return Err(Error::invalid(
            target.display(),
            "is not inside the data directory",
        ));
    }
    tauri_plugin_opener::reveal_item_in_dir(&target).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot show {} in the file manager: {e}", target.display()),
        )
    })
}

/// A timing report from the UI, printed for the benchmark; refused unless timing is on.
#[tauri::command(rename_all = "snake_case")]
pub async fn report_timing(name: String, samples_ms: Vec<f64>) -> Result<()> {
    crate::timing::report(&name, &samples_ms)
}
