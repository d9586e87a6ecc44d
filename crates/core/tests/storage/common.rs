//! Fixtures: a fresh store in a temporary folder, and audits built from a number.

use serde_json::json;
use tempfile::TempDir;
use veritas_core::{
    AuditFields, AuditId, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot, ProjectName, Store,
};

/// A store in a temporary data directory; both go away when this is dropped.
pub struct Fixture {
    pub store: Store,
    pub dir: TempDir,
}

pub async fn fresh() -> Fixture {
    let dir = tempfile::tempdir().expect("temporary folder");
    let store = Store::open(dir.path()).await.expect("open a fresh store");
    Fixture { store, dir }
}

impl Fixture {
    /// A second, independent handle on the same data directory (as another process has).
    pub async fn reopen(&self) -> Store {
        Store::open(self.dir.path()).await.expect("reopen")
    }
}

pub fn audit_id(i: usize) -> String {
    format!("vrts_{:08x}", (i as u32 + 1).wrapping_mul(0x9E37_79B1))
}

/// Audit `i`: deterministic values of every kind (text with Unicode, nested JSON, times),
/// 3 findings, 2 screenshot rows (metadata only) and 2 events.
pub fn record(i: usize) -> AuditRecord {
    let id = audit_id(i);
    AuditRecord {
        id: id.clone(),
        url: format!(
            "https://site{}.example/{}",
            i % 7,
            ["shop", "news", "bank"][i % 3]
        ),
        status: Some(AuditStatus::Completed),
        screenshots_count: None,
        fields: AuditFields {
            audit_tier: Some("standard_audit".into()),
            verdict_mode: Some("expert".into()),
            trust_score: Some((i * 37 % 1000) as f64 / 10.0),
            risk_level: None,
            signal_scores: Some(json!({"visual": 41.7, "graph": i as f64 % 100.0, "security": 45.5})),
            narrative: Some(format!(
                "## Audit {i}\n\nThe café's **checkout** hides fees — 注意. Token zq{i}x."
            )),
            site_type: Some("ecommerce".into()),
            site_type_confidence: Some(0.8),
            security_results: Some(
                json!({"security_headers": {"checks": [{"header": "CSP", "passed": false}]}, "nested": {"a": {"b": [1, {"c": null}]}}}),
            ),
            pages_scanned: Some(3),
            elapsed_seconds: Some(61.25),
            errors: Some(json!([])),
            error_message: None,
            started_at: Some(format!("2026-02-23 10:{:02}:33.911883", i % 60)),
            completed_at: Some(format!("2026-02-23 11:{:02}:00.000001", i % 60)),
            created_at: Some(format!("2026-02-23 10:{:02}:33.911883", i % 60)),
            updated_at: None,
        },
        findings: (0..3)
            .map(|j| NewFinding {
                created_at: None,
                run: None,
                key: Some(format!("f{j}")),
                pattern_type: ["countdown_timer", "hidden_costs", "confirmshaming"][j].into(),
                category: Some("false_urgency".into()),
                severity: ["low", "high", "critical"][j].into(),
                confidence: 0.5 + j as f64 / 10.0,
                description: format!("finding {j} of audit {i}: a fake timer"),
                plain_english: Some("The clock is fake.".into()),
                screenshot_index: Some(j as i64 % 2),
                ..NewFinding::default()
            })
            .collect(),
        screenshots: (0..2)
            .map(|k| NewScreenshot {
                created_at: None,
                run: None,
                file_path: format!(r"C:\data\screenshots\{id}\{k}.png"),
                label: ["t0", "fullpage"][k].into(),
                index: k as i64,
                file_size_bytes: Some(1000),
            })
            .collect(),
        events: vec![
            NewEvent {
                run: None,
                event_type: "phase_start".into(),
                data: json!({"type": "phase_start", "phase": "init", "pct": 0}),
                timestamp: Some("2026-02-23 10:00:00.000000".into()),
            },
            NewEvent {
                run: None,
                event_type: "audit_complete".into(),
                data: json!({"type": "audit_complete", "audit_id": id}),
                timestamp: Some("2026-02-23 10:01:00.000000".into()),
            },
        ],
    }
}

/// Encoded image bytes of `w`x`h` pixels.
pub fn image_bytes(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
        .write_to(&mut out, format)
        .unwrap();
    out.into_inner()
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A tiny but well-formed PNG declaring `w`x`h`: header, a few bytes of compressed pixels
/// (a real decompression bomb packs gigabytes of zeros about this small), end.
pub fn png_bomb(w: u32, h: u32) -> Vec<u8> {
    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend_from_slice(data);
        out.extend_from_slice(&body);
        out.extend_from_slice(&crc32(&body).to_be_bytes());
    }
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    chunk(&mut out, b"IEND", &[]);
    out
}

/// Ingest `lines` into project `default`; returns the report and the rejections.
pub async fn ingest_lines(
    store: &Store,
    lines: &[String],
    options: &veritas_core::IngestOptions,
) -> (veritas_core::IngestReport, Vec<(u64, String)>) {
    let text = lines.join("\n") + "\n";
    let mut rejected = Vec::new();
    let report = store
        .ingest(&pname("default"), options, text.as_bytes(), &mut |n| {
            if let veritas_core::IngestNotice::Rejected { line, reason } = n {
                rejected.push((line, reason.to_string()));
            }
        })
        .await
        .expect("an in-memory stream can always be read");
    (report, rejected)
}

/// A project name, checked as the CLI and the app check theirs.
pub fn pname(s: &str) -> ProjectName {
    ProjectName::parse(s).expect("the tests' project names are plain")
}

/// An audit id, checked as the CLI and the app check theirs.
pub fn aid(s: impl AsRef<str>) -> AuditId {
    AuditId::parse(s.as_ref()).expect("the tests' audit ids are plain")
}

/// A connection of another program (the backend) on the store's database file.
pub async fn raw(dir: &std::path::Path) -> sqlx::SqliteConnection {
    use sqlx::ConnectOptions;
    sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join(veritas_core::DB_FILE))
        .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
        .busy_timeout(std::time::Duration::from_secs(10))
        .connect()
        .await
        .unwrap()
}
