//! The current backend and `veritas-db` writing one `elliot_audits.db` at once: the
//! backend's own INSERTs (its ORM's, naming only its columns, each in its own transaction)
//! while `veritas-db ingest` stores a recording of its stream. Neither loses anything, and
//! search finds what the backend wrote.

use std::path::Path;
use std::process::Stdio;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection};

use crate::common::run_json;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The backend writing `n` audits, each with a finding, as `on_audit_started` and
/// `on_audit_completed` do.
async fn backend_writes(file: &Path, n: usize) {
    let mut c = SqliteConnectOptions::new()
        .filename(file)
        .journal_mode(SqliteJournalMode::Wal)
        .pragma("synchronous", "NORMAL")
        .foreign_keys(false)
        .busy_timeout(std::time::Duration::from_secs(30))
        .connect()
        .await
        .unwrap();
    for i in 0..n {
        let id = format!("vrts_b{i:07x}");
        let mut tx = c.begin().await.unwrap();
        sqlx::query(
            "INSERT INTO audits (id, url, status, audit_tier, verdict_mode, signal_scores, security_results,
             pages_scanned, screenshots_count, elapsed_seconds, errors, started_at, created_at, updated_at)
             VALUES (?1, ?2, 'RUNNING', 'standard_audit', 'expert', '{}', '{}', 0, 0, 0, '[]',
             '2026-03-02 10:00:00.000000', '2026-03-02 10:00:00.000000', '2026-03-02 10:00:00.000000')",
        )
        .bind(&id)
        .bind(format!("https://backend.example/{i}"))
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let mut tx = c.begin().await.unwrap();
        sqlx::query("UPDATE audits SET status = 'COMPLETED', trust_score = 50, narrative = 'written by the backend itself' WHERE id = ?1")
            .bind(&id)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO audit_findings (audit_id, pattern_type, category, severity, confidence, description,
             plain_english, screenshot_index, created_at) VALUES (?1, 'roach_motel', 'obstruction', 'high', 0.8,
             'Cancelling takes seven screens', '', -1, '2026-03-02 10:00:01.000000')",
        )
        .bind(&id)
        .execute(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
}

#[test]
fn the_backend_and_an_ingest_write_its_database_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    copy_dir(&Path::new(FIXTURES).join("elliot-data"), &data);
    // The recording's complete audit, as 150 audits of the current stream.
    let recording = std::fs::read_to_string(Path::new(FIXTURES).join("elliot_stream.ndjson")).unwrap();
    let shop: Vec<&str> = recording
        .lines()
        .filter(|l| l.contains("vrts_a1b2c3d4"))
        .collect();
    let stream: String = (0..150)
        .flat_map(|i| {
            let id = format!("vrts_s{i:07x}");
            shop.iter().map(move |l| l.replace("vrts_a1b2c3d4", &id) + "\n")
        })
        .collect();
    let file = dir.path().join("stream.ndjson");
    std::fs::write(&file, stream).unwrap();

    // Opened once first, as a user would, so the upgrade is done before both write.
    run_json(&data, &["projects", "--json"]);
    let ingest = crate::common::veritas_db(&data)
        .arg("ingest")
        .arg(&file)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(backend_writes(&data.join("elliot_audits.db"), 100));
    let out = ingest.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("rejected 0 lines"), "{stderr}");

    assert!(
        !data.join("veritas_audits.db").exists(),
        "one database in the folder"
    );
    let projects = run_json(&data, &["projects", "--json"]);
    assert_eq!(projects[0]["audits"], 4 + 150 + 100, "{projects}");
    let found = run_json(
        &data,
        &["list", "--json", "--limit", "500", "--search", "seven screens"],
    );
    assert_eq!(
        found.as_array().unwrap().len(),
        100,
        "search finds what the backend wrote"
    );
    let mapped = run_json(&data, &["list", "--json", "--limit", "500", "--mitre", "T1566"]);
    assert_eq!(mapped.as_array().unwrap().len(), 150);
    let one = run_json(&data, &["show", "vrts_s0000007", "--json"]);
    assert_eq!(one["findings"].as_array().unwrap().len(), 2);
    assert_eq!(one["status"], "completed");
}
