//! The smallest Tauri 2 app: one window showing one static page. `veritas-bench` starts it
//! beside the app to measure what Tauri and WebKitGTK cost on their own
//! (`app_start_minimal_ms`). The page, once drawn, asks for `painted://localhost/`; that
//! request prints the same `veritas-timing` line the app prints when its list is drawn.

use std::io::Write;

fn main() {
    tauri::Builder::default()
        .register_uri_scheme_protocol("painted", |_ctx, _request| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, r#"veritas-timing {{"name":"list_painted","samples_ms":[]}}"#);
            let _ = out.flush();
            tauri::http::Response::builder()
                .status(204)
                .body(Vec::new())
                .expect("a static response")
        })
        .run(tauri::generate_context!())
        .expect("the minimal window failed");
}
