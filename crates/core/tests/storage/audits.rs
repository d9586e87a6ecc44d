//! One audit at a time: stored whole or not at all, compared with another, deleted with its
//! files and thumbnails.

use image::ImageFormat;
use serde_json::json;
use veritas_core::{IngestOptions, NewFinding};

use crate::common::{aid, base64, fresh, image_bytes, ingest_lines, pname, record};

#[tokio::test]
async fn an_audit_whose_id_exists_is_refused_whole() {
    let fx = fresh().await;
    fx.store.insert_audit(&pname("default"), record(1)).await.unwrap();
    let before = fx
        .store
        .get_audit(&pname("default"), &aid(&record(1).id))
        .await
        .unwrap();
    let mut again = record(1);
    again.url = "https://other.example/".into();
    again.findings.truncate(1);
    let err = fx.store.insert_audit(&pname("default"), again).await.unwrap_err();
    assert_eq!(err.kind, veritas_core::ErrorKind::Conflict, "{err}");
    assert!(
        err.message.contains(&record(1).id),
        "the message names the audit: {err}"
    );
    let after = fx
        .store
        .get_audit(&pname("default"), &aid(&record(1).id))
        .await
        .unwrap();
    assert_eq!(after, before, "nothing of the refused audit was stored");
    // The refused batch began its own transaction; it must not be left open, or the next
    // write would fail to begin one (or never be committed where readers see it).
    fx.store.insert_audit(&pname("default"), record(2)).await.unwrap();
    let next = fx
        .store
        .get_audit(&pname("default"), &aid(&record(2).id))
        .await
        .unwrap();
    assert_eq!(
        next.findings.len(),
        record(2).findings.len(),
        "the next audit is stored whole"
    );
}

/// A search that matches thousands of audits is answered by walking the list in its order
/// (see `query/matching.rs`); its pages must be exactly the list's own, filtered to the
/// matches, for orders that follow insertion (one index read per chunk) and orders that
/// don't (one probe per audit), combined with other filters.
#[tokio::test]
async fn compare_gives_score_and_signal_deltas_and_findings_by_pattern() {
    let fx = fresh().await;
    let mut before = record(1);
    before.fields.signal_scores = Some(json!({"visual": 40.0, "graph": 50.0, "meta": "n/a"}));
    before.fields.trust_score = Some(30.0);
    let mut after = record(2);
    after.url = before.url.clone();
    after.fields.trust_score = Some(45.5);
    after.fields.signal_scores = Some(json!({"visual": 60.0, "graph": 45.0, "temporal": 100.0}));
    after.findings = vec![
        before.findings[0].clone(),
        NewFinding {
            created_at: None,
            run: None,
            key: Some("n".into()),
            pattern_type: "auto_renewal".into(),
            ..before.findings[0].clone()
        },
    ];
    fx.store
        .insert_audit(&pname("default"), before.clone())
        .await
        .unwrap();
    fx.store
        .insert_audit(&pname("default"), after.clone())
        .await
        .unwrap();
    let c = fx
        .store
        .compare_audits(&pname("default"), &aid(&before.id), &aid(&after.id))
        .await
        .unwrap();
    assert_eq!(c.score_delta, Some(15.5));
    assert_eq!(c.signal_deltas["visual"], Some(20.0));
    assert_eq!(c.signal_deltas["graph"], Some(-5.0));
    assert_eq!(
        (c.signal_deltas["meta"], c.signal_deltas["temporal"]),
        (None, None),
        "only comparable signals get a delta"
    );
    let names =
        |v: &Vec<veritas_core::PatternCount>| v.iter().map(|p| p.pattern_type.clone()).collect::<Vec<_>>();
    assert_eq!(names(&c.findings.new), vec!["auto_renewal"]);
    assert_eq!(
        names(&c.findings.resolved),
        vec!["confirmshaming", "hidden_costs"]
    );
    assert_eq!(names(&c.findings.kept), vec!["countdown_timer"]);
    let history: Vec<String> = fx
        .store
        .audit_history(&pname("default"), &format!("{}/", before.url))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(history.len(), 2, "history ignores a trailing slash");
}

#[tokio::test]
async fn delete_removes_rows_files_and_thumbnails() {
    let fx = fresh().await;
    let png = image_bytes(800, 3000, ImageFormat::Png);
    let lines = vec![
        json!({"type": "audit_start", "audit_id": "vrts_de1e7e00", "url": "https://gone.example/"}).to_string(),
        json!({"type": "screenshot", "label": "fullpage", "index": 0, "data": base64(&png)}).to_string(),
        json!({"type": "finding", "finding": {"pattern_type": "x", "severity": "low", "confidence": 0.1, "description": "d"}}).to_string(),
    ];
    ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    let detail = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_de1e7e00"))
        .await
        .unwrap();
    let shot = &detail.screenshots[0];
    let thumb = fx
        .store
        .thumbnail(&pname("default"), &aid("vrts_de1e7e00"), shot.id, 200)
        .await
        .unwrap();
    let info = veritas_core::inspect_image(&std::fs::read(&thumb).unwrap()).unwrap();
    assert_eq!(
        (info.width, info.height),
        (200, 750),
        "thumbnail keeps the aspect ratio"
    );
    let (served, served_info) = fx
        .store
        .screenshot_file(&pname("default"), &aid("vrts_de1e7e00"), shot.id)
        .await
        .unwrap();
    assert_eq!(
        (served_info.format.mime(), served_info.height),
        ("image/png", 3000)
    );

    fx.store
        .delete_audit(&pname("default"), &aid("vrts_de1e7e00"))
        .await
        .unwrap();
    assert_eq!(
        fx.store
            .get_audit(&pname("default"), &aid("vrts_de1e7e00"))
            .await
            .unwrap_err()
            .kind,
        veritas_core::ErrorKind::NotFound,
        "a deleted audit is not found"
    );
    assert!(
        !served.exists() && !thumb.exists(),
        "the files went with the rows"
    );
    let left: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM audit_findings) + (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM audit_screenshots)")
        .fetch_one(fx.store.database().reader()).await.unwrap();
    assert_eq!(left, 0, "no child row is left behind");
}
