//! The Veritas Viewer app: a Tauri 2 window over a `veritas_core::Backend` (a local data
//! folder, or a team's PostgreSQL database and object store), which the person may switch
//! (`veritas_core::storage::Storage`). Commands are thin
//! (see [`commands`]); screenshots reach the webview through the `shot:` scheme served
//! by [`protocol`]; writes by any process are pushed to the UI as an event.

pub mod commands;
pub mod protocol;
#[cfg(feature = "timing")]
pub mod timing;

use std::time::Duration;

use tauri::{Emitter, Manager, Runtime};
use veritas_core::storage::{StartOptions, Storage};
use veritas_core::Backend;

/// The event the UI listens to: something was committed to the database.
pub const CHANGED_EVENT: &str = "veritas://changed";

/// How often the database is asked whether anything changed (cheap: one PRAGMA).
const WATCH_EVERY: Duration = Duration::from_millis(300);

/// The app's state, commands and protocol on `builder`: generic over the runtime so that
/// tests can build the same app on Tauri's mock runtime.
pub fn configure<R: Runtime>(builder: tauri::Builder<R>, storage: Storage) -> tauri::Builder<R> {
    builder
        .manage(storage)
        .manage(Watcher::default())
        .register_asynchronous_uri_scheme_protocol(protocol::SCHEME, protocol::handle)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::switch_storage,
            commands::projects,
            commands::list_audits,
            commands::audit_facets,
            commands::get_audit,
            commands::audit_history,
            commands::compare_audits,
            commands::audit_changes,
            commands::screenshot_diff,
            commands::audit_triage,
            commands::triage_finding,
            commands::triage_history,
            commands::delete_audit,
            commands::export_audit,
            commands::load_demo,
            commands::reveal_path,
            commands::open_technique,
            commands::report_timing,
        ])
}

/// The task that tells the UI of changes to the storage open now (replaced on a switch).
#[derive(Default)]
pub struct Watcher(std::sync::Mutex<Option<tauri::async_runtime::JoinHandle<()>>>);

/// Watch the storage open now for changes by any process, and emit [`CHANGED_EVENT`] on
/// each: a local database is asked every [`WATCH_EVERY`], a team database notifies. Stops
/// watching the one watched before.
pub fn watch_changes<R: Runtime>(app: &tauri::AppHandle<R>) {
    let handle = app.clone();
    let backend = app.state::<Storage>().backend();
    let task = tauri::async_runtime::spawn(async move {
        let watching = backend
            .watch_changes(WATCH_EVERY, move || {
                let _ = handle.emit(CHANGED_EVENT, ());
            })
            .await;
        if let Err(e) = watching {
            eprintln!("veritas-viewer: live updates are off: {e}");
        }
    });
    let watcher = app.state::<Watcher>();
    let previous = watcher.0.lock().expect("watcher lock").replace(task);
    if let Some(previous) = previous {
        previous.abort();
    }
}

/// Open the storage the command line names (else the one chosen last in the app, else the
/// default data folder: see [`veritas_core::storage`]) and run the app until its window
/// closes.
pub fn run(options: StartOptions) -> Result<(), veritas_core::Error> {
    let storage = tauri::async_runtime::block_on(Storage::open(options))?;
    let backend = storage.backend();
    if let Backend::Local(store) = &backend {
        if store.database_file().is_none() {
            eprintln!("veritas-viewer: ephemeral mode: an in-memory database; nothing is saved");
        }
    }
    if let Some(notice) = storage.notice() {
        eprintln!("veritas-viewer: {notice}");
    }
    eprintln!("veritas-viewer: audits from the {}", backend.describe());
    configure(tauri::Builder::default(), storage)
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .setup(|app| {
            watch_changes(app.handle());
            Ok(())
        })
        .run(tauri::generate_context!())
        .map_err(|e| veritas_core::Error::caused(veritas_core::ErrorKind::Internal, "the window failed", e))
}
