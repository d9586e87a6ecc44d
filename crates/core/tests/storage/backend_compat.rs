//! A database written by the Veritas Python backend opens, reads right with all its quirks,
//! upgrades additively, and still takes the backend's own INSERTs and UPDATEs afterwards.
//!
//! About 430 lines: most of it is the backend's own schema and rows, reproduced as the
//! backend writes them, which every case here shares.

use std::io::Cursor;
use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, Executor, Row, SqliteConnection};
use veritas_core::{AuditFilter, AuditStatus, ErrorKind, ListRequest, Store, DB_FILE};

use crate::common::{aid, pname};

/// The DDL SQLAlchemy's create_all emits for the backend's models (VERITAS_SCHEMA.md).
pub const BACKEND_DDL: &str = r#"
CREATE TABLE audits (
  id VARCHAR(16) NOT NULL, url TEXT NOT NULL, status VARCHAR(12) NOT NULL, audit_tier VARCHAR(50),
  verdict_mode VARCHAR(20), trust_score FLOAT, risk_level VARCHAR(50), signal_scores JSON, narrative TEXT,
  site_type VARCHAR(50), site_type_confidence FLOAT, security_results JSON, pages_scanned INTEGER,
  screenshots_count INTEGER, elapsed_seconds FLOAT, errors JSON, error_message TEXT, started_at DATETIME,
  completed_at DATETIME, created_at DATETIME, updated_at DATETIME, PRIMARY KEY (id));
CREATE INDEX idx_audits_status ON audits (status);
CREATE INDEX idx_audits_created_at ON audits (created_at);
CREATE INDEX idx_audits_trust_score ON audits (trust_score);
CREATE INDEX idx_audits_url ON audits (url);
CREATE TABLE audit_findings (
  id INTEGER NOT NULL, audit_id VARCHAR(16) NOT NULL, pattern_type VARCHAR(100) NOT NULL, category VARCHAR(50),
  severity VARCHAR(20) NOT NULL, confidence FLOAT NOT NULL, description TEXT NOT NULL, plain_english TEXT,
  screenshot_index INTEGER, created_at DATETIME, PRIMARY KEY (id),
  FOREIGN KEY(audit_id) REFERENCES audits (id) ON DELETE CASCADE);
CREATE INDEX idx_findings_audit_id ON audit_findings (audit_id);
CREATE INDEX idx_findings_pattern_type ON audit_findings (pattern_type);
CREATE TABLE audit_screenshots (
  id INTEGER NOT NULL, audit_id VARCHAR(16) NOT NULL, file_path TEXT NOT NULL, label TEXT NOT NULL,
  index_num INTEGER NOT NULL, file_size_bytes INTEGER, created_at DATETIME, PRIMARY KEY (id),
  FOREIGN KEY(audit_id) REFERENCES audits (id) ON DELETE CASCADE);
CREATE INDEX idx_screenshots_audit_id ON audit_screenshots (audit_id);
CREATE TABLE audit_events (
  id INTEGER NOT NULL, audit_id VARCHAR(16) NOT NULL, event_type VARCHAR(100) NOT NULL, data JSON,
  timestamp DATETIME, PRIMARY KEY (id), FOREIGN KEY(audit_id) REFERENCES audits (id) ON DELETE CASCADE);
CREATE INDEX idx_events_audit_id ON audit_events (audit_id);
"#;

/// The backend's own connection: its PRAGMAs, and (SQLAlchemy's default) foreign keys off.
async fn backend_connection(dir: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(dir.join(DB_FILE))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .pragma("synchronous", "NORMAL")
        .pragma("cache_size", "-64000")
        .pragma("temp_store", "MEMORY")
        .pragma("wal_autocheckpoint", "1000")
        .foreign_keys(false)
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}

fn png_bytes() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(64, 32, image::Rgb([1, 2, 3]))
        .write_to(&mut out, image::ImageFormat::Png)
        .unwrap();
    out.into_inner()
}

fn jpeg_bytes() -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image::RgbImage::from_pixel(48, 40, image::Rgb([200, 2, 3]))
        .write_to(&mut out, image::ImageFormat::Jpeg)
        .unwrap();
    out.into_inner()
}

/// The backend's INSERTs: they name only the original columns.
const INSERT_AUDIT: &str = "INSERT INTO audits (id, url, status, audit_tier, verdict_mode, trust_score, risk_level,
    signal_scores, narrative, site_type, site_type_confidence, security_results, pages_scanned, screenshots_count,
    elapsed_seconds, errors, error_message, started_at, completed_at, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/// One audits row as the backend's ORM left it.
struct BackendAudit {
    id: &'static str,
    url: &'static str,
    status: &'static str,
    score: Option<f64>,
    risk: Option<&'static str>,
    signals: Option<&'static str>,
    narrative: Option<&'static str>,
    security: Option<&'static str>,
    shots: Option<i64>,
    completed: Option<&'static str>,
}

async fn backend_database(dir: &Path) {
    std::fs::create_dir_all(dir.join("screenshots/vrts_1a2b3c4d")).unwrap();
    std::fs::write(
        dir.join("screenshots/vrts_1a2b3c4d/1771842993_0_t0.png"),
        png_bytes(),
    )
    .unwrap();
    // Named .png, holds JPEG bytes.
    std::fs::write(
        dir.join("screenshots/vrts_1a2b3c4d/1771843000_1_t10.png"),
        jpeg_bytes(),
    )
    .unwrap();
    let mut c = backend_connection(dir).await;
    c.execute(BACKEND_DDL).await.unwrap();
    let narrative = "## Verdict\n\n<script>alert('x')</script> Ünïcödé ✓ **beware** of the shop.";
    let rows = [
        BackendAudit {
            id: "vrts_1a2b3c4d",
            url: "https://shop.example.com",
            status: "COMPLETED",
            score: Some(34.5),
            risk: Some("suspicious"),
            signals: Some(
                r#"{"visual": 41.7, "temporal": 100.0, "graph": 50.0, "meta": 90.0, "structural": 60.0, "security": 45.5}"#,
            ),
            narrative: Some(narrative),
            security: Some(
                r#"{"security_headers": {"checks": {"csp": {"passed": false, "severity": "high"}}}, "phishing": {}}"#,
            ),
            shots: Some(0),
            completed: None,
        },
        BackendAudit {
            id: "vrts_00000002",
            url: "https://news.example.org",
            status: "ERROR",
            score: None,
            risk: None,
            signals: None,
            narrative: None,
            security: None,
            shots: None,
            completed: Some("2026-02-23 11:00:00"),
        },
        BackendAudit {
            id: "vrts_00000003",
            url: "https://deep.example.net",
            status: "RUNNING",
            score: Some(91.0),
            risk: None,
            signals: Some("{}"),
            narrative: Some(""),
            security: Some(r#"{"a": {"b": {"c": {"d": [1, [2, {"e": null}]]}}}}"#),
            shots: Some(0),
            completed: None,
        },
    ];
    for r in rows {
        sqlx::query(INSERT_AUDIT)
            .bind(r.id)
            .bind(r.url)
            .bind(r.status)
            .bind("standard_audit")
            .bind("expert")
            .bind(r.score)
            .bind(r.risk)
            .bind(r.signals)
            .bind(r.narrative)
            .bind("ecommerce")
            .bind(0.77)
            .bind(r.security)
            .bind(4)
            .bind(r.shots)
            .bind(61.2)
            .bind(if r.status == "ERROR" { Some("[]") } else { None })
            .bind(None::<String>)
            .bind("2026-02-23 10:36:33.911883")
            .bind(r.completed)
            .bind("2026-02-23 10:36:33.911883")
            .bind("2026-02-23 10:37:35.000000")
            .execute(&mut c)
            .await
            .unwrap();
    }
    for (pattern, idx) in [("countdown_timer", Some(0)), ("hidden_costs", Some(-1))] {
        sqlx::query("INSERT INTO audit_findings (audit_id, pattern_type, category, severity, confidence, description, plain_english, screenshot_index, created_at) VALUES ('vrts_1a2b3c4d', ?, 'false_urgency', 'high', 0.85, 'A timer that resets', NULL, ?, '2026-02-23 10:37:00.000001')")
            .bind(pattern).bind(idx).execute(&mut c).await.unwrap();
    }
    for (name, label, i) in [
        ("1771842993_0_t0.png", "t0", 0),
        ("1771843000_1_t10.png", "t10", 1),
        ("1771843010_2_fullpage.png", "fullpage", 2),
    ] {
        sqlx::query("INSERT INTO audit_screenshots (audit_id, file_path, label, index_num, file_size_bytes, created_at) VALUES ('vrts_1a2b3c4d', ?, ?, ?, 1234, '2026-02-23 10:37:00')")
            .bind(format!(r"C:\Users\hp\veritas\data\screenshots\vrts_1a2b3c4d\{name}")).bind(label).bind(i)
            .execute(&mut c).await.unwrap();
    }
    sqlx::query(r#"INSERT INTO audit_events (audit_id, event_type, data, timestamp) VALUES ('vrts_1a2b3c4d', 'phase_start', '{"type": "phase_start", "phase": "init", "pct": 5}', '2026-02-23 10:36:34.000000')"#)
        .execute(&mut c).await.unwrap();
    c.close().await.unwrap();
}

async fn original_columns(dir: &Path) -> Vec<String> {
    let mut c = backend_connection(dir).await;
    let rows = sqlx::query("SELECT id, url, status, trust_score, risk_level, signal_scores, narrative, security_results, screenshots_count, errors, started_at, completed_at, created_at, updated_at FROM audits ORDER BY id")
        .fetch_all(&mut c).await.unwrap();
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| format!("{:?}", r.try_get_unchecked::<Option<String>, _>(i).unwrap()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[tokio::test]
async fn a_backend_database_opens_reads_right_and_upgrades_additively() {
    let dir = tempfile::tempdir().unwrap();
    backend_database(dir.path()).await;
    let before = original_columns(dir.path()).await;

    let store = Store::open(dir.path()).await.expect("a backend database opens");
    let page = store
        .list_audits_full(&pname("default"), &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(
        page.audits.len(),
        3,
        "every backend audit is in project 'default'"
    );
    let a = page.audits.iter().find(|a| a.id == "vrts_1a2b3c4d").unwrap();
    assert_eq!(a.status, "completed", "upper-case enum names read as statuses");
    assert_eq!(
        (a.findings_count, a.screenshots_count),
        (2, 3),
        "counts come from the rows, not the stale counter"
    );
    assert_eq!(a.recorded_screenshots_count, Some(0));
    assert_eq!(
        a.fields.completed_at, None,
        "a completed audit without completed_at is shown, not refused"
    );
    assert_eq!(
        a.fields.created_at.as_deref(),
        Some("2026-02-23T10:36:33.911883Z")
    );
    let running = page.audits.iter().find(|a| a.id == "vrts_00000003").unwrap();
    assert_eq!(
        running.fields.risk_level.as_deref(),
        Some("trusted"),
        "a missing risk level is derived from the score"
    );
    assert_eq!(running.fields.signal_scores, Some(serde_json::json!({})));
    let errored = page.audits.iter().find(|a| a.id == "vrts_00000002").unwrap();
    assert_eq!(
        (
            errored.fields.trust_score,
            &errored.fields.risk_level,
            &errored.fields.signal_scores
        ),
        (None, &None, &None)
    );

    let completed = ListRequest {
        filter: AuditFilter {
            status: vec![AuditStatus::Completed],
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(
        store
            .list_audits_full(&pname("default"), &completed)
            .await
            .unwrap()
            .audits
            .len(),
        1,
        "status filters ignore case"
    );

    let detail = store
        .get_audit(&pname("default"), &aid("vrts_1a2b3c4d"))
        .await
        .unwrap();
    assert!(
        detail
            .audit
            .fields
            .narrative
            .as_deref()
            .unwrap()
            .contains("<script>"),
        "the narrative is kept as text, unchanged"
    );
    let shots: Vec<(bool, Option<&str>)> = detail
        .screenshots
        .iter()
        .map(|s| (s.exists, s.format.as_deref()))
        .collect();
    assert_eq!(shots, vec![(true, Some("png")), (true, Some("jpeg")), (false, None)],
        "Windows paths resolve by audit id and file name; format comes from the bytes; a missing file is reported");
    assert_eq!(
        detail.findings[1].screenshot_index, None,
        "-1 means no screenshot"
    );
    drop(store);

    assert_eq!(
        original_columns(dir.path()).await,
        before,
        "the upgrade changed no stored value"
    );
}

#[tokio::test]
async fn after_the_upgrade_the_backend_still_writes_and_its_rows_are_found() {
    let dir = tempfile::tempdir().unwrap();
    backend_database(dir.path()).await;
    let store = Store::open(dir.path()).await.unwrap();

    let mut c = backend_connection(dir.path()).await;
    sqlx::query(INSERT_AUDIT)
        .bind("vrts_0000beef")
        .bind("https://later.example.com")
        .bind("RUNNING")
        .bind("quick_scan")
        .bind("simple")
        .bind(None::<f64>)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind(None::<f64>)
        .bind(None::<String>)
        .bind(None::<i64>)
        .bind(0)
        .bind(None::<f64>)
        .bind(None::<String>)
        .bind(None::<String>)
        .bind("2026-03-01 09:00:00.000000")
        .bind(None::<String>)
        .bind("2026-03-01 09:00:00.000000")
        .bind("2026-03-01 09:00:00.000000")
        .execute(&mut c)
        .await
        .expect("the backend's INSERT still works after the upgrade");
    sqlx::query("INSERT INTO audit_findings (audit_id, pattern_type, category, severity, confidence, description, plain_english, screenshot_index, created_at) VALUES ('vrts_0000beef', 'sneaky_basket', 'sneaking', 'MEDIUM', 0.6, 'An extra item was added quietly', NULL, -1, '2026-03-01 09:00:01')")
        .execute(&mut c).await.expect("the backend's finding INSERT still works");
    // on_audit_completed: an ORM UPDATE of the result columns.
    sqlx::query("UPDATE audits SET status = 'COMPLETED', trust_score = 12.0, risk_level = 'likely_fraudulent', narrative = 'Fraudulent storefront with zebrafish branding' WHERE id = 'vrts_0000beef'")
        .execute(&mut c).await.expect("the backend's UPDATE still works");
    c.close().await.unwrap();

    let all = store
        .list_audits_full(&pname("default"), &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(
        all.audits.first().map(|a| a.id.as_str()),
        Some("vrts_0000beef"),
        "newest first, in project default"
    );
    let find = |q: &str| ListRequest {
        filter: AuditFilter {
            search: Some(q.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let by_narrative = store
        .list_audits_full(&pname("default"), &find("zebrafish"))
        .await
        .unwrap();
    assert_eq!(
        by_narrative.audits.len(),
        1,
        "the backend's narrative UPDATE reached the search index"
    );
    let by_finding = store
        .list_audits_full(&pname("default"), &find("quietly"))
        .await
        .unwrap();
    assert_eq!(
        by_finding.audits.len(),
        1,
        "the backend's finding INSERT reached the search index"
    );
    let detail = store
        .get_audit(&pname("default"), &aid("vrts_0000beef"))
        .await
        .unwrap();
    assert_eq!(
        (detail.audit.status.as_str(), detail.findings[0].severity.as_str()),
        ("completed", "medium")
    );
}

#[tokio::test]
async fn a_database_from_a_newer_version_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    store
        .insert_audit(&pname("default"), crate::common::record(1))
        .await
        .unwrap();
    drop(store);
    let mut c = backend_connection(dir.path()).await;
    sqlx::query("INSERT INTO veritas_viewer_migrations (version, description, applied_at) VALUES (99, 'from the future', '2030-01-01')")
        .execute(&mut c).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let bytes_before = std::fs::read(dir.path().join(DB_FILE)).unwrap();

    let err = Store::open(dir.path())
        .await
        .err()
        .expect("a newer schema is refused");
    assert_eq!(err.kind, ErrorKind::SchemaTooNew);
    assert!(
        err.message.contains("99") && err.message.contains("newer"),
        "{}",
        err.message
    );
    assert_eq!(
        std::fs::read(dir.path().join(DB_FILE)).unwrap(),
        bytes_before,
        "the file was not rewritten"
    );
}

#[tokio::test]
async fn a_score_another_program_stored_as_no_number_is_unreadable_never_zero() {
    // Issue 16: a stored trust_score of 'abc' was shown as 0.0.
    let fx = crate::common::fresh().await;
    let mut c = crate::common::raw(fx.dir.path()).await;
    for (id, score) in [
        ("vrts_5c0e0001", "'abc'"),
        ("vrts_5c0e0002", "'42.5'"),
        ("vrts_5c0e0003", "x'00ff'"),
        ("vrts_5c0e0004", "NULL"),
    ] {
        sqlx::query(&format!(
            "INSERT INTO audits (id, url, status, trust_score, project) VALUES ('{id}', 'https://{id}.example', 'completed', {score}, 'default')"
        ))
        .execute(&mut c)
        .await
        .unwrap();
    }
    let rows = fx
        .store
        .list_audits(
            &crate::common::pname("default"),
            &veritas_core::ListRequest::default(),
        )
        .await
        .unwrap()
        .audits;
    let seen = |id: &str| {
        let r = rows.iter().find(|r| r.id == id).unwrap();
        (r.trust_score, r.unreadable.clone())
    };
    let unreadable = vec!["trust_score".to_string()];
    assert_eq!(seen("vrts_5c0e0001"), (None, unreadable.clone()));
    assert_eq!(seen("vrts_5c0e0002"), (Some(42.5), vec![]));
    assert_eq!(seen("vrts_5c0e0003"), (None, unreadable.clone()));
    assert_eq!(
        seen("vrts_5c0e0004"),
        (None, vec![]),
        "no score is not an unreadable one"
    );
    let detail = fx
        .store
        .get_audit(
            &crate::common::pname("default"),
            &crate::common::aid("vrts_5c0e0001"),
        )
        .await
        .unwrap();
    assert_eq!(
        (detail.audit.fields.trust_score, detail.audit.unreadable),
        (None, unreadable)
    );
}
