//! Realistic sample audits for a first look at the viewer: every status and risk level,
//! findings of every severity, timelines, several audits of the same site (history), and
//! real screenshot images, viewport-sized and tall full-page ones. A few carry the quirks of
//! real backend databases: a screenshot whose file is missing, JPEG bytes under a `.png`
//! name recorded with a Windows path, a narrative with HTML in it.
//!
//! - [`catalogue`]: the sites, findings and texts;
//! - [`pictures`]: the rendered screenshots;
//! - here: the loader, which puts them together into audits.

mod catalogue;
mod pictures;

use chrono::{Duration, Utc};
use serde::Serialize;
use serde_json::{json, Value};

use self::catalogue::{narrative, security_results, FINDINGS, SCORES, SITES};
use self::pictures::{site_pictures, SitePictures};
use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::model::{
    risk_level_for_score, AuditFields, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot,
};
use crate::vocabulary::PHASES;
use crate::Store;

/// What `load_demo` made.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DemoReport {
    pub audits: usize,
    pub findings: usize,
    pub screenshots: usize,
}

/// See [`Store::load_demo`].
pub(crate) async fn load_demo(
    store: &Store,
    project: &ProjectName,
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
    // Per site, the newest round's pictures and the earlier rounds' (see `site_pictures`).
    let mut images: Vec<[Option<SitePictures>; 2]> = vec![[None, None]; SITES.len()];
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
        let audit_id = AuditId::parse(&id)?;
        let started = now - Duration::hours((i as i64) * 9 + 1) - Duration::days(round as i64 * 21);
        let elapsed = 40.0 + (i % 9) as f64 * 11.5;
        let finished = matches!(status, AuditStatus::Completed | AuditStatus::Error);

        // An earlier round of a site found one finding fewer per round, so the newest audit
        // of a site has a finding new since the one before (and the rest persisting).
        let n_findings = if status == AuditStatus::Queued {
            0
        } else {
            (2 + (i * 5) % 6).saturating_sub(round as usize).max(1)
        };
        let findings: Vec<NewFinding> = (0..n_findings)
            .map(|j| {
                let t = FINDINGS[(site * 3 + j) % FINDINGS.len()];
                let confidence = 0.55 + ((i + j * 3) % 9) as f64 * 0.05;
                NewFinding {
                    created_at: None,
                    run: None,
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
            let era = usize::from(round > 0.0);
            if images[site][era].is_none() {
                images[site][era] = Some(crate::blocking(move || site_pictures(site, era)).await??);
            }
            let Some((png, jpg, full)) = &images[site][era] else {
                unreachable!()
            };
            let mut files: Vec<(&str, &[u8])> = vec![("t0", png), ("t10", jpg)];
            if !full.is_empty() {
                files.push(("fullpage", full));
            }
            for (index, (label, bytes)) in files.into_iter().enumerate() {
                let shots_dir = store.screenshots().clone();
                let (id2, bytes) = (audit_id.clone(), bytes.to_vec());
                let saved = crate::blocking(move || shots_dir.save(&id2, index as i64, &bytes)).await??;
                shots.push(NewScreenshot {
                    created_at: None,
                    run: None,
                    file_path: saved.path.to_string_lossy().into_owned(),
                    label: label.into(),
                    index: index as i64,
                    file_size_bytes: Some(saved.size as i64),
                });
            }
            if i % 12 == 1 {
                // Recorded by the backend on Windows; the file never arrived.
                shots.push(NewScreenshot {
                    created_at: None,
                    run: None,
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
                let dir = store.screenshots().audit_dir(&audit_id);
                let name = "20260223_103702_3_legacy.png";
                let bytes = jpg.clone();
                let path = dir.join(name);
                crate::blocking(move || crate::screenshots::write_atomically(&dir, &path, &bytes)).await??;
                shots.push(NewScreenshot {
                    created_at: None,
                    run: None,
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
                run: None,
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
            for (p, crate::vocabulary::PhaseName { value: phase, label }) in
                PHASES.iter().enumerate().take(last_phase)
            {
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
            // The backend's counter is sometimes stale; keep one demo audit that way.
            screenshots_count: Some(if i % 12 == 5 { 0 } else { shots.len() as i64 }),
            fields: AuditFields {
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
            },
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
