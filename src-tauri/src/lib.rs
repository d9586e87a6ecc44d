//! The Veritas Viewer app: a Tauri 2 window over a `veritas_core::Backend` (a local data
//! folder, or a team's PostgreSQL database and object store). Commands are thin
//! (see [`commands`]); screenshots reach the webview through the `shot:` scheme served
//! by [`protocol`]; writes by any process are pushed to the UI as an event.

pub mod commands;
pub mod protocol;
#[cfg(feature = "timing")]
pub mod timing;

use std::path::PathBuf;
use std::time::Duration;

use tauri::{Emitter, Manager, Runtime};
use veritas_core::team::TeamStore;
use veritas_core::{Backend, Location, Store};

/// The event the UI listens to: something was committed to the database.
pub const CHANGED_EVENT: &str = "veritas://changed";

/// How often the database is asked whether anything changed (cheap: one PRAGMA).
const WATCH_EVERY: Duration = Duration::from_millis(300);

/// The app's state, commands and protocol on `builder`: generic over the runtime so that
/// tests can build the same app on Tauri's mock runtime.
pub fn configure<R: Runtime>(builder: tauri::Builder<R>, store: Backend) -> tauri::Builder<R> {
    builder
        .manage(store)
        .register_asynchronous_uri_scheme_protocol(protocol::SCHEME, protocol::handle)
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
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

/// A team's database and object store to open instead of a data folder (team mode).
#[derive(Debug, Clone)]
pub struct Team {
    /// `postgres://user[:password]@host/database`.
    pub database: String,
    /// `s3://bucket/prefix` or `file:///folder`.
    pub objects: String,
}

/// Open the data directory (chosen as `veritas-db` chooses it: see
/// [`Location::choose`]), or the team store when `team` is given, and run the app until its
/// window closes.
pub fn run(
    data_dir: Option<PathBuf>,
    ephemeral: bool,
    team: Option<Team>,
) -> Result<(), veritas_core::Error> {
    let backend = match team {
        Some(team) => Backend::Team(tauri::async_runtime::block_on(TeamStore::open(
            &team.database,
            &team.objects,
        ))?),
        None => {
            let location = Location::choose(data_dir, ephemeral)?;
            if let Location::Ephemeral(_) = location {
                eprintln!("veritas-viewer: ephemeral mode: an in-memory database; nothing is saved");
            }
            Backend::Local(tauri::async_runtime::block_on(Store::open_at(&location))?)
        }
    };
    eprintln!("veritas-viewer: audits from the {}", backend.describe());
    configure(tauri::Builder::default(), backend)
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .setup(|app| {
            let handle = app.handle().clone();
            let backend = app.state::<Backend>().inner().clone();
            tauri::async_runtime::spawn(async move {
                // A local database is asked every WATCH_EVERY; a team database notifies.
                let watching = backend
                    .watch_changes(WATCH_EVERY, move || {
                        let _ = handle.emit(CHANGED_EVENT, ());
                    })
                    .await;
                if let Err(e) = watching {
                    eprintln!("veritas-viewer: live updates are off: {e}");
                }
            });
            Ok(())
        })
        .run(tauri::generate_context!())
        .map_err(|e| veritas_core::Error::caused(veritas_core::ErrorKind::Internal, "the window failed", e))
}
