//! The current Veritas backend (`Jinish2170/elliotAI`, e.g. e6c7bc6): its data folder opens
//! in place with every quirk of its rows, the upgraded file keeps taking its INSERTs, and a
//! recording of its WebSocket (`tests/fixtures/elliot_stream.ndjson`, made from the event
//! shapes of `backend/services/audit_runner.py`) ingests whole, once, into runs.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{ConnectOptions, Connection, Executor, SqliteConnection};
use veritas_core::{AuditFilter, IngestOptions, ListRequest, Store, CURRENT_BACKEND_DB_FILE, DB_FILE};

use crate::backend_compat::BACKEND_DDL;
use crate::common::{aid, ingest_lines, pname};

/// What SQLAlchemy's create_all emits for `elliot/db/models.py` beyond the older
/// backend's DDL (`backend_compat::BACKEND_DDL`): `idx_audits_risk_level` and the
/// `osint_cache` table.
const CURRENT_ADDITIONS: &str = r#"
CREATE INDEX idx_audits_risk_level ON audits (risk_level);
CREATE TABLE osint_cache (
  id INTEGER NOT NULL, query_key VARCHAR(255) NOT NULL, source VARCHAR(50) NOT NULL, category VARCHAR(50) NOT NULL,
  result JSON NOT NULL, confidence_score FLOAT, cached_at DATETIME, expires_at DATETIME NOT NULL,
  PRIMARY KEY (id), UNIQUE (query_key));
CREATE INDEX idx_osint_query_key ON osint_cache (query_key);
CREATE INDEX idx_osint_source ON osint_cache (source);
CREATE INDEX idx_osint_expires_at ON osint_cache (expires_at);
CREATE INDEX idx_osint_category ON osint_cache (category);
"#;

/// The recording: two audits interleaved, bare lines naming their audit, no audit_start.
pub const RECORDING: &str = include_str!("../../../../tests/fixtures/elliot_stream.ndjson");

async fn backend_connection(dir: &Path) -> SqliteConnection {
    SqliteConnectOptions::new()
        .filename(dir.join(CURRENT_BACKEND_DB_FILE))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .pragma("synchronous", "NORMAL")
        .foreign_keys(false)
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}

/// The audits INSERT as the backend's ORM issues it (`on_audit_started`, then UPDATEs).
const INSERT_AUDIT: &str = "INSERT INTO audits (id, url, status, audit_tier, verdict_mode, trust_score,
    risk_level, signal_scores, narrative, site_type, site_type_confidence, security_results, pages_scanned,
    screenshots_count, elapsed_seconds, errors, error_message, started_at, completed_at, created_at, updated_at)
    VALUES (?1, ?2, ?3, 'standard_audit', 'expert', ?4, ?5, '{}', ?6, ?7, NULL, '{}', 0, 0, 0, '[]', NULL,
    '2026-03-01 09:00:00.000000', NULL, ?8, ?8)";

async fn finding(c: &mut SqliteConnection, audit: &str, pattern: &str, description: &str, at: &str) {
    sqlx::query(
        "INSERT INTO audit_findings (audit_id, pattern_type, category, severity, confidence, description,
         plain_english, screenshot_index, created_at) VALUES (?1, ?2, ?3, 'medium', 0.5, ?4, ?4, -1, ?5)",
    )
    .bind(audit)
    .bind(pattern)
    .bind(if pattern == "unknown" {
        "unknown"
    } else {
        "urgency"
    })
    .bind(description)
    .bind(at)
    .execute(&mut *c)
    .await
    .unwrap();
}

async fn screenshot(c: &mut SqliteConnection, audit: &str, index: i64, at: &str) {
    sqlx::query(
        "INSERT INTO audit_screenshots (audit_id, file_path, label, index_num, file_size_bytes, created_at)
         VALUES (?1, ?2, ?3, ?4, 100, ?5)",
    )
    .bind(audit)
    .bind(format!("data/screenshots/{audit}/{at}_{index}_0a1b2c3d.png"))
    .bind(format!("Screenshot {}", index + 1))
    .bind(index)
    .bind(at)
    .execute(&mut *c)
    .await
    .unwrap();
}

/// id, url, status, score, risk level, narrative, site type.
type BackendRow = (
    &'static str,
    &'static str,
    &'static str,
    Option<f64>,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

/// A folder as the current backend leaves it, with its quirks.
async fn current_backend_folder(dir: &Path) {
    let mut c = backend_connection(dir).await;
    c.execute(BACKEND_DDL).await.unwrap();
    c.execute(CURRENT_ADDITIONS).await.unwrap();
    let rows: [BackendRow; 4] = [
        // Stays RUNNING forever: its audit_error was sent, and the backend wrote nothing.
        (
            "vrts_0000run1",
            "https://gone.example.net",
            "RUNNING",
            None,
            None,
            None,
            None,
        ),
        // COMPLETED with no score, and an empty narrative and site type.
        (
            "vrts_00noscor",
            "https://blank.example.org",
            "COMPLETED",
            None,
            None,
            Some(""),
            Some(""),
        ),
        // Its stream reconnected: run twice, screenshots and findings appended again.
        (
            "vrts_00rerun1",
            "https://shop.example.com",
            "COMPLETED",
            Some(34.0),
            Some("high"),
            Some("Fake timer."),
            Some("ecommerce"),
        ),
        (
            "vrts_0unknwn1",
            "https://odd.example.com",
            "COMPLETED",
            Some(70.0),
            Some("probably_safe"),
            Some("ok"),
            Some("blog"),
        ),
    ];
    for (id, url, status, score, risk, narrative, site) in rows {
        sqlx::query(INSERT_AUDIT)
            .bind(id)
            .bind(url)
            .bind(status)
            .bind(score)
            .bind(risk)
            .bind(narrative)
            .bind(site)
            .bind("2026-03-01 09:00:00.000000")
            .execute(&mut c)
            .await
            .unwrap();
    }
    for (run, at) in [(1, "2026-03-01 09:01"), (2, "2026-03-01 09:05")] {
        screenshot(&mut c, "vrts_00rerun1", 0, &format!("{at}:01.000000")).await;
        screenshot(&mut c, "vrts_00rerun1", 1, &format!("{at}:02.000000")).await;
        finding(
            &mut c,
            "vrts_00rerun1",
            "fake_urgency",
            "Timer resets",
            &format!("{at}:30.000000"),
        )
        .await;
        if run == 2 {
            finding(
                &mut c,
                "vrts_00rerun1",
                "hidden_costs",
                "Fee at the end",
                &format!("{at}:30.000000"),
            )
            .await;
        }
    }
    finding(
        &mut c,
        "vrts_0unknwn1",
        "unknown",
        "",
        "2026-03-01 09:02:00.000000",
    )
    .await;
    sqlx::query(
        "INSERT INTO osint_cache (query_key, source, category, result, confidence_score, cached_at, expires_at)
         VALUES ('9f86d081', 'whois', 'domain', '{\"registrar\": \"x\"}', 0.9, '2026-03-01', '2026-03-08')",
    )
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();
}

#[tokio::test]
async fn a_current_backend_folder_opens_in_place_with_its_quirks() {
    let dir = tempfile::tempdir().unwrap();
    current_backend_folder(dir.path()).await;
    let store = Store::open(dir.path()).await.unwrap();
    assert_eq!(
        store.database_file(),
        Some(dir.path().join(CURRENT_BACKEND_DB_FILE))
    );
    assert!(store.database_notice().is_none());
    assert!(
        !dir.path().join(DB_FILE).exists(),
        "no second database is created beside the backend's"
    );

    let page = store
        .list_audits_full(&pname("default"), &ListRequest::default())
        .await
        .unwrap();
    assert_eq!(page.audits.len(), 4, "every row of the backend is listed");
    let running = store
        .get_audit(&pname("default"), &aid("vrts_0000run1"))
        .await
        .unwrap();
    assert_eq!(running.audit.status, "running");
    let blank = store
        .get_audit(&pname("default"), &aid("vrts_00noscor"))
        .await
        .unwrap();
    assert_eq!(
        (blank.audit.status.as_str(), blank.audit.fields.trust_score),
        ("completed", None)
    );

    let rerun = store
        .get_audit(&pname("default"), &aid("vrts_00rerun1"))
        .await
        .unwrap();
    assert_eq!(rerun.runs.len(), 2, "a reconnected stream's audit has two runs");
    let last = &rerun.runs[1];
    assert_eq!((last.number, last.screenshots, last.findings), (2, 2, 2));
    assert_eq!(rerun.runs[0].findings, 1);
    let last_run: Vec<_> = rerun
        .screenshots
        .iter()
        .filter(|s| s.run == 2)
        .map(|s| s.index)
        .collect();
    assert_eq!(last_run, [0, 1], "each run has its screenshots once");

    let odd = store
        .get_audit(&pname("default"), &aid("vrts_0unknwn1"))
        .await
        .unwrap();
    assert!(odd.findings[0].pattern_unrecorded, "{:?}", odd.findings[0]);
    assert!(!rerun.findings[0].pattern_unrecorded);
}

#[tokio::test]
async fn a_folder_with_both_databases_says_which_it_opened() {
    let dir = tempfile::tempdir().unwrap();
    current_backend_folder(dir.path()).await;
    std::fs::write(dir.path().join(DB_FILE), b"").unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let notice = store.database_notice().expect("both files: said");
    assert!(
        notice.contains(CURRENT_BACKEND_DB_FILE) && notice.contains(DB_FILE),
        "{notice}"
    );
    assert_eq!(
        store.database_file(),
        Some(dir.path().join(CURRENT_BACKEND_DB_FILE))
    );
    let older = std::fs::metadata(dir.path().join(DB_FILE)).unwrap().len();
    assert_eq!(older, 0, "the database not opened is left as it was");
}

#[tokio::test]
async fn the_upgraded_file_takes_the_backends_inserts_and_search_finds_them() {
    let dir = tempfile::tempdir().unwrap();
    current_backend_folder(dir.path()).await;
    let store = Store::open(dir.path()).await.unwrap();
    // The backend, still running, writes on: its create_all finds every table (ours are
    // beside them), then its INSERTs name only its own columns.
    let mut c = backend_connection(dir.path()).await;
    sqlx::query(INSERT_AUDIT)
        .bind("vrts_0after01")
        .bind("https://later.example.com")
        .bind("COMPLETED")
        .bind(12.0)
        .bind("high")
        .bind("A phishing kit clones the bank login.")
        .bind("phishing")
        .bind("2026-03-02 09:00:00.000000")
        .execute(&mut c)
        .await
        .unwrap();
    finding(
        &mut c,
        "vrts_0after01",
        "disguised_ads",
        "Sponsored links styled as results",
        "2026-03-02 09:01:00",
    )
    .await;
    sqlx::query(
        "INSERT INTO osint_cache (query_key, source, category, result, expires_at)
         VALUES ('c0ffee00', 'dns', 'domain', '{}', '2026-03-09')",
    )
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();

    for word in ["phishing", "sponsored"] {
        let found = store
            .list_audits_full(
                &pname("default"),
                &ListRequest {
                    filter: AuditFilter {
                        search: Some(word.into()),
                        ..AuditFilter::default()
                    },
                    ..ListRequest::default()
                },
            )
            .await
            .unwrap();
        let ids: Vec<_> = found.audits.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, ["vrts_0after01"], "search for {word:?}");
    }
}

fn recording_lines() -> Vec<String> {
    RECORDING.lines().map(str::to_string).collect()
}

#[tokio::test]
async fn a_recording_of_the_current_stream_ingests_whole_and_once() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let lines = recording_lines();
    let (report, rejected) = ingest_lines(&store, &lines, &IngestOptions::default()).await;
    assert_eq!(rejected, vec![], "nothing of the backend's stream is rejected");
    assert_eq!(
        (
            report.events,
            report.audits_started,
            report.screenshots,
            report.findings
        ),
        (lines.len() as u64, 2, 2, 2)
    );

    let shop = store
        .get_audit(&pname("default"), &aid("vrts_a1b2c3d4"))
        .await
        .unwrap();
    assert_eq!(
        shop.audit.status, "completed",
        "a phase_error alone does not fail it"
    );
    assert_eq!(shop.audit.url, "https://shop.example.com");
    assert_eq!(
        shop.audit.fields.audit_tier.as_deref(),
        Some("darknet_investigation")
    );
    // One finding, one row: sent as finding, dark_pattern_finding, in a vision pass and in
    // the judge's summary.
    let mut patterns: Vec<_> = shop.findings.iter().map(|f| f.pattern_type.as_str()).collect();
    patterns.sort();
    assert_eq!(patterns, ["fake_urgency", "hidden_costs"]);
    let urgency = shop
        .findings
        .iter()
        .find(|f| f.pattern_type == "fake_urgency")
        .unwrap();
    assert_eq!(urgency.cwe_id.as_deref(), Some("CWE-1021"));
    assert_eq!(urgency.cvss_score, Some(5.4));
    assert!(
        urgency
            .plain_english
            .as_deref()
            .unwrap()
            .starts_with("The timer is fake"),
        "the richest text is kept: {:?}",
        urgency.plain_english
    );
    assert_eq!(
        shop.events.len(),
        lines.iter().filter(|l| l.contains("vrts_a1b2c3d4")).count()
    );

    let gone = store
        .get_audit(&pname("default"), &aid("vrts_e5f6a7b8"))
        .await
        .unwrap();
    assert_eq!(gone.audit.status, "error");
    assert_eq!(
        gone.audit.url, "",
        "no event told its url: '' as the backend stores it"
    );
    assert!(gone
        .audit
        .fields
        .error_message
        .as_deref()
        .unwrap()
        .contains("PRE-FLIGHT"));

    // Again, whole, and a file overlapping its second half: nothing is stored twice.
    let (again, rejected) = ingest_lines(&store, &lines, &IngestOptions::default()).await;
    assert_eq!(
        (again.events, again.duplicates, rejected.len()),
        (0, lines.len() as u64, 0)
    );
    let overlap = &lines[lines.len() / 2..];
    let (third, _) = ingest_lines(&store, overlap, &IngestOptions::default()).await;
    assert_eq!(third.events, 0);
    let after = store
        .get_audit(&pname("default"), &aid("vrts_a1b2c3d4"))
        .await
        .unwrap();
    assert_eq!(
        (after.events.len(), after.findings.len(), after.screenshots.len()),
        (shop.events.len(), 2, 2)
    );
    let files = std::fs::read_dir(dir.path().join("screenshots/vrts_a1b2c3d4"))
        .unwrap()
        .count();
    assert_eq!(files, 2, "a replayed screenshot leaves no second file");
}

#[tokio::test]
async fn a_rerun_on_the_stream_becomes_the_audits_second_run() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let first: Vec<String> = recording_lines()
        .into_iter()
        .filter(|l| l.contains("vrts_a1b2c3d4"))
        .collect();
    ingest_lines(&store, &first, &IngestOptions::default()).await;
    // The backend runs it again: the sequence starts over, the log lines' times differ.
    let second: Vec<String> = first.iter().map(|l| l.replace("10:36:35", "10:41:07")).collect();
    let (report, rejected) = ingest_lines(&store, &second, &IngestOptions::default()).await;
    assert_eq!(rejected, vec![]);
    assert!(report.events > 0 && report.duplicates > 0, "{report:?}");
    let detail = store
        .get_audit(&pname("default"), &aid("vrts_a1b2c3d4"))
        .await
        .unwrap();
    assert_eq!(detail.runs.len(), 2, "{:?}", detail.runs);
    let last = &detail.runs[1];
    assert_eq!((last.findings, last.screenshots), (2, 2), "{:?}", detail.runs);
    assert_eq!((detail.runs[0].findings, detail.runs[0].screenshots), (2, 2));
}

#[tokio::test]
async fn mitre_cwe_and_green_flags_filter_and_count_for_both_writers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    ingest_lines(&store, &recording_lines(), &IngestOptions::default()).await;
    // The backend writes an audit of its own, a module naming a CWE in its results.
    let mut c = SqliteConnectOptions::new()
        .filename(store.database_file().unwrap())
        .connect()
        .await
        .unwrap();
    sqlx::query(INSERT_AUDIT)
        .bind("vrts_0bkend01")
        .bind("https://bank.example.com")
        .bind("COMPLETED")
        .bind(80.0)
        .bind("low")
        .bind("fine")
        .bind("bank")
        .bind("2026-03-02 09:00:00.000000")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query(
        r#"UPDATE audits SET security_results = '{"cookies": {"findings": [{"title": "No HttpOnly", "cwe_id": 1004}]}}'
           WHERE id = 'vrts_0bkend01'"#,
    )
    .execute(&mut c)
    .await
    .unwrap();
    c.close().await.unwrap();

    let ids = |filter: AuditFilter| {
        let store = store.clone();
        async move {
            let page = store
                .list_audits_full(
                    &pname("default"),
                    &ListRequest {
                        filter,
                        ..ListRequest::default()
                    },
                )
                .await
                .unwrap();
            let mut ids: Vec<String> = page.audits.into_iter().map(|a| a.id).collect();
            ids.sort();
            ids
        }
    };
    let with = |f: fn(&mut AuditFilter)| {
        let mut filter = AuditFilter::default();
        f(&mut filter);
        filter
    };
    assert_eq!(
        ids(with(|f| f.mitre = vec!["T1566".into()])).await,
        ["vrts_a1b2c3d4"]
    );
    assert_eq!(
        ids(with(|f| f.mitre = vec!["T1592".into()])).await,
        Vec::<String>::new(),
        "the runner's preliminary techniques are no result"
    );
    assert_eq!(
        ids(with(|f| f.cwe = vec!["1004".into()])).await,
        ["vrts_0bkend01"]
    );
    assert_eq!(
        ids(with(|f| f.cwe = vec!["CWE-693".into()])).await,
        ["vrts_a1b2c3d4"]
    );
    assert_eq!(ids(with(|f| f.green_flags = Some(true))).await, ["vrts_a1b2c3d4"]);
    assert_eq!(
        ids(with(|f| f.green_flags = Some(false))).await,
        ["vrts_0bkend01", "vrts_e5f6a7b8"]
    );

    let facets = store
        .audit_facets(
            &pname("default"),
            &with(|f| f.audit_tier = vec!["darknet_investigation".into()]),
        )
        .await
        .unwrap();
    let values =
        |c: &[veritas_core::FacetCount]| c.iter().map(|c| (c.value.clone(), c.count)).collect::<Vec<_>>();
    assert_eq!(values(&facets.mitre), [("T1204".into(), 1), ("T1566".into(), 1)]);
    assert_eq!(values(&facets.green_flags), [("yes".into(), 1)]);
    let all = store
        .audit_facets(&pname("default"), &AuditFilter::default())
        .await
        .unwrap();
    assert!(
        values(&all.cwe).contains(&("CWE-1004".into(), 1)),
        "{:?}",
        all.cwe
    );
    assert_eq!(values(&all.green_flags), [("yes".into(), 1), ("no".into(), 2)]);

    // Deleting an audit takes its facts.
    store
        .delete_audit(&pname("default"), &aid("vrts_a1b2c3d4"))
        .await
        .unwrap();
    assert_eq!(
        ids(with(|f| f.mitre = vec!["T1566".into()])).await,
        Vec::<String>::new()
    );
}
