//! Ingest of the Veritas event stream: both forms, atomic events, bad lines rejected with
//! their number and reason while everything else is stored.

use image::ImageFormat;
use serde_json::{json, Value};
use veritas_core::IngestOptions;

use crate::common::{aid, base64, fresh, image_bytes, ingest_lines, pname, png_bomb};

fn line(v: Value) -> String {
    v.to_string()
}

fn env(id: &str, event: Value) -> String {
    line(json!({"audit_id": id, "event": event}))
}

#[tokio::test]
async fn a_valid_stream_in_both_forms_is_stored() {
    let fx = fresh().await;
    let png = image_bytes(320, 200, ImageFormat::Png);
    let tall = image_bytes(1939, 7464, ImageFormat::Jpeg);
    let lines = vec![
        // Bare form: audit A, from audit_start to audit_complete.
        line(
            json!({"type": "audit_start", "audit_id": "vrts_aaaa0001", "url": "https://a.example/", "tier": "deep_forensic", "verdict_mode": "expert"}),
        ),
        line(json!({"type": "phase_start", "phase": "scout", "message": "Scouting", "pct": 10})),
        line(
            json!({"type": "log_entry", "timestamp": "10:36:40", "agent": "scout", "message": "Opened page", "level": "info"}),
        ),
        line(
            json!({"type": "screenshot", "url": "C:\\veritas\\shots\\a0.png", "label": "t0", "index": 0, "data": base64(&png)}),
        ),
        line(
            json!({"type": "screenshot", "url": "C:\\veritas\\shots\\full.jpg", "label": "fullpage", "index": 1, "data": base64(&tall)}),
        ),
        line(
            json!({"type": "screenshot", "url": "C:\\veritas\\shots\\lost.png", "label": "t10", "index": 2, "data": null}),
        ),
        line(json!({"type": "site_type", "site_type": "ecommerce", "confidence": 0.9})),
        line(
            json!({"type": "security_result", "module": "security_headers", "result": {"checks": [{"header": "CSP", "passed": false}]}}),
        ),
        line(
            json!({"type": "finding", "finding": {"id": "countdown_timer0.85", "category": "false_urgency", "pattern_type": "countdown_timer", "severity": "high", "confidence": 0.85, "description": "Timer resets", "plain_english": "Fake clock", "screenshot_index": 0}}),
        ),
        line(
            json!({"type": "stats_update", "stats": {"pages_scanned": 4, "screenshots": 3, "findings": 1, "ai_calls": 9, "security_checks": 7, "elapsed_seconds": 80.5}}),
        ),
        line(json!({"type": "future_event_kind", "anything": [1, 2, 3]})),
        line(
            json!({"type": "audit_result", "result": {"url": "https://a.example/", "status": "completed", "audit_tier": "deep_forensic", "trust_score": 42.5, "risk_level": "suspicious",
            "signal_scores": {"visual": 41.7, "security": 45.5}, "narrative": "## Result\n\nShady.", "site_type": "ecommerce", "site_type_confidence": 0.9,
            "security_results": {"security_headers": {"checks": []}, "phishing": {"is_phishing": false}}, "pages_scanned": 4, "screenshots_count": 3, "elapsed_seconds": 81.0, "errors": [],
            "findings": [
                {"category": "false_urgency", "pattern_type": "countdown_timer", "severity": "high", "confidence": 0.85, "description": "Timer resets"},
                {"category": "sneaking", "pattern_type": "hidden_costs", "severity": "medium", "confidence": 0.7, "description": "Fee at the end"}
            ], "recommendations": ["leave"], "dark_pattern_summary": {}, "domain_info": {}, "overrides": [], "verdict_mode": "expert"}}),
        ),
        line(json!({"type": "audit_complete", "audit_id": "vrts_aaaa0001"})),
        // Envelope form: B and C interleaved; D created by its result.
        env(
            "vrts_bbbb0002",
            json!({"type": "audit_start", "url": "https://b.example/"}),
        ),
        env(
            "vrts_cccc0003",
            json!({"type": "audit_start", "url": "https://c.example/"}),
        ),
        env(
            "vrts_bbbb0002",
            json!({"type": "phase_error", "phase": "graph", "message": "WHOIS failed", "pct": 60, "error": "timeout"}),
        ),
        env(
            "vrts_cccc0003",
            json!({"type": "finding", "finding": {"pattern_type": "confirmshaming", "severity": "low", "confidence": 0.5, "description": "No thanks, I hate saving"}}),
        ),
        env(
            "vrts_bbbb0002",
            json!({"type": "audit_error", "audit_id": "vrts_bbbb0002", "error": "Graph phase crashed"}),
        ),
        env(
            "vrts_dddd0004",
            json!({"type": "audit_result", "result": {"url": "https://d.example/", "trust_score": 95.0}}),
        ),
    ];
    let (report, rejected) = ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    assert_eq!(rejected, vec![], "a valid stream has no rejected line");
    assert_eq!(
        (report.events, report.audits_started, report.screenshots),
        // Three audit_start lines, and D created by its result.
        (19, 4, 3)
    );

    let a = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_aaaa0001"))
        .await
        .unwrap();
    assert_eq!(a.audit.status, "completed");
    assert!(a.audit.fields.completed_at.is_some());
    assert_eq!(
        (a.audit.fields.trust_score, a.audit.fields.risk_level.as_deref()),
        (Some(42.5), Some("suspicious"))
    );
    assert_eq!(a.audit.fields.audit_tier.as_deref(), Some("deep_forensic"));
    assert_eq!(
        a.findings.len(),
        2,
        "the finding sent twice (event, then in the result without id) is stored once"
    );
    let shots: Vec<(&str, bool, Option<&str>, Option<u32>)> = a
        .screenshots
        .iter()
        .map(|s| (s.label.as_str(), s.exists, s.format.as_deref(), s.height))
        .collect();
    assert_eq!(
        shots,
        vec![
            ("t0", true, Some("png"), Some(200)),
            ("fullpage", true, Some("jpeg"), Some(7464)),
            ("t10", false, None, None)
        ]
    );
    assert!(
        a.screenshots[0].file_path.ends_with(".png") && a.screenshots[1].file_path.ends_with(".jpg"),
        "extension from the bytes"
    );
    assert_eq!(
        a.screenshots[2].file_path, "C:\\veritas\\shots\\lost.png",
        "without data the producer's path is recorded"
    );
    assert_eq!(a.audit.screenshots_count, 3);
    assert_eq!(a.events.len(), 13, "every event is in the timeline");
    assert!(
        a.events.iter().any(|e| e.event_type == "future_event_kind"),
        "unknown types are kept"
    );
    let shot_event = a.events.iter().find(|e| e.event_type == "screenshot").unwrap();
    assert_eq!(
        shot_event.data.as_ref().unwrap()["data"],
        Value::Null,
        "the timeline does not keep image bytes"
    );

    let b = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_bbbb0002"))
        .await
        .unwrap();
    assert_eq!(
        (b.audit.status.as_str(), b.audit.fields.error_message.as_deref()),
        ("error", Some("Graph phase crashed"))
    );
    let c = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_cccc0003"))
        .await
        .unwrap();
    assert_eq!(
        (c.audit.status.as_str(), c.findings.len()),
        ("running", 1),
        "an unfinished audit stays running with what arrived"
    );
    let d = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_dddd0004"))
        .await
        .unwrap();
    assert_eq!(
        (d.audit.url.as_str(), d.audit.fields.trust_score),
        ("https://d.example/", Some(95.0))
    );
}

#[tokio::test]
async fn bad_lines_are_rejected_with_their_reason_and_everything_else_is_stored() {
    let fx = fresh().await;
    let lines = vec![
        line(json!({"type": "audit_start", "audit_id": "vrts_0000000b", "url": "https://bad.example/"})),
        r#"{"type": "log_entry", "message": "trunc"#.to_string(),
        line(json!({"type": "screenshot", "index": 0, "label": "t0", "data": "not*base64*at*all"})),
        line(
            json!({"type": "screenshot", "index": 1, "label": "t1", "data": base64(b"<html>an error page, not an image</html>")}),
        ),
        line(
            json!({"type": "screenshot", "index": 2, "label": "t2", "data": base64(&png_bomb(20_000, 20_000))}),
        ),
        line(json!({"type": "audit_result", "result": {"trust_score": 250}})),
        env("../../etc", json!({"type": "log_entry", "message": "escape"})),
        "{\"type\": \"log_entry\", \"message\": \"nul \u{0} byte\"}".to_string(),
        line(
            json!({"type": "finding", "finding": {"pattern_type": "countdown_timer", "severity": "high", "confidence": 0.9, "description": "ok"}}),
        ),
        line(
            json!({"type": "finding", "finding": {"pattern_type": "x", "severity": "high", "confidence": "very"}}),
        ),
        line(json!({"type": "audit_complete", "audit_id": "vrts_0000000b"})),
    ];
    let (report, rejected) = ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    let expect: [(u64, &str); 8] = [
        (2, "not valid JSON"),
        (3, "not valid base64"),
        (4, "not a PNG, JPEG, WebP or GIF image"),
        (5, "20000x20000"),
        (6, "trust_score 250 is out of range"),
        (7, "not a plain identifier"),
        (8, "NUL"),
        (10, "confidence must be a number"),
    ];
    assert_eq!(rejected.len(), expect.len(), "rejected: {rejected:#?}");
    for ((line, reason), (want_line, want)) in rejected.iter().zip(expect) {
        assert_eq!(*line, want_line);
        assert!(
            reason.contains(want),
            "line {line}: {reason:?} should say {want:?}"
        );
    }
    assert_eq!((report.rejected, report.events), (8, 3));
    let a = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_0000000b"))
        .await
        .unwrap();
    assert_eq!(
        a.audit.status, "completed",
        "lines after the bad ones were still ingested"
    );
    assert_eq!(
        (a.findings.len(), a.screenshots.len(), a.events.len()),
        (1, 0, 3),
        "nothing of a rejected line was stored"
    );
    assert_eq!(a.audit.fields.trust_score, None);
    let dir = fx.dir.path().join("screenshots");
    let files: Vec<_> = walk(&dir);
    assert!(
        files.is_empty(),
        "no file of a rejected screenshot was kept: {files:?}"
    );
    assert!(!fx.dir.path().join("etc").exists() && !dir.join("..").join("..").join("etc").join("x").exists());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path());
        }
    }
    out
}

#[tokio::test]
async fn events_need_an_open_audit_and_follow_a_rejected_start_into_rejection() {
    let fx = fresh().await;
    fx.store
        .insert_audit(&pname("default"), crate::common::record(1))
        .await
        .unwrap();
    let taken = crate::common::audit_id(1);
    let lines = vec![
        line(json!({"type": "log_entry", "message": "orphan"})),
        line(json!({"type": "audit_start", "audit_id": taken, "url": "https://again.example/"})),
        line(json!({"type": "log_entry", "message": "belongs to the refused audit"})),
        env(
            "vrts_0000fff1",
            json!({"type": "log_entry", "message": "unknown audit"}),
        ),
    ];
    let (_, rejected) = ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    let reasons: Vec<(u64, bool)> = rejected
        .iter()
        .map(|(l, r)| {
            (
                *l,
                match l {
                    1 => r.contains("no audit is open"),
                    2 => r.contains("already exists"),
                    3 => r.contains("whose audit_start on line 2 was rejected"),
                    _ => r.contains("not found") && r.contains("vrts_0000fff1"),
                },
            )
        })
        .collect();
    assert_eq!(
        reasons,
        vec![(1, true), (2, true), (3, true), (4, true)],
        "{rejected:#?}"
    );
    let kept = fx.store.get_audit(&pname("default"), &aid(&taken)).await.unwrap();
    assert_eq!(
        kept.audit.url,
        crate::common::record(1).url,
        "an existing audit is never overwritten"
    );
}

#[tokio::test]
async fn a_recording_without_audit_start_goes_to_the_given_audit_and_can_be_marked_disconnected() {
    let fx = fresh().await;
    let options = IngestOptions {
        audit_id: Some(aid("vrts_12345678")),
        url: Some("https://rec.example/".into()),
    };
    let lines = vec![
        line(json!({"type": "phase_start", "phase": "init", "message": "go", "pct": 0})),
        line(
            json!({"type": "finding", "finding": {"pattern_type": "auto_renewal", "severity": "critical", "confidence": 0.95, "description": "Renews"}}),
        ),
    ];
    let (report, rejected) = ingest_lines(&fx.store, &lines, &options).await;
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(report.audits_started, 1);
    let a = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_12345678"))
        .await
        .unwrap();
    assert_eq!(
        (a.audit.status.as_str(), a.findings.len(), a.events.len()),
        ("running", 1, 3)
    );

    // The producer is gone: nothing more arrives.
    assert_eq!(
        fx.store
            .mark_disconnected(&pname("default"), std::time::Duration::from_secs(3600))
            .await
            .unwrap(),
        0,
        "not idle long enough"
    );
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert_eq!(
        fx.store
            .mark_disconnected(&pname("default"), std::time::Duration::ZERO)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        fx.store
            .get_audit(&pname("default"), &aid("vrts_12345678"))
            .await
            .unwrap()
            .audit
            .status,
        "disconnected"
    );
}

#[tokio::test]
async fn what_one_line_and_one_audit_may_carry_is_limited_and_the_limit_is_named() {
    // Issue 16, bug 2: one audit_result of a million findings held the write lock 54 s, and a
    // 1 GiB line with no newline grew the reader's buffer to 1 GB.
    let fx = fresh().await;
    let finding = |j: usize| json!({"id": format!("f{j}"), "pattern_type": "p", "severity": "low", "confidence": 0.5, "description": format!("finding {j}")});
    let limit = veritas_core::MAX_FINDINGS_PER_EVENT;
    let many: Vec<Value> = (0..=limit).map(finding).collect();
    let mut lines = vec![
        line(json!({"type": "audit_start", "audit_id": "vrts_11m17001", "url": "https://limits.example/"})),
        line(json!({"type": "audit_result", "result": {"status": "completed", "findings": many}})),
        line(json!({"type": "audit_result", "result": {"status": "completed", "findings": many[..limit]}})),
    ];
    // A line past 64 MiB: rejected, read past without being kept, and the next line stored.
    lines.push(format!(
        "{{\"type\":\"log_entry\",\"message\":\"{}\"}}",
        "x".repeat(64 << 20)
    ));
    for m in 0..101 {
        lines.push(line(
            json!({"type": "security_result", "module": format!("m{m}"), "result": {"ok": true}}),
        ));
    }
    lines.push(line(
        json!({"type": "security_result", "module": "m7", "result": {"ok": false}}),
    ));
    let (report, rejected) = ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    let reasons: Vec<String> = rejected.iter().map(|(n, r)| format!("{n}: {r}")).collect();
    assert_eq!(reasons.len(), 3, "{reasons:#?}");
    let over = format!("{} findings, more than the {limit}", limit + 1);
    assert!(
        reasons[0].starts_with("2: ") && reasons[0].contains(&over),
        "{reasons:?}"
    );
    assert!(
        reasons[1].starts_with("4: ") && reasons[1].contains("more than the 64 MiB"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].starts_with("105: ") && reasons[2].contains("100 security modules already"),
        "{reasons:?}"
    );
    let stored = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_11m17001"))
        .await
        .unwrap();
    assert_eq!(
        stored.findings.len(),
        limit,
        "the event within the limit is stored whole"
    );
    assert_eq!(report.rejected, 3);
    // A module it has already may still be updated.
    let security = stored.audit.fields.security_results.unwrap();
    assert_eq!(security["m7"]["ok"], false);
}

/// A numbered stream (`sequence` on each event) cut short, by a crash or a full disk, is
/// ingested again whole: its `audit_start` is a replay, not a second audit ("already
/// exists" stopped the whole audit), and nothing is stored twice. An unnumbered stream
/// cannot tell a replay from a new audit of the same id, and is still refused.
#[tokio::test]
async fn a_numbered_stream_cut_short_is_ingested_again_whole_and_stored_once() {
    let fx = fresh().await;
    let png = image_bytes(64, 48, ImageFormat::Png);
    let events = [
        json!({"type": "audit_start", "audit_id": "vrts_cut00001", "url": "https://cut.example/"}),
        json!({"type": "phase_start", "phase": "scout", "message": "Scouting", "pct": 10}),
        json!({"type": "screenshot", "label": "t0", "index": 0, "data": base64(&png)}),
        json!({"type": "audit_result", "result": {"trust_score": 40.0, "findings": [
            {"id": "f1", "pattern_type": "countdown_timer", "severity": "high", "confidence": 0.9, "description": "A timer"}]}}),
        json!({"type": "audit_complete", "audit_id": "vrts_cut00001"}),
    ];
    let numbered: Vec<String> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let mut e = e.clone();
            e["sequence"] = json!(i + 1);
            line(e)
        })
        .collect();
    let (first, rejected) = ingest_lines(&fx.store, &numbered[..3], &IngestOptions::default()).await;
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!(first.events, 3);
    let (again, rejected) = ingest_lines(&fx.store, &numbered, &IngestOptions::default()).await;
    assert!(rejected.is_empty(), "{rejected:?}");
    assert_eq!((again.events, again.duplicates), (2, 3));
    let audit = fx
        .store
        .get_audit(&pname("default"), &aid("vrts_cut00001"))
        .await
        .unwrap();
    assert_eq!(audit.audit.status, "completed");
    assert_eq!(
        (audit.findings.len(), audit.screenshots.len(), audit.events.len()),
        (1, 1, 5)
    );

    let plain: Vec<String> = events.iter().map(|e| line(e.clone())).collect();
    let (_, rejected) = ingest_lines(&fx.store, &plain[..1], &IngestOptions::default()).await;
    assert_eq!(
        rejected.len(),
        1,
        "an unnumbered audit_start of a stored audit is refused"
    );
    assert!(rejected[0].1.contains("already exists"), "{rejected:?}");
}
