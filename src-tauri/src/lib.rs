//! The Veritas Viewer app: a Tauri 2 window over `veritas_core::Store`. Commands are thin
//! (see [`commands`]); screenshots reach the webview through the `shot:` scheme served
//! by [`protocol`]; writes by any process are pushed to the UI as an event.

pub mod commands;
pub mod protocol;
pub mod timing;

use std::path::PathBuf;
use std::time::Duration;

use tauri::{Emitter, Manager, Runtime};
use veritas_core::Store;

/// The event the UI listens to: something was committed to the database.
pub const CHANGED_EVENT: &str = "veritas://changed";

/// How often the database is asked whether anything changed (cheap: one PRAGMA).
const WATCH_EVERY: Duration = Duration::from_millis(300);

/// The app's state, commands and protocol on `builder`: generic over the runtime so that
/// tests can build the same app on Tauri's mock runtime.
pub fn configure<R: Runtime>(builder: tauri::Builder<R>, store: Store) -> tauri::Builder<R> {
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
            commands::delete_audit,
            commands::export_audit,
            commands::load_demo,
            commands::reveal_path,
            commands::report_timing,
        ])
}

/// Open the data directory and run the app until its window closes.
pub fn run(data_dir: Option<PathBuf>) -> Result<(), veritas_core::Error> {
    let dir = match data_dir {
        Some(d) => d,
        None => veritas_core::default_data_dir()?,
    };
    let store = tauri::async_runtime::block_on(Store::open(&dir))?;
    configure(tauri::Builder::default(), store)
        .plugin(tauri_plugin_window_state::Builder::default().build())
        .setup(|app| {
            let handle = app.handle().clone();
            let store = app.state::<Store>().inner().clone();
            tauri::async_runtime::spawn(async move {
                let watching = store
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
        .map_err(|e| veritas_core::Error::new(veritas_core::ErrorKind::Io, format!("the window failed: {e}")))
}
