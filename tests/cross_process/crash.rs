//! A writer killed with SIGKILL in the middle of a multi-row transaction.

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection};

use crate::common::{run, run_json};

/// True while another process holds the database's write lock (its transaction is open):
/// our own `BEGIN IMMEDIATE`, with no busy timeout, is refused at once.
async fn write_lock_is_held(db: &std::path::Path) -> bool {
    let mut conn = SqliteConnectOptions::new()
        .filename(db)
        .busy_timeout(Duration::ZERO)
        .connect()
        .await
        .unwrap();
    let held = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => {
            tx.rollback().await.unwrap();
            false
        }
        Err(e) => {
            assert!(
                e.to_string().contains("locked") || e.to_string().contains("busy"),
                "{e}"
            );
            true
        }
    };
    conn.close().await.unwrap();
    held
}

#[tokio::test]
async fn a_writer_killed_mid_transaction_leaves_committed_data_intact_and_none_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert!(run(data, &["demo", "--audits", "3"]).status.success());
    let before = run_json(data, &["list", "--json"]);

    let mut child = crate::common::veritas_db(data)
        .args(["ingest", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let start = json!({"type": "audit_start", "audit_id": "vrts_dead0001", "url": "https://killed.example/"});
    writeln!(stdin, "{start}").unwrap();
    stdin.flush().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while run(data, &["show", "vrts_dead0001", "--json"]).status.code() != Some(0) {
        assert!(Instant::now() < deadline, "the audit_start was never committed");
        std::thread::sleep(Duration::from_millis(20));
    }

    // One event whose transaction writes thousands of rows (findings + index), as many
    // findings as one event may carry.
    let findings: Vec<_> = (0..veritas_core::MAX_FINDINGS_PER_EVENT)
        .map(|j| json!({"id": format!("k{j}"), "pattern_type": "countdown_timer", "severity": "high", "confidence": 0.9,
                        "description": format!("finding number {j} of a very large audit result, with enough text to index")}))
        .collect();
    let result = json!({"type": "audit_result", "result": {"trust_score": 12.0, "narrative": "never stored", "findings": findings}});
    writeln!(stdin, "{result}").unwrap();
    stdin.flush().unwrap();

    let db = data.join(veritas_core::DB_FILE);
    let deadline = Instant::now() + Duration::from_secs(120);
    while !write_lock_is_held(&db).await {
        assert!(
            Instant::now() < deadline,
            "never caught the writer inside its transaction"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    child.kill().expect("SIGKILL"); // std's kill is SIGKILL on Unix
    child.wait().unwrap();
    drop(stdin);

    let killed = run_json(data, &["show", "vrts_dead0001", "--json"]);
    assert_eq!(
        killed["status"], "running",
        "what committed before the kill is there"
    );
    assert_eq!(
        killed["findings"].as_array().unwrap().len(),
        0,
        "nothing of the killed transaction is present"
    );
    assert!(killed["trust_score"].is_null() && killed["narrative"].is_null());
    let mut after = run_json(data, &["list", "--json"]);
    after
        .as_array_mut()
        .unwrap()
        .retain(|a| a["id"] != "vrts_dead0001");
    assert_eq!(after, before, "the committed audits are intact");
    let doctor = run_json(data, &["doctor", "--json"]);
    assert_eq!(doctor["integrity"], json!(["ok"]));
    assert_eq!(doctor["search_index_ok"], true);
    assert_eq!(doctor["foreign_key_violations"], 0);
}

/// Issue 16, bug 2: a producer that met a write lock held past the busy timeout gave up with
/// "database is locked" and lost its line. Another program holds the lock 4 times as long as
/// the busy timeout (lowered to 1 s through `VERITAS_BUSY_TIMEOUT`): `veritas-db ingest`
/// waits it out and stores everything, with no lock error on the way.
#[tokio::test]
async fn ingest_waits_out_a_lock_held_past_the_busy_timeout_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert!(run(data, &["init"]).status.success());
    let db = data.join(veritas_core::DB_FILE);
    let mut holder = SqliteConnectOptions::new().filename(&db).connect().await.unwrap();
    let tx = holder.begin_with("BEGIN IMMEDIATE").await.unwrap();

    let mut child = crate::common::veritas_db(data)
        .args(["ingest", "-"])
        .env("VERITAS_BUSY_TIMEOUT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines =
        crate::common::audit_stream("vrts_wa170001", "https://waits.example/", 3, false).join("\n") + "\n";
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(lines.as_bytes()).unwrap();
    drop(stdin);
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "ingest gave up while the lock was held"
    );
    tx.rollback().await.unwrap();
    holder.close().await.unwrap();

    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("rejected 0 lines") && !err.contains("locked"),
        "{err}"
    );
    let audit = run_json(data, &["show", "vrts_wa170001", "--json"]);
    assert_eq!(audit["status"], "completed");
    assert_eq!(audit["findings"].as_array().unwrap().len(), 3);
}
