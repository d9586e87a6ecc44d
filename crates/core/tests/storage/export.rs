//! Exports: the self-contained HTML report.

use image::ImageFormat;
use serde_json::json;
use veritas_core::IngestOptions;

use crate::common::{aid, base64, fresh, image_bytes, ingest_lines, pname};

#[tokio::test]
async fn the_html_report_embeds_its_screenshots_and_runs_nothing() {
    let fx = fresh().await;
    let png = image_bytes(40, 30, ImageFormat::Png);
    let lines = vec![
        json!({"type": "audit_start", "audit_id": "vrts_0000a7a1", "url": "https://report.example/"}).to_string(),
        json!({"type": "screenshot", "label": "t0", "index": 0, "data": base64(&png)}).to_string(),
        json!({"type": "screenshot", "label": "t1", "index": 1, "url": "C:\\gone.png", "data": null}).to_string(),
        json!({"type": "audit_result", "result": {"trust_score": 50.0, "narrative": "# Title\n\n<script>alert(1)</script><img src=x onerror=alert(2)>\n\nSome **bold** words."}}).to_string(),
    ];
    ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    let html = fx
        .store
        .export_audit(
            &pname("default"),
            &aid("vrts_0000a7a1"),
            veritas_core::ExportFormat::Html,
        )
        .await
        .unwrap();
    assert!(
        html.contains(&format!("data:image/png;base64,{}", base64(&png))),
        "the screenshot is inlined"
    );
    assert!(html.contains("t1 (#1): file missing"));
    assert!(html.contains("<strong>bold</strong>"), "markdown is rendered");
    let lower = html.to_lowercase();
    assert!(
        !lower.contains("<script") && !lower.contains("onerror"),
        "nothing from the narrative can run"
    );
    assert!(
        !lower.contains("src=\"http") && !lower.contains("src=x"),
        "no remote or broken resource is loaded"
    );
}
