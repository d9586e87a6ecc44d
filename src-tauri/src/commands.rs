//! The app's commands: each takes the shared store from managed state, checks the ids the
//! webview sent (untrusted: `ProjectName::parse`, `AuditId::parse`, errors as
//! `{code, message}`) and delegates to the core. They are async (off the main thread), and
//! many may run at once: the store has no lock, its read pool and writer serve them
//! concurrently.

use serde::Serialize;
use tauri::ipc::Channel;
use tauri::State;
use veritas_core::storage::{Storage, StorageChoice};
use veritas_core::{
    Audit, AuditChanges, AuditDetail, AuditFilter, AuditId, AuditRowPage, AuditTriage, Comparison,
    DemoReport, DiffSummary, Error, ErrorKind, ExportFormat, Facets, FindingTriage, ListRequest, ProjectInfo,
    ProjectName, TriageDecision, TriageRequest, TriageVerdict,
};
use veritas_core::{Backend, Store};

type Result<T> = std::result::Result<T, Error>;

/// Where the app's data lives.
#[cfg_attr(test, derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Serialize)]
pub struct AppInfo {
    pub data_dir: String,
    pub database: String,
    /// Set when the data folder held a choice of databases: which one is open, and why.
    pub database_notice: Option<String>,
    /// Set when the data folder or its database cannot be written: why. The app then reads
    /// everything and every write (triage, delete, export, demo) is refused with that reason.
    pub read_only: Option<String>,
    /// Whether the audits are a team's (PostgreSQL and an object store; `data_dir` is then
    /// the object store and `database` the team database, without password).
    pub team: bool,
    /// Where the audits are, for a person: the data folder, or the team database and store.
    pub storage: String,
    /// The team profile open, by name; `None` on the data folder or on team URLs given on
    /// the command line.
    pub profile: Option<String>,
    /// Whether the command line gave the team database's URLs (no profile or folder chosen).
    pub chosen_by_urls: bool,
    /// The names of the profiles there are to switch to (the profiles file's).
    pub profiles: Vec<String>,
    /// Set when the app did not open what was chosen last (or cannot read the profiles):
    /// why.
    pub storage_notice: Option<String>,
    pub version: String,
    /// Whether the UI should report start-up and IPC timing (the `timing` feature's
    /// `src/timing.rs`).
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
pub async fn app_info(store: State<'_, Storage>) -> Result<AppInfo> {
    describe(&store)
}

/// What the app is on, for [`app_info`] and after a switch.
fn describe(storage: &Storage) -> Result<AppInfo> {
    let store = storage.backend();
    let (data_dir, database, database_notice, read_only) = match &store {
        Backend::Local(store) => (
            store.data_dir().to_string_lossy().into_owned(),
            store.database_file().map_or_else(
                || "in memory (ephemeral: nothing is saved)".to_string(),
                |f| f.to_string_lossy().into_owned(),
            ),
            store.database_notice().map(str::to_string),
            store.read_only().map(str::to_string),
        ),
        Backend::Team(team) => (
            team.objects().url().to_string(),
            team.database().url().to_string(),
            None,
            None,
        ),
    };
    let choice = storage.choice();
    // A broken profiles file must not keep the app from saying where it is: the switcher
    // then offers the folder alone, and the notice says why.
    let (profiles, profiles_error) = match storage.settings().profile_names() {
        Ok(names) => (names, None),
        Err(e) => (
            Vec::new(),
            Some(format!("The team profiles cannot be offered: {e}")),
        ),
    };
    Ok(AppInfo {
        data_dir,
        database,
        database_notice,
        read_only,
        team: matches!(store, Backend::Team(_)),
        storage: store.describe(),
        profile: match &choice {
            Some(StorageChoice::Profile { name }) => Some(name.clone()),
            _ => None,
        },
        chosen_by_urls: choice.is_none(),
        profiles,
        storage_notice: storage.notice().or(profiles_error),
        version: env!("CARGO_PKG_VERSION").to_string(),
        timing: timing_enabled(),
    })
}

/// Switch to the team profile `profile` (from the profiles file), or to the data folder when
/// `None`, and remember it for the next start; the UI reloads itself on what it returns.
/// If it cannot be opened nothing changes and the error says why.
#[tauri::command(rename_all = "snake_case")]
pub async fn switch_storage<R: tauri::Runtime>(
    app: tauri::AppHandle<R>,
    store: State<'_, Storage>,
    profile: Option<String>,
) -> Result<AppInfo> {
    let choice = match profile {
        Some(name) => StorageChoice::Profile { name },
        None => StorageChoice::Folder,
    };
    store.switch_storage(choice).await?;
    crate::watch_changes(&app);
    describe(&store)
}

/// The local store, for a command the team engine does not have yet (named in its error).
fn local<'a>(store: &'a Backend, command: &str) -> Result<&'a Store> {
    store.local(command)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn projects(store: State<'_, Storage>) -> Result<Vec<ProjectInfo>> {
    let store = store.backend();
    store.projects().await
}

/// A page of the list as rows: the list view shows no narrative or JSON columns, so they
/// are not sent.
#[tauri::command(rename_all = "snake_case")]
pub async fn list_audits(
    store: State<'_, Storage>,
    project: String,
    request: ListRequest,
) -> Result<AuditRowPage> {
    let store = store.backend();
    store.list_audits(&ProjectName::parse(&project)?, &request).await
}

/// The sidebar's facets: a request stops this window's previous one (which answers
/// `cancelled`); without `exact`, counts past the budget come as labelled estimates.
#[tauri::command(rename_all = "snake_case")]
pub async fn audit_facets<R: tauri::Runtime>(
    window: tauri::Window<R>,
    store: State<'_, Storage>,
    project: String,
    filter: AuditFilter,
    exact: Option<bool>,
) -> Result<Facets> {
    let store = store.backend();
    store
        .audit_facets_superseding(
            window.label(),
            &ProjectName::parse(&project)?,
            &filter,
            exact.unwrap_or(false),
        )
        .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn get_audit(store: State<'_, Storage>, project: String, id: String) -> Result<AuditDetail> {
    let store = store.backend();
    store
        .get_audit(&ProjectName::parse(&project)?, &AuditId::parse(&id)?)
        .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn audit_history(store: State<'_, Storage>, project: String, url: String) -> Result<Vec<Audit>> {
    let store = store.backend();
    store.audit_history(&ProjectName::parse(&project)?, &url).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn compare_audits(
    store: State<'_, Storage>,
    project: String,
    base: String,
    other: String,
) -> Result<Comparison> {
    let store = store.backend();
    let (base, other) = (AuditId::parse(&base)?, AuditId::parse(&other)?);
    store
        .compare_audits(&ProjectName::parse(&project)?, &base, &other)
        .await
}

/// How much changed between two screenshots (the heat map itself comes through `shot:`).
#[tauri::command(rename_all = "snake_case")]
pub async fn screenshot_diff(
    store: State<'_, Storage>,
    project: String,
    before_audit: String,
    before: i64,
    after_audit: String,
    after: i64,
) -> Result<DiffSummary> {
    let store = store.backend();
    let (a, b) = (AuditId::parse(&before_audit)?, AuditId::parse(&after_audit)?);
    store
        .screenshot_diff(&ProjectName::parse(&project)?, &a, before, &b, after)
        .await
        .map(|(summary, _)| summary)
}

/// An audit's findings against the previous audit of its site.
#[tauri::command(rename_all = "snake_case")]
pub async fn audit_changes(store: State<'_, Storage>, project: String, id: String) -> Result<AuditChanges> {
    let store = store.backend();
    store
        .audit_changes(&ProjectName::parse(&project)?, &AuditId::parse(&id)?)
        .await
}

/// Each finding of an audit under its site's triage decisions.
#[tauri::command(rename_all = "snake_case")]
pub async fn audit_triage(store: State<'_, Storage>, project: String, id: String) -> Result<AuditTriage> {
    let store = store.backend();
    store
        .audit_triage(&ProjectName::parse(&project)?, &AuditId::parse(&id)?)
        .await
}

/// Record a verdict on a finding; `author` is the name set in the app, else the OS user's.
#[tauri::command(rename_all = "snake_case")]
pub async fn triage_finding(
    store: State<'_, Storage>,
    project: String,
    finding_id: i64,
    verdict: String,
    note: String,
    author: Option<String>,
    only_this_audit: bool,
) -> Result<FindingTriage> {
    let store = store.backend();
    let request = TriageRequest {
        finding_id,
        verdict: TriageVerdict::parse(&verdict)?,
        note,
        author: author.filter(|a| !a.trim().is_empty()),
        only_this_audit,
    };
    store
        .triage_finding(&ProjectName::parse(&project)?, request)
        .await
}

/// Every decision about a finding's problem on its site, newest first.
#[tauri::command(rename_all = "snake_case")]
pub async fn triage_history(
    store: State<'_, Storage>,
    project: String,
    finding_id: i64,
) -> Result<Vec<TriageDecision>> {
    let store = store.backend();
    store
        .triage_history(&ProjectName::parse(&project)?, finding_id)
        .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn delete_audit(store: State<'_, Storage>, project: String, id: String) -> Result<()> {
    let store = store.backend();
    store
        .delete_audit(&ProjectName::parse(&project)?, &AuditId::parse(&id)?)
        .await
}

/// Write the export into `<data dir>/exports/` (on a team database: the downloads folder)
/// and return the file's path; findings triaged away are left out (and counted in it)
/// unless `include_hidden`.
#[tauri::command(rename_all = "snake_case")]
pub async fn export_audit(
    store: State<'_, Storage>,
    project: String,
    id: String,
    format: ExportFormat,
    include_hidden: Option<bool>,
) -> Result<String> {
    let store = store.backend();
    let path = store
        .export_audit_to_folder(
            &ProjectName::parse(&project)?,
            &AuditId::parse(&id)?,
            format,
            include_hidden.unwrap_or(false),
        )
        .await?;
    Ok(path.to_string_lossy().into_owned())
}

#[tauri::command(rename_all = "snake_case")]
pub async fn load_demo(
    store: State<'_, Storage>,
    project: String,
    count: usize,
    on_progress: Channel<Progress>,
) -> Result<DemoReport> {
    let store = store.backend();
    local(&store, "loading demo audits")?
        .load_demo(&ProjectName::parse(&project)?, count, &mut |done, total| {
            let _ = on_progress.send(Progress { done, total });
        })
        .await
}

/// Show the data folder, or a file the app wrote into it, in the file manager. Only paths
/// inside the data directory: the UI cannot make the app reveal anything else.
#[tauri::command(rename_all = "snake_case")]
pub async fn reveal_path(store: State<'_, Storage>, path: Option<String>) -> Result<()> {
    let store = store.backend();
    let target = local(&store, "showing the data folder")?
        .path_in_data_dir(path.as_deref().map(std::path::Path::new))?;
    tauri_plugin_opener::reveal_item_in_dir(&target).map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot show {} in the file manager: {e}", target.display()),
        )
    })
}

/// Open the public page of MITRE ATT&CK technique `id` in the system browser: only a
/// well-formed id (`T1566`, `T1566.001`) makes a URL, and only on attack.mitre.org, so the
/// webview cannot have the app open anything else.
#[tauri::command(rename_all = "snake_case")]
pub async fn open_technique(id: String) -> Result<()> {
    let url = veritas_core::mitre_technique_url(&id).ok_or_else(|| {
        Error::invalid(
            format!("technique {:?}", veritas_core::ids::quote_prefix(&id)),
            "is not a MITRE ATT&CK technique id (T1234 or T1234.001)",
        )
    })?;
    tauri_plugin_opener::open_url(&url, None::<&str>)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot open {url} in the browser: {e}")))
}

/// A timing report from the UI, printed for the benchmark; refused unless timing is on.
#[tauri::command(rename_all = "snake_case")]
pub async fn report_timing(name: String, samples_ms: Vec<f64>) -> Result<()> {
    #[cfg(feature = "timing")]
    return crate::timing::report(&name, &samples_ms);
    #[cfg(not(feature = "timing"))]
    {
        let _ = (name, samples_ms);
        Err(Error::invalid(
            "timing report",
            "this build has no timing reports (built without the `timing` feature), \
             so VERITAS_VIEWER_TIMING has no effect",
        ))
    }
}

/// Whether the UI should report timing: only in a build with the `timing` feature, started
/// with `VERITAS_VIEWER_TIMING=1`.
fn timing_enabled() -> bool {
    #[cfg(feature = "timing")]
    return crate::timing::enabled();
    #[cfg(not(feature = "timing"))]
    false
}
