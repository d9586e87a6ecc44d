// The app's commands are declared here so that Tauri generates an `allow-<command>`
// permission for each and checks every call against the capabilities.
const COMMANDS: &[&str] = &[
    "app_info",
    "switch_storage",
    "projects",
    "list_audits",
    "audit_facets",
    "get_audit",
    "audit_history",
    "compare_audits",
    "audit_changes",
    "screenshot_diff",
    "audit_triage",
    "triage_finding",
    "triage_history",
    "delete_audit",
    "export_audit",
    "load_demo",
    "reveal_path",
    "open_technique",
    "report_timing",
];

fn main() {
    tauri_build::try_build(
        tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(COMMANDS)),
    )
    .expect("tauri-build");
}
