//! `veritas-db` as scripts use it: what one process writes the next one reads, JSON shapes,
//! filters and pages, exit statuses, the persistence flag.
//!
//! About 430 lines, one case per contract a script relies on; they share the helpers at
//! the top, which a split would have to repeat or move away from them.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::common::{run, run_json};

fn ingest_stdin(dir: &std::path::Path, text: &str, extra: &[&str]) -> std::process::Output {
    let mut child = crate::common::veritas_db(dir)
        .args(["ingest", "-"])
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn what_one_process_writes_a_new_process_reads_with_every_field_intact() {
    let dir = tempfile::tempdir().unwrap();
    let narrative =
        "## Ärger im Shop 🛒\n\n<script>alert(1)</script>\n- «quoted» — \"dashes\" \\ backslash\n\ttab";
    let security = json!({"security_headers": {"checks": [{"header": "CSP", "passed": false, "severity": "high"}]},
                          "phishing": {"flags": [], "deep": {"a": [1, 2.5, null, {"b": true}]}}});
    let stream = [
        json!({"type": "audit_start", "audit_id": "vrts_5eed0001", "url": "https://ünïcode.example/path?q=1&x=%20", "tier": "deep_forensic", "verdict_mode": "simple"}),
        json!({"type": "site_type", "site_type": "marketplace", "confidence": 0.625}),
        json!({"type": "audit_result", "result": {"trust_score": 33.25, "risk_level": "high_risk", "narrative": narrative,
               "signal_scores": {"visual": 41.7, "temporal": 100.0}, "security_results": security, "pages_scanned": 7, "elapsed_seconds": 93.5,
               "errors": ["vision: one retry"], "findings": [{"pattern_type": "hidden_costs", "category": "sneaking", "severity": "critical",
               "confidence": 0.875, "description": "Fee «hidden» — until checkout", "plain_english": "Extra fee ✓", "screenshot_index": 2}]}}),
        json!({"type": "audit_complete", "audit_id": "vrts_5eed0001"}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    let out = ingest_stdin(dir.path(), &stream, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let a = run_json(dir.path(), &["show", "vrts_5eed0001", "--json"]);
    assert_eq!(a["url"], "https://ünïcode.example/path?q=1&x=%20");
    assert_eq!(a["narrative"], narrative);
    assert_eq!(a["security_results"], security);
    assert_eq!(a["signal_scores"], json!({"visual": 41.7, "temporal": 100.0}));
    assert_eq!(a["errors"], json!(["vision: one retry"]));
    assert_eq!(
        (a["trust_score"].clone(), a["risk_level"].clone()),
        (json!(33.25), json!("high_risk"))
    );
    assert_eq!(
        (a["site_type"].clone(), a["site_type_confidence"].clone()),
        (json!("marketplace"), json!(0.625))
    );
    assert_eq!(
        (a["audit_tier"].clone(), a["verdict_mode"].clone()),
        (json!("deep_forensic"), json!("simple"))
    );
    assert_eq!(
        (
            a["pages_scanned"].clone(),
            a["elapsed_seconds"].clone(),
            a["status"].clone()
        ),
        (json!(7), json!(93.5), json!("completed"))
    );
    for t in ["created_at", "started_at", "completed_at", "updated_at"] {
        let text = a[t].as_str().unwrap_or_else(|| panic!("{t} is set"));
        assert!(chrono_like(text), "{t} = {text} is ISO 8601 UTC");
    }
    let f = &a["findings"][0];
    assert_eq!(
        (f["description"].clone(), f["plain_english"].clone()),
        (json!("Fee «hidden» — until checkout"), json!("Extra fee ✓"))
    );
    assert_eq!(
        (
            f["confidence"].clone(),
            f["severity"].clone(),
            f["screenshot_index"].clone()
        ),
        (json!(0.875), json!("critical"), json!(2))
    );
    assert_eq!(f["finding_key"], "hidden_costs0.875", "the backend's derived id");
    assert!(
        f["embedding"].is_null() && f["embedding_model"].is_null() && f["embedding_model_version"].is_null()
    );
    let events = a["events"].as_array().unwrap();
    assert_eq!(
        events
            .iter()
            .map(|e| e["event_type"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["audit_start", "site_type", "audit_result", "audit_complete"]
    );
    assert_eq!(
        events[2]["data"]["result"]["narrative"], narrative,
        "the timeline keeps the event as sent"
    );
}

fn chrono_like(s: &str) -> bool {
    s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z')
}

#[test]
fn ingest_names_each_bad_line_on_stderr_stores_the_rest_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let text = [
        json!({"type": "audit_start", "audit_id": "vrts_0bad0001", "url": "https://x.example/"}).to_string(),
        "{not json".to_string(),
        json!({"type": "audit_result", "result": {"trust_score": 250}}).to_string(),
        json!({"type": "audit_complete"}).to_string(),
    ]
    .join("\n");
    let out = ingest_stdin(dir.path(), &text, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "exit 1 when lines were rejected: {err}"
    );
    assert!(err.contains("line 2: rejected: not valid JSON"), "{err}");
    assert!(
        err.contains("line 3: rejected: result: trust_score 250 is out of range (0 to 100)"),
        "{err}"
    );
    assert!(!err.contains("line 1:") && !err.contains("line 4:"));
    assert_eq!(
        run_json(dir.path(), &["show", "vrts_0bad0001", "--json"])["status"],
        "completed"
    );

    let missing = run(dir.path(), &["ingest", "/nonexistent/stream.ndjson"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("/nonexistent/stream.ndjson"),
        "the error names the input"
    );
}

#[test]
fn a_recording_of_one_websocket_is_ingested_with_audit_id_and_url() {
    let dir = tempfile::tempdir().unwrap();
    let text = json!({"type": "phase_start", "phase": "init", "message": "go", "pct": 0}).to_string();
    let out = ingest_stdin(
        dir.path(),
        &text,
        &["--audit-id", "vrts_0rec0001", "--url", "https://rec.example/"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a = run_json(dir.path(), &["show", "vrts_0rec0001", "--json"]);
    assert_eq!(
        (
            a["url"].clone(),
            a["status"].clone(),
            a["events"].as_array().unwrap().len()
        ),
        (json!("https://rec.example/"), json!("running"), 2)
    );
}

#[test]
fn list_json_has_the_documented_fields_and_filters_sorts_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["demo", "--audits", "16"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let all = run_json(dir.path(), &["list", "--json", "--limit", "100"]);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 16);
    for key in [
        "id",
        "url",
        "status",
        "trust_score",
        "risk_level",
        "audit_tier",
        "site_type",
        "created_at",
        "findings_count",
        "screenshots_count",
    ] {
        assert!(all.iter().all(|a| a.get(key).is_some()), "every audit has {key}");
    }
    let statuses: std::collections::BTreeSet<&str> =
        all.iter().map(|a| a["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses.into_iter().collect::<Vec<_>>(),
        ["completed", "disconnected", "error", "queued", "running"]
    );
    let created: Vec<&str> = all.iter().map(|a| a["created_at"].as_str().unwrap()).collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "newest first");

    let suspicious = run_json(
        dir.path(),
        &["list", "--json", "--status", "completed", "--risk", "suspicious"],
    );
    let want = all
        .iter()
        .filter(|a| a["status"] == "completed" && a["risk_level"] == "suspicious")
        .count();
    assert!(want > 0);
    assert_eq!(suspicious.as_array().unwrap().len(), want);
    let ranged = run_json(
        dir.path(),
        &[
            "list",
            "--json",
            "--min-score",
            "50",
            "--max-score",
            "90",
            "--sort",
            "score",
            "--asc",
        ],
    );
    let scores: Vec<f64> = ranged
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["trust_score"].as_f64().unwrap())
        .collect();
    assert!(
        !scores.is_empty()
            && scores.iter().all(|s| (50.0..=90.0).contains(s))
            && scores.windows(2).all(|w| w[0] <= w[1])
    );
    let found = run_json(
        dir.path(),
        &["list", "--json", "--search", "pharmacy OR (\"broken"],
    );
    assert!(
        found.as_array().unwrap().is_empty(),
        "hostile search text is plain text: no error, no match"
    );
    let found = run_json(dir.path(), &["list", "--json", "--search", "cozy"]);
    assert!(
        found
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["url"].as_str().unwrap().contains("cozy-knits"))
            && !found.as_array().unwrap().is_empty()
    );

    // Pages: the cursor of page one, printed on stderr, continues exactly where it ended.
    let first = run(dir.path(), &["list", "--json", "--limit", "10"]);
    let err = String::from_utf8_lossy(&first.stderr);
    let cursor = err
        .split("--after ")
        .nth(1)
        .expect("a cursor for the next page")
        .trim()
        .to_string();
    let second = run_json(
        dir.path(),
        &["list", "--json", "--limit", "10", "--after", &cursor],
    );
    let page1: Value = serde_json::from_slice(&first.stdout).unwrap();
    let joined: Vec<Value> = page1
        .as_array()
        .unwrap()
        .iter()
        .chain(second.as_array().unwrap())
        .cloned()
        .collect();
    assert_eq!(joined, *all);
}

#[test]
fn show_history_compare_export_delete_doctor_and_backup_work_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["demo", "--audits", "16"]).status.success());
    let all = run_json(dir.path(), &["list", "--json", "--limit", "100"]);
    let cozy: Vec<&Value> = all
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["url"].as_str().unwrap().contains("cozy"))
        .collect();
    let id = cozy[0]["id"].as_str().unwrap();

    let shown = run_json(dir.path(), &["show", id, "--json"]);
    let shots = shown["screenshots"].as_array().unwrap();
    for key in [
        "id",
        "label",
        "index",
        "file_path",
        "resolved_path",
        "exists",
        "format",
        "width",
        "height",
    ] {
        assert!(
            shots.iter().all(|s| s.get(key).is_some()),
            "screenshots have {key}"
        );
    }
    let legacy = shots
        .iter()
        .find(|s| s["file_path"].as_str().unwrap().ends_with("legacy.png"))
        .expect("the .png recorded on Windows");
    assert_eq!(
        (legacy["exists"].clone(), legacy["format"].clone()),
        (json!(true), json!("jpeg")),
        "format from the bytes"
    );
    assert!(shots.iter().any(|s| s["height"] == 7464), "a full-page shot");

    let history = run_json(dir.path(), &["history", "https://www.cozy-knits.shop/", "--json"]);
    assert_eq!(history.as_array().unwrap().len(), 2);
    let (old, new) = (
        history[0]["id"].as_str().unwrap(),
        history[1]["id"].as_str().unwrap(),
    );
    let cmp = run_json(dir.path(), &["compare", old, new, "--json"]);
    let delta = cmp["score_delta"].as_f64().unwrap();
    assert!(
        (delta - (history[1]["trust_score"].as_f64().unwrap() - history[0]["trust_score"].as_f64().unwrap()))
            .abs()
            < 1e-9
    );

    let csv = run(dir.path(), &["export", id, "--format", "csv"]);
    let csv = String::from_utf8(csv.stdout).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + shown["findings"].as_array().unwrap().len(),
        "a header and one row per finding"
    );
    let file = dir.path().join("export.json");
    assert!(run(
        dir.path(),
        &[
            "export",
            id,
            "--format",
            "json",
            "--output",
            file.to_str().unwrap()
        ]
    )
    .status
    .success());
    let exported: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(exported, shown, "the JSON export is the whole audit");

    let backup = dir.path().join("backup");
    let out = run(dir.path(), &["backup", backup.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        run_json(&backup, &["list", "--json", "--limit", "100"]),
        all,
        "the backup holds the same audits"
    );

    let doctor = run(dir.path(), &["doctor"]);
    let text = String::from_utf8_lossy(&doctor.stdout);
    assert!(
        text.contains("integrity check   ok") && text.contains("missing files     2"),
        "{text}"
    );

    assert!(run(dir.path(), &["delete", id]).status.success());
    let gone = run(dir.path(), &["show", id]);
    assert_eq!(gone.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&gone.stderr).contains(&format!("audit {id} in project default not found"))
    );
    assert!(
        !dir.path().join("screenshots").join(id).exists(),
        "its files went too"
    );
}

#[test]
fn the_persistence_flag_and_ephemeral_leave_the_data_directory_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("never");
    for (flag, env) in [(None, Some("false")), (Some("--ephemeral"), None)] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_veritas-db"));
        cmd.arg("--data-dir")
            .arg(&data)
            .args(flag)
            .args(["demo", "--audits", "2"])
            .env_remove("USE_DB_PERSISTENCE");
        if let Some(v) = env {
            cmd.env("USE_DB_PERSISTENCE", v);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("ephemeral"),
            "it says so"
        );
        assert!(!data.exists(), "nothing was written to the data directory");
    }
}

#[test]
fn errors_name_the_input_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let mut wrong = Vec::new();
    for (args, says) in [
        (
            vec!["show", "vrts_nothere"],
            "audit vrts_nothere in project default not found",
        ),
        (vec!["show", "../../etc/passwd"], "not a plain identifier"),
        (vec!["--project", "a/b", "list"], "project name \"a/b\""),
        (vec!["list", "--after", "garbage"], "cursor \"garbage\""),
        (vec!["list", "--status", "finished"], "--status \"finished\""),
        (
            vec!["list", "--from", "last tuesday"],
            "created_from \"last tuesday\"",
        ),
    ] {
        let out = run(dir.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(2) || !err.contains(says) {
            wrong.push(format!(
                "{args:?}: exit {:?}, said {err:?}, not {says:?}",
                out.status.code()
            ));
        }
    }
    // Every case is run before any is reported, so one failure hides no other.
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_false_positive_leaves_the_list_facets_and_include_hidden_counts_it() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["demo", "--audits", "16"]).status.success());
    let facets = |extra: &[&str]| {
        let out = run(dir.path(), &[&["list", "--facets"], extra].concat());
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let pattern_line = |text: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with("pattern type"))
            .unwrap()
            .to_string()
    };
    let before = facets(&[]);
    assert!(!before.contains("triaged away"), "{before}");

    // The finding the shop's two audits share, marked a false positive in the older one.
    let history = run_json(
        dir.path(),
        &["history", "https://shop.example-deals.com/", "--json"],
    );
    let older = history[0]["id"].as_str().unwrap();
    let finding = run_json(dir.path(), &["show", older, "--json"])["findings"][0].clone();
    let id = finding["id"].as_i64().unwrap().to_string();
    let pattern = finding["pattern_type"].as_str().unwrap().to_string();
    assert!(run(
        dir.path(),
        &["triage", &id, "--verdict", "false_positive", "--note", "not real"]
    )
    .status
    .success());

    let after = facets(&[]);
    assert!(after.contains("leave out 2 findings triaged away"), "{after}");
    assert_ne!(
        pattern_line(&after),
        pattern_line(&before),
        "{pattern} is counted less"
    );
    let with = facets(&["--include-hidden"]);
    assert!(with.contains("count 2 findings triaged away"), "{with}");
    assert_eq!(pattern_line(&with), pattern_line(&before));
}

#[test]
fn producer_text_reaches_the_terminal_escaped_never_as_control_sequences() {
    // Issue 16, bug 3: ESC sequences retitled the terminal and wrote its clipboard (OSC 52);
    // a carriage return faked a row.
    let dir = tempfile::tempdir().unwrap();
    let stream = [
        json!({"type": "audit_start", "audit_id": "vrts_e5c00001", "url": "https://esc.example/"}),
        json!({"type": "finding", "finding": {"pattern_type": "evil\u{1b}]52;c;cHduZWQ=\u{7}", "severity": "low",
            "confidence": 0.5, "description": "d\u{1b}[2J\rvrts_fake   completed", "id": "k\u{9b}1"}}),
        json!({"type": "audit_result", "result": {"status": "completed", "trust_score": 5,
            "narrative": "hello\u{1b}[31m red\u{202e}", "error_message": "x\ny"}}),
    ]
    .iter()
    .map(Value::to_string)
    .collect::<Vec<_>>()
    .join("\n");
    assert!(ingest_stdin(dir.path(), &(stream + "\n"), &[]).status.success());
    for args in [
        &["list"][..],
        &["show", "vrts_e5c00001"],
        &["changes", "vrts_e5c00001"],
        &["doctor"],
    ] {
        let out = run(dir.path(), args);
        let text = String::from_utf8(out.stdout).unwrap();
        let acting: Vec<char> = text
            .chars()
            .filter(|c| (c.is_control() && *c != '\n') || *c == '\u{202e}')
            .collect();
        assert!(acting.is_empty(), "{args:?} wrote {acting:?} raw:\n{text}");
    }
    let shown = String::from_utf8(run(dir.path(), &["show", "vrts_e5c00001"]).stdout).unwrap();
    assert!(
        shown.contains(r"evil\u{1b}]52;c;cHduZWQ=\u{7}"),
        "escaped, still readable:\n{shown}"
    );
    assert!(shown.contains(r"\u{d}vrts_fake"), "{shown}");
    // Scripts get the text as it was stored.
    let json = run_json(dir.path(), &["show", "vrts_e5c00001", "--json"]);
    assert_eq!(
        json["findings"][0]["pattern_type"],
        "evil\u{1b}]52;c;cHduZWQ=\u{7}"
    );
}

#[test]
fn list_all_streams_every_page_and_json_lines_ends_with_the_next_cursor() {
    let dir = tempfile::tempdir().unwrap();
    assert!(run(dir.path(), &["demo", "--audits", "16"]).status.success());
    let all = run_json(dir.path(), &["list", "--all", "--limit", "5", "--json"]);
    assert_eq!(all.as_array().unwrap().len(), 16, "every audit, over four pages");
    let lines = |args: &[&str]| -> Vec<Value> {
        let out = run(dir.path(), args);
        assert!(out.status.success());
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let first = lines(&["list", "--json-lines", "--limit", "5"]);
    assert_eq!(first.len(), 6, "five audits, then the cursor");
    let cursor = first[5]["next_cursor"].as_str().unwrap().to_string();
    let rest = lines(&[
        "list",
        "--json-lines",
        "--all",
        "--limit",
        "4",
        "--after",
        &cursor,
    ]);
    assert_eq!(
        rest.len(),
        11,
        "the other eleven, and no cursor after the last page"
    );
    let ids: std::collections::HashSet<&str> = first[..5]
        .iter()
        .chain(&rest)
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 16);
    let table = String::from_utf8(run(dir.path(), &["list", "--all", "--limit", "3"]).stdout).unwrap();
    assert_eq!(
        table.lines().filter(|l| l.starts_with("ID ")).count(),
        1,
        "one header"
    );
    assert_eq!(table.lines().count(), 17);
}
