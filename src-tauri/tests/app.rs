//! The app's commands through Tauri's mock runtime, with the real configuration and
//! capabilities (so permission checks are the real ones), on a real data directory.

use std::sync::Arc;

use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewWindow, WebviewWindowBuilder};
use veritas_core::{ProjectName, Store};

struct Harness {
    _app: App<MockRuntime>,
    main: WebviewWindow<MockRuntime>,
    store: Store,
    dir: tempfile::TempDir,
}

async fn harness(demo: usize) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    if demo > 0 {
        store
            .load_demo(&ProjectName::default(), demo, &mut |_, _| {})
            .await
            .unwrap();
    }
    let storage = veritas_core::storage::Storage::of(veritas_core::Backend::Local(store.clone()));
    let app = veritas_viewer::configure(mock_builder(), storage)
        .build(tauri::generate_context!())
        .unwrap();
    let main = WebviewWindowBuilder::new(&app, "main", Default::default())
        .build()
        .unwrap();
    Harness {
        _app: app,
        main,
        store,
        dir,
    }
}

fn request(cmd: &str, args: Value) -> InvokeRequest {
    InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        // The app's own origin on Linux: capabilities grant commands to local content only.
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    }
}

fn call(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(w, request(cmd, args)).map(|body| body.deserialize::<Value>().unwrap())
}

fn list_args() -> Value {
    json!({"project": "default", "request": {"filter": {}, "sort": "created", "direction": "desc", "limit": 50, "after": null}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn commands_answer_with_the_cores_data_and_errors() {
    let h = harness(16).await;
    let page = call(&h.main, "list_audits", list_args()).unwrap();
    let audits = page["audits"].as_array().unwrap();
    assert_eq!(audits.len(), 16);
    assert!(
        audits[0]["url"].is_string() && audits[0].get("narrative").is_none(),
        "the list sends rows: what the list shows, not the narrative"
    );
    let id = audits[0]["id"].as_str().unwrap().to_string();

    let detail = call(&h.main, "get_audit", json!({"project": "default", "id": id})).unwrap();
    assert_eq!(detail["id"], id.as_str());
    assert!(detail["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["exists"] == true));

    let facets = call(
        &h.main,
        "audit_facets",
        json!({"project": "default", "filter": {"status": ["completed"]}}),
    )
    .unwrap();
    assert_eq!(facets["total"], 12);
    let projects = call(&h.main, "projects", json!({})).unwrap();
    assert_eq!(projects, json!([{"name": "default", "audits": 16}]));
    let info = call(&h.main, "app_info", json!({})).unwrap();
    assert_eq!(info["data_dir"], h.dir.path().to_string_lossy().as_ref());
    // Timing reports are for the benchmark only: refused unless the app was started for it.
    assert_eq!(info["timing"], false);
    let err = call(
        &h.main,
        "report_timing",
        json!({"name": "ipc_list", "samples_ms": [1.0]}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input");
    assert!(err["message"].as_str().unwrap().contains("VERITAS_VIEWER_TIMING"));

    let history = call(
        &h.main,
        "audit_history",
        json!({"project": "default", "url": detail["url"]}),
    )
    .unwrap();
    let ids: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&id.as_str()));
    if let [older, ..] = ids.as_slice() {
        let cmp = call(
            &h.main,
            "compare_audits",
            json!({"project": "default", "base": older, "other": id}),
        )
        .unwrap();
        assert!(cmp.get("score_delta").is_some() && cmp["findings"].get("kept").is_some());
    }

    let path = call(
        &h.main,
        "export_audit",
        json!({"project": "default", "id": id, "format": "html"}),
    )
    .unwrap();
    let path = std::path::PathBuf::from(path.as_str().unwrap());
    assert!(
        path.starts_with(h.dir.path()),
        "exports land in the data directory"
    );
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("<!doctype html>"));

    let err = call(
        &h.main,
        "get_audit",
        json!({"project": "default", "id": "vrts_nothere"}),
    )
    .unwrap_err();
    assert_eq!(
        err["code"], "not_found",
        "errors cross IPC as {{code, message}}: {err}"
    );
    assert!(err["message"].as_str().unwrap().contains("vrts_nothere"));
    let err = call(
        &h.main,
        "get_audit",
        json!({"project": "default", "id": "../../etc/passwd"}),
    )
    .unwrap_err();
    assert_eq!(err["code"], "invalid_input");
    let err = call(&h.main, "reveal_path", json!({"path": "/etc"})).unwrap_err();
    assert_eq!(
        err["code"], "invalid_input",
        "the UI cannot reveal paths outside the data directory"
    );

    call(&h.main, "delete_audit", json!({"project": "default", "id": id})).unwrap();
    assert_eq!(
        call(&h.main, "get_audit", json!({"project": "default", "id": id})).unwrap_err()["code"],
        "not_found"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_switch_the_storage_cannot_make_changes_nothing_and_a_switch_to_the_folder_answers_its_info() {
    let h = harness(2).await;
    let info = call(&h.main, "app_info", json!({})).unwrap();
    assert_eq!(info["profile"], Value::Null);
    assert_eq!(info["profiles"], json!([]));
    assert_eq!(info["chosen_by_urls"], false);
    for (profile, why) in [("acme", "no profiles file"), ("\u{1b}[2J", "not a profile name")] {
        let e = call(&h.main, "switch_storage", json!({"profile": profile})).unwrap_err();
        assert!(e["message"].as_str().unwrap().contains(why), "{profile:?}: {e}");
    }
    assert_eq!(
        call(&h.main, "app_info", json!({})).unwrap(),
        info,
        "nothing changed"
    );
    let switched = call(&h.main, "switch_storage", json!({"profile": null})).unwrap();
    assert_eq!(switched, info, "the same data folder");
    assert_eq!(
        call(&h.main, "projects", json!({})).unwrap(),
        json!([{"name": "default", "audits": 2}])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_window_without_the_capability_is_refused() {
    let h = harness(1).await;
    let other = WebviewWindowBuilder::new(&h.main, "other", Default::default())
        .build()
        .unwrap();
    // Tauri's own refusal (a plain string), not a core error ({code, message}): the call
    // never reached the command.
    let refused_by_acl = |e: &Value| e.as_str().is_some_and(|m| m.contains("not allowed"));
    let refused = call(&other, "list_audits", list_args()).unwrap_err();
    assert!(
        refused_by_acl(&refused),
        "commands are permission-checked per window: {refused}"
    );
    assert!(call(&h.main, "list_audits", list_args()).is_ok());
    let mut remote = request("list_audits", list_args());
    remote.url = "https://evil.example".parse().unwrap();
    let refused = get_ipc_response(&h.main, remote)
        .map(|body| body.deserialize::<Value>().unwrap())
        .unwrap_err();
    assert!(
        refused_by_acl(&refused),
        "remote content gets no commands: {refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_calls_succeed_while_an_ingest_writes() {
    let h = harness(4).await;
    // A producer streams 60 audits into the same store while the UI's calls run.
    let producer = {
        let store = h.store.clone();
        tokio::spawn(async move {
            let mut text = String::new();
            for i in 0..60 {
                let id = format!("vrts_c0{i:06}");
                text += &json!({"type": "audit_start", "audit_id": id, "url": format!("https://live{i}.example/")}).to_string();
                text += "\n";
                text += &json!({"type": "audit_result", "result": {"trust_score": 50.0, "findings": [
                    {"pattern_type": "countdown_timer", "severity": "high", "confidence": 0.9, "description": "d"}]}}).to_string();
                text += "\n";
                text += &json!({"type": "audit_complete"}).to_string();
                text += "\n";
            }
            store
                .ingest(
                    &ProjectName::default(),
                    &Default::default(),
                    text.as_bytes(),
                    &mut |_| {},
                )
                .await
                .unwrap()
        })
    };
    let main = Arc::new(h.main.clone());
    let facets_counted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let callers: Vec<_> = (0..8)
        .map(|t| {
            let (w, facets_counted) = (main.clone(), facets_counted.clone());
            std::thread::spawn(move || {
                for k in 0..25 {
                    let (cmd, args) = match (t + k) % 3 {
                        0 => ("list_audits", list_args()),
                        1 => (
                            "audit_facets",
                            json!({"project": "default", "filter": {"search": "live"}}),
                        ),
                        _ => ("projects", json!({})),
                    };
                    match call(&w, cmd, args) {
                        Ok(_) if cmd == "audit_facets" => {
                            facets_counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Ok(_) => {}
                        // One window has one sidebar: a newer facet request from it
                        // supersedes the one in progress, which answers "cancelled".
                        Err(e) if cmd == "audit_facets" && e["code"] == "cancelled" => {}
                        Err(e) => panic!("{cmd} failed during the ingest: {e}"),
                    }
                }
            })
        })
        .collect();
    for c in callers {
        c.join().expect("every concurrent call succeeded");
    }
    // The newest facet request of the window is never superseded, so some were counted.
    assert!(facets_counted.load(std::sync::atomic::Ordering::Relaxed) > 0);
    let report = producer.await.unwrap();
    assert_eq!((report.rejected, report.audits_started), (0, 60));
    let facets = call(
        &h.main,
        "audit_facets",
        json!({"project": "default", "filter": {"search": "live"}, "exact": true}),
    )
    .expect("a facet request alone is answered");
    assert_eq!(facets["total"], 60, "the 60 live audits match: {facets}");
    assert_eq!(facets["estimated"], json!([]));
    let page = call(
        &h.main,
        "list_audits",
        json!({"project": "default", "request": {"filter": {}, "limit": 500}}),
    )
    .unwrap();
    assert_eq!(page["audits"].as_array().unwrap().len(), 64);
}
