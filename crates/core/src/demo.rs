//! Realistic sample audits for a first look at the viewer: every status and risk level,
//! findings of every severity, timelines, several audits of the same site (history), and
//! real screenshot images, viewport-sized and tall full-page ones. A few carry the quirks of
//! real backend databases: a screenshot whose file is missing, JPEG bytes under a `.png`
//! name recorded with a Windows path, a narrative with HTML in it.

use std::io::Cursor;

use chrono::{Duration, Utc};
use image::{ImageFormat, Rgb, RgbImage};
use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::model::{risk_level_for_score, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot};
use crate::Store;

/// What `load_demo` made.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DemoReport {
    pub audits: usize,
    pub findings: usize,
    pub screenshots: usize,
}

const SITES: [(&str, &str, [u8; 3]); 12] = [
    ("https://shop.example-deals.com/", "ecommerce", [220, 38, 38]),
    ("https://news.daily-ledger.org/", "news", [30, 64, 175]),
    (
        "https://secure-login-verify.net/account",
        "phishing",
        [14, 116, 144],
    ),
    ("https://www.cozy-knits.shop/", "ecommerce", [190, 24, 93]),
    (
        "https://streamflix-trial.tv/signup",
        "subscription",
        [124, 58, 237],
    ),
    ("https://docs.opentools.dev/", "documentation", [21, 128, 61]),
    ("https://flights.cheapwings.travel/", "travel", [234, 88, 12]),
    ("https://my-pharmacy-rx.biz/", "pharmacy", [5, 150, 105]),
    ("https://metricly.io/pricing", "saas", [79, 70, 229]),
    ("https://givewell-help.org/donate", "charity", [202, 138, 4]),
    ("https://crypto-yield-max.finance/", "crypto", [161, 98, 7]),
    ("https://recipes.homecook.blog/", "blog", [71, 85, 105]),
];

/// Trust scores chosen to cover every risk level.
const SCORES: [f64; 12] = [
    34.5, 88.0, 8.5, 72.4, 41.0, 96.2, 63.7, 17.9, 91.5, 55.0, 24.3, 79.8,
];

const FINDINGS: [(&str, &str, &str, &str); 10] = [
    (
        "countdown_timer",
        "false_urgency",
        "A countdown timer resets on every page load.",
        "The 'offer ends soon' clock is fake: it starts again when you reload.",
    ),
    (
        "low_stock_warning",
        "false_urgency",
        "'Only 2 left' appears for every product.",
        "The low-stock message is shown no matter how many are in stock.",
    ),
    (
        "hidden_cancel_button",
        "forced_continuity",
        "The cancel link is grey on grey below the fold.",
        "Cancelling is made hard to find on purpose.",
    ),
    (
        "auto_renewal",
        "forced_continuity",
        "The trial converts to a paid plan without a reminder.",
        "You will be charged after the trial unless you remember to cancel.",
    ),
    (
        "confirmshaming",
        "visual_interference",
        "The decline button reads 'No, I like paying more'.",
        "Saying no is worded to make you feel bad.",
    ),
    (
        "preselected_addon",
        "sneaking",
        "Travel insurance is pre-ticked in the basket.",
        "An extra you did not choose is added to your order.",
    ),
    (
        "hidden_costs",
        "sneaking",
        "A service fee appears only at the last step.",
        "The price goes up at checkout.",
    ),
    (
        "fake_social_proof",
        "social_engineering",
        "'38 people are viewing this' is randomly generated.",
        "The crowd of other shoppers is invented.",
    ),
    (
        "disguised_ad",
        "visual_interference",
        "Sponsored results are styled as organic results.",
        "Some 'results' are adverts in disguise.",
    ),
    (
        "fake_login_form",
        "social_engineering",
        "The login form posts credentials to a third-party host.",
        "This page looks like your bank but sends your password elsewhere.",
    ),
];

const PHASES: [(&str, &str); 6] = [
    ("init", "Initialization"),
    ("scout", "Browser Reconnaissance"),
    ("security", "Security Audit"),
    ("vision", "Visual Intelligence"),
    ("graph", "Intelligence Network"),
    ("judge", "Forensic Judge"),
];

/// A page-like picture: header, navigation, hero, a grid of cards, a footer; optionally a
/// red urgency banner. Real pixels, so decoding and thumbnails are exercised for real.
fn render_page(width: u32, height: u32, accent: [u8; 3], urgent: bool) -> RgbImage {
    let mut img = RgbImage::from_pixel(width, height, Rgb([248, 250, 252]));
    // Whole rows are copied at once: per-pixel writes are slow in debug builds.
    let mut rect = |x: u32, y: u32, w: u32, h: u32, c: [u8; 3]| {
        let w = w.min(width.saturating_sub(x)) as usize;
        let row: Vec<u8> = c.repeat(w);
        let buf: &mut [u8] = &mut img;
        for yy in y..(y + h).min(height) {
            let start = (yy as usize * width as usize + x as usize) * 3;
            buf[start..start + row.len()].copy_from_slice(&row);
        }
    };
    let shade = |c: [u8; 3], f: f32| c.map(|v| (f32::from(v) * f + 255.0 * (1.0 - f)) as u8);
    rect(0, 0, width, 72, accent);
    for i in 0..5 {
        rect(width / 2 + i * 110, 26, 80, 20, shade(accent, 0.35));
    }
    rect(0, 72, width, 340, shade(accent, 0.15));
    rect(80, 150, width / 2, 36, [30, 41, 59]);
    rect(80, 210, width / 3, 18, [100, 116, 139]);
    rect(80, 290, 180, 48, accent);
    let mut y = 460;
    let card_w = (width.saturating_sub(160 + 3 * 40)) / 4;
    while y + 300 < height.saturating_sub(200) {
        for col in 0..4 {
            let x = 80 + col * (card_w + 40);
            rect(x, y, card_w, 260, [255, 255, 255]);
            rect(x, y, card_w, 150, shade(accent, 0.25 + 0.1 * col as f32));
            rect(x + 16, y + 170, card_w.saturating_sub(32), 14, [51, 65, 85]);
            rect(x + 16, y + 200, card_w / 2, 12, [148, 163, 184]);
        }
        y += 320;
    }
    if urgent {
        rect(0, 412, width, 44, [239, 68, 68]);
        rect(width / 2 - 120, 424, 240, 20, [254, 226, 226]);
    }
    rect(0, height.saturating_sub(160), width, 160, [30, 41, 59]);
    img
}

fn encode(img: &RgbImage, format: ImageFormat) -> Result<Vec<u8>> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .map_err(|e| Error::new(ErrorKind::Io, format!("encoding a demo image: {e}")))?;
    Ok(out.into_inner())
}

fn narrative(url: &str, score: f64, findings: &[NewFinding], hostile: bool) -> String {
    let mut s = format!(
        "## Verdict\n\n**{url}** scores **{score:.0}/100** ({}).\n\n### What we found\n\n",
        risk_level_for_score(score).replace('_', " ")
    );
    for f in findings {
        s.push_str(&format!(
            "- *{}* ({}): {}\n",
            f.pattern_type.replace('_', " "),
            f.severity,
            f.plain_english.as_deref().unwrap_or("")
        ));
    }
    s.push_str("\n### Recommendation\n\nCompare prices elsewhere and read the [terms](https://example.org/terms) before paying. Überprüfen Sie die Seite — 信頼できるか確認してください.\n");
    if hostile {
        // Language-model narratives may contain HTML; the viewer must never run it.
        s.push_str(
            "\n<script>document.title='pwned'</script><img src=x onerror=\"document.title='pwned'\">\n",
        );
    }
    s
}

fn security_results(score: f64, phishing: bool) -> Value {
    let checks = [
        (
            "Content-Security-Policy",
            "high",
            "Add a Content-Security-Policy header that restricts script sources.",
        ),
        (
            "Strict-Transport-Security",
            "high",
            "Send HSTS with max-age of at least one year.",
        ),
        (
            "X-Frame-Options",
            "medium",
            "Send X-Frame-Options: DENY to prevent clickjacking.",
        ),
        (
            "X-Content-Type-Options",
            "low",
            "Send X-Content-Type-Options: nosniff.",
        ),
        (
            "Referrer-Policy",
            "low",
            "Send Referrer-Policy: strict-origin-when-cross-origin.",
        ),
        (
            "Permissions-Policy",
            "low",
            "Restrict powerful features with Permissions-Policy.",
        ),
        ("Set-Cookie Secure", "medium", "Mark cookies Secure and HttpOnly."),
    ];
    let passed_upto = (score / 100.0 * checks.len() as f64).round() as usize;
    let list: Vec<Value> = checks
        .iter()
        .enumerate()
        .map(|(i, (name, sev, rec))| json!({"header": name, "passed": i < passed_upto, "severity": sev, "recommendation": rec}))
        .collect();
    json!({
        "security_headers": {"score": (passed_upto * 100 / checks.len()), "checks": list},
        "phishing": {"is_phishing": phishing, "confidence": if phishing { 0.93 } else { 0.04 },
                      "flags": if phishing { json!(["lookalike_domain", "credential_form_offsite", "young_domain"]) } else { json!([]) }},
        "tls": {"valid": !phishing, "issuer": "R11", "days_remaining": 61, "details": {"protocol": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256"}}
    })
}

/// A site's viewport PNG, viewport JPEG and (for every third site) full-page JPEG.
type SitePictures = (Vec<u8>, Vec<u8>, Vec<u8>);

fn site_pictures(site: usize) -> Result<SitePictures> {
    let accent = SITES[site].2;
    Ok((
        encode(&render_page(1280, 800, accent, false), ImageFormat::Png)?,
        encode(&render_page(1280, 800, accent, site % 2 == 0), ImageFormat::Jpeg)?,
        if site % 3 == 0 {
            encode(&render_page(1939, 7464, accent, true), ImageFormat::Jpeg)?
        } else {
            Vec::new()
        },
    ))
}

/// Load `count` demo audits into `project`. `progress(done, total)` is called as it goes.
pub async fn load_demo(
    store: &Store,
    project: &str,
    count: usize,
    progress: &mut (dyn FnMut(usize, usize) + Send),
) -> Result<DemoReport> {
    if !(1..=10_000).contains(&count) {
        return Err(Error::invalid(
            format!("demo audit count {count}"),
            "must be 1 to 10000",
        ));
    }
    // Each site's pictures are rendered once, when an audit of it first needs them:
    // encoding a 1939x7464 page is the slow part.
    let mut images: Vec<Option<SitePictures>> = vec![None; SITES.len()];
    let mut report = DemoReport::default();
    let now = Utc::now();
    let salt = fastrand::u32(..);
    for i in 0..count {
        let site = i % SITES.len();
        let (url, site_type, _) = SITES[site];
        // Later rounds over the same sites are earlier audits of them: a score trend.
        let round = (i / SITES.len()) as f64;
        let score = (SCORES[site] - 6.0 * round + 3.0 * ((i * 7) % 5) as f64 - 6.0).clamp(0.0, 100.0);
        let status = match i % 12 {
            4 => AuditStatus::Error,
            7 => AuditStatus::Running,
            10 => AuditStatus::Disconnected,
            11 if count > 12 => AuditStatus::Queued,
            _ => AuditStatus::Completed,
        };
        let id = format!(
            "vrts_{:08x}",
            salt.wrapping_add((i as u32).wrapping_mul(0x9E37_79B1))
        );
        let started = now - Duration::hours((i as i64) * 9 + 1) - Duration::days(round as i64 * 21);
        let elapsed = 40.0 + (i % 9) as f64 * 11.5;
        let finished = matches!(status, AuditStatus::Completed | AuditStatus::Error);

        let n_findings = if status == AuditStatus::Queued {
            0
        } else {
            2 + (i * 5) % 6
        };
        let findings: Vec<NewFinding> = (0..n_findings)
            .map(|j| {
                let t = FINDINGS[(site * 3 + j) % FINDINGS.len()];
                let confidence = 0.55 + ((i + j * 3) % 9) as f64 * 0.05;
                NewFinding {
                    key: Some(format!("{}{}", t.0, confidence)),
                    pattern_type: t.0.into(),
                    category: Some(t.1.into()),
                    severity: crate::model::SEVERITIES[(i + j) % 4].into(),
                    confidence: (confidence * 100.0).round() / 100.0,
                    description: t.2.into(),
                    plain_english: Some(t.3.into()),
                    screenshot_index: Some((j % 3) as i64).filter(|_| j != 1),
                    ..NewFinding::default()
                }
            })
            .collect();

        // Screenshots: real files, plus the backend's quirks on some audits.
        let mut shots = Vec::new();
        if status != AuditStatus::Queued {
            if images[site].is_none() {
                images[site] = Some(
                    tokio::task::spawn_blocking(move || site_pictures(site))
                        .await
                        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))??,
                );
            }
            let Some((png, jpg, full)) = &images[site] else {
                unreachable!()
            };
            let mut files: Vec<(&str, &[u8])> = vec![("t0", png), ("t10", jpg)];
            if !full.is_empty() {
                files.push(("fullpage", full));
            }
            for (index, (label, bytes)) in files.into_iter().enumerate() {
                let shots_dir = store.screenshots().clone();
                let (id2, bytes) = (id.clone(), bytes.to_vec());
                let saved = tokio::task::spawn_blocking(move || shots_dir.save(&id2, index as i64, &bytes))
                    .await
                    .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))??;
                shots.push(NewScreenshot {
                    file_path: saved.path.to_string_lossy().into_owned(),
                    label: label.into(),
                    index: index as i64,
                    file_size_bytes: Some(saved.size as i64),
                });
            }
            if i % 12 == 1 {
                // Recorded by the backend on Windows; the file never arrived.
                shots.push(NewScreenshot {
                    file_path: format!(
                        r"C:\Users\auditor\veritas\data\screenshots\{id}\20260223_103640_3_missing.png"
                    ),
                    label: "t20".into(),
                    index: shots.len() as i64,
                    file_size_bytes: Some(48_213),
                });
            }
            if i % 12 == 3 {
                // JPEG bytes in a file named .png, recorded with a Windows path.
                let dir = store.screenshots().audit_dir(&id)?;
                let name = "20260223_103702_3_legacy.png";
                let bytes = jpg.clone();
                let path = dir.join(name);
                tokio::task::spawn_blocking(move || {
                    crate::screenshots::write_atomically(&dir, &path, &bytes)
                })
                .await
                .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))??;
                shots.push(NewScreenshot {
                    file_path: format!(r"C:\Users\auditor\veritas\data\screenshots\{id}\{name}"),
                    label: "t20".into(),
                    index: shots.len() as i64,
                    file_size_bytes: Some(jpg.len() as i64),
                });
            }
        }

        let at = |secs: f64| crate::time::to_text(started + Duration::milliseconds((secs * 1000.0) as i64));
        let mut events = Vec::new();
        let mut ev = |secs: f64, data: Value| {
            events.push(NewEvent {
                event_type: data["type"].as_str().unwrap_or("unknown").to_string(),
                data,
                timestamp: Some(at(secs)),
            })
        };
        if status != AuditStatus::Queued {
            let last_phase = match status {
                AuditStatus::Running | AuditStatus::Disconnected => 3,
                _ => PHASES.len(),
            };
            let step = elapsed / PHASES.len() as f64;
            for (p, (phase, label)) in PHASES.iter().enumerate().take(last_phase) {
                let t0 = p as f64 * step;
                let pct = (p * 100 / PHASES.len()) as i64;
                ev(
                    t0,
                    json!({"type": "phase_start", "phase": phase, "message": format!("{label} started"), "pct": pct}),
                );
                ev(
                    t0 + 0.4,
                    json!({"type": "log_entry", "timestamp": at(t0 + 0.4)[11..19], "agent": phase, "message": format!("{label}: working on {url}"), "level": "info"}),
                );
                if *phase == "scout" {
                    for (k, s) in shots.iter().enumerate() {
                        ev(
                            t0 + 1.0 + k as f64,
                            json!({"type": "screenshot", "url": s.file_path, "label": s.label, "index": s.index, "data": null}),
                        );
                    }
                    ev(
                        t0 + 2.5,
                        json!({"type": "site_type", "site_type": site_type, "confidence": 0.81}),
                    );
                }
                if *phase == "security" {
                    ev(
                        t0 + 1.5,
                        json!({"type": "log_entry", "timestamp": at(t0 + 1.5)[11..19], "agent": "security", "message": "2 security headers missing", "level": "warn"}),
                    );
                    ev(
                        t0 + 2.0,
                        json!({"type": "security_result", "module": "security_headers", "result": security_results(score, site == 2)["security_headers"]}),
                    );
                }
                if *phase == "vision" {
                    for f in &findings {
                        ev(
                            t0 + 1.0,
                            json!({"type": "finding", "finding": {"id": f.key, "category": f.category, "pattern_type": f.pattern_type, "severity": f.severity, "confidence": f.confidence, "description": f.description, "plain_english": f.plain_english, "screenshot_index": f.screenshot_index}}),
                        );
                    }
                }
                if status == AuditStatus::Error && *phase == "graph" {
                    ev(
                        t0 + 2.0,
                        json!({"type": "phase_error", "phase": phase, "message": "WHOIS lookup timed out", "pct": pct, "error": "TimeoutError: whois.iana.org did not answer in 30 s"}),
                    );
                    ev(
                        t0 + 2.1,
                        json!({"type": "log_entry", "timestamp": at(t0 + 2.1)[11..19], "agent": phase, "message": "WHOIS lookup timed out", "level": "error"}),
                    );
                } else {
                    ev(
                        t0 + step * 0.9,
                        json!({"type": "phase_complete", "phase": phase, "message": format!("{label} done"), "pct": ((p + 1) * 100 / PHASES.len()), "summary": {"duration_s": (step * 0.9 * 10.0).round() / 10.0}}),
                    );
                }
            }
            ev(
                elapsed - 1.0,
                json!({"type": "stats_update", "stats": {"pages_scanned": 3 + i % 5, "screenshots": shots.len(), "findings": findings.len(), "ai_calls": 9 + i % 4, "security_checks": 7, "elapsed_seconds": elapsed}}),
            );
            match status {
                AuditStatus::Completed => ev(elapsed, json!({"type": "audit_complete", "audit_id": id})),
                AuditStatus::Error => ev(
                    elapsed,
                    json!({"type": "audit_error", "audit_id": id, "error": "Intelligence Network failed: WHOIS lookup timed out"}),
                ),
                _ => {}
            }
        }

        let signals = json!({
            "visual": (score * 0.9 + 5.0).min(100.0), "temporal": 100.0 - (i % 4) as f64 * 12.5,
            "graph": (score * 1.1).min(100.0), "meta": 90.0 - (i % 3) as f64 * 20.0,
            "structural": (score + 10.0).min(100.0), "security": (score * 0.8 + 8.0).min(100.0)
        });
        let has_result = matches!(status, AuditStatus::Completed | AuditStatus::Error);
        report.findings += findings.len();
        report.screenshots += shots.len();
        let record = AuditRecord {
            id: id.clone(),
            url: url.to_string(),
            status: Some(status),
            audit_tier: Some(["quick_scan", "standard_audit", "deep_forensic"][i % 3].into()),
            verdict_mode: Some(if i % 2 == 0 { "expert" } else { "simple" }.into()),
            trust_score: has_result.then_some((score * 10.0).round() / 10.0),
            risk_level: has_result.then(|| risk_level_for_score(score).to_string()),
            signal_scores: has_result.then_some(signals),
            narrative: has_result.then(|| narrative(url, score, &findings, site == 4)),
            site_type: (status != AuditStatus::Queued).then(|| site_type.to_string()),
            site_type_confidence: (status != AuditStatus::Queued).then_some(0.81),
            security_results: has_result.then(|| security_results(score, site == 2)),
            pages_scanned: has_result.then_some(3 + (i % 5) as i64),
            // The backend's counter is sometimes stale; keep one demo audit that way.
            screenshots_count: Some(if i % 12 == 5 { 0 } else { shots.len() as i64 }),
            elapsed_seconds: (status != AuditStatus::Queued).then_some(elapsed),
            errors: Some(if status == AuditStatus::Error {
                json!(["graph: WHOIS lookup timed out"])
            } else {
                json!([])
            }),
            error_message: (status == AuditStatus::Error)
                .then(|| "Intelligence Network failed: WHOIS lookup timed out".into()),
            started_at: (status != AuditStatus::Queued).then(|| at(0.0)),
            completed_at: finished.then(|| at(elapsed)),
            created_at: Some(at(0.0)),
            updated_at: Some(at(if finished { elapsed } else { elapsed / 2.0 })),
            findings,
            screenshots: shots,
            events,
        };
        store.insert_audit(project, record).await?;
        report.audits += 1;
        progress(i + 1, count);
    }
    Ok(report)
}
