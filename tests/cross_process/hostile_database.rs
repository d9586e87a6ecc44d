//! Issue 16, hostile database files: a view or trigger planted by another program runs
//! inside our statements. One that never ends hung `list` and `ingest` (holding the write
//! lock); every statement now has a time limit, and passing it is a clear error.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use sqlx::{ConnectOptions, Executor};

use crate::common::{audit_stream, run, run_json};

/// An endless row source: SQLite allows no `WITH` inside a trigger, but a view may hold one.
const ENDLESS_VIEW: &str = "CREATE VIEW endless AS \
    WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT x FROM n";

async fn plant(db: &Path, sql: &str) {
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .unwrap();
    conn.execute(sql).await.unwrap();
}

/// `veritas-db` with a one-second time limit, `stdin` as its input.
fn run_limited(data: &Path, args: &[&str], stdin: &str) -> (Output, Duration) {
    use std::io::Write;
    let started = Instant::now();
    let mut child = crate::common::veritas_db(data)
        .args(args)
        .env("VERITAS_QUERY_TIME_LIMIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    // Without the limit the process never ends: it is killed, and the test fails, after 90 s.
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    match rx.recv_timeout(Duration::from_secs(90)) {
        Ok(out) => (out, started.elapsed()),
        Err(_) => {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            panic!("veritas-db {args:?} was still running after 90 s");
        }
    }
}

#[tokio::test]
async fn a_planted_endless_view_ends_a_read_with_a_time_limit_error() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert!(run(data, &["demo", "--audits", "3"]).status.success());
    // One of our own views, replaced by another program with one that never ends.
    plant(
        &data.join("veritas_audits.db"),
        &format!(
            "{ENDLESS_VIEW}; DROP VIEW hidden_findings; \
             CREATE VIEW hidden_findings AS SELECT x AS finding_id, x AS audit_id, CAST(x AS TEXT) AS site FROM endless"
        ),
    )
    .await;
    let (out, took) = run_limited(data, &["list", "--facets"], "");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("time limit"), "{stderr}");
    assert!(took < Duration::from_secs(30), "stopped only after {took:?}");
    // The list without facets reads no planted view, and still answers.
    assert_eq!(run_json(data, &["list", "--json"]).as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_planted_endless_trigger_stops_the_write_and_lets_go_of_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    assert!(run(data, &["demo", "--audits", "3"]).status.success());
    let db = data.join("veritas_audits.db");
    plant(
        &db,
        &format!(
            "{ENDLESS_VIEW}; CREATE TRIGGER hostile AFTER INSERT ON audits \
             BEGIN SELECT count(*) FROM endless; END"
        ),
    )
    .await;
    let stream = audit_stream("vrts_trapped01", "https://trapped.example/", 2, false).join("\n") + "\n";
    let (out, took) = run_limited(data, &["ingest", "-"], &stream);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("time limit"), "{stderr}");
    assert!(took < Duration::from_secs(60), "stopped only after {took:?}");
    // Nothing of the trapped audit is stored, what was stored before is intact, and the
    // write lock is free: a write with no busy wait goes through at once.
    let ids: Vec<String> = run_json(data, &["list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(!ids.iter().any(|id| id == "vrts_trapped01"));
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db)
        .busy_timeout(Duration::ZERO)
        .connect()
        .await
        .unwrap();
    conn.execute("BEGIN IMMEDIATE; ROLLBACK").await.unwrap();
}
