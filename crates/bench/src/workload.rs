//! The benchmark rows (WORKLOAD.md): audit `i` is a pure function of `i`, so every run and
//! every stack writes exactly the same bytes.
//!
//! Longer than our files usually are (about 420 lines) because it is one specification,
//! WORKLOAD.md's, written out field by field; split, its parts would only make sense together.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};
use veritas_core::{AuditFields, AuditRecord, AuditStatus, NewEvent, NewFinding, NewScreenshot};

/// The workload's 32-bit hash.
pub fn h(i: u64, k: u64) -> u32 {
    let mut x = (i
        .wrapping_mul(0x9E37_79B1)
        .wrapping_add(k.wrapping_mul(0x85EB_CA77))
        .wrapping_add(0x1656_67B1)) as u32;
    x ^= x >> 16;
    x = x.wrapping_mul(0x7FEB_352D);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846C_A68B);
    x ^= x >> 16;
    x
}

pub fn audit_id(i: u64) -> String {
    format!("vrts_{:08x}", ((i + 1) as u32).wrapping_mul(0x9E37_79B1))
}

/// 40 domains, 5 of which contain "shop".
const DOMAINS: [&str; 40] = [
    "example.com",
    "news-daily.org",
    "bank-portal.net",
    "cloudnotes.io",
    "travelbug.com",
    "myshop.example",
    "shopright.net",
    "giftshop.store",
    "coffeeshop.cafe",
    "shopzilla.biz",
    "metricly.io",
    "docs.tools.dev",
    "recipes.blog",
    "fitness-now.com",
    "streamflix.tv",
    "cheapwings.travel",
    "pharma-rx.biz",
    "givewell.org",
    "yieldmax.finance",
    "homecook.net",
    "autotrader.example",
    "realty-hub.com",
    "jobsboard.io",
    "petcare.vet",
    "gardenly.com",
    "kidsbooks.net",
    "photobox.app",
    "musicbay.fm",
    "sportsline.tv",
    "weather.now",
    "citycab.rides",
    "foodie.delivery",
    "learnfast.edu",
    "codehost.dev",
    "mailfast.email",
    "securevpn.net",
    "dating-match.love",
    "casino-royale.bet",
    "crypto-swap.exchange",
    "loans-quick.money",
];
const PATHS: [&str; 8] = [
    "",
    "pricing",
    "checkout",
    "signup",
    "account/login",
    "products/42",
    "blog/post-7",
    "support",
];
const TIERS: [&str; 3] = ["quick_scan", "standard_audit", "deep_forensic"];
const SITE_TYPES: [&str; 6] = ["ecommerce", "news", "saas", "finance", "blog", "marketplace"];
const PHASES: [&str; 6] = ["init", "scout", "security", "vision", "graph", "judge"];
const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];
const HEADERS: [&str; 7] = [
    "Content-Security-Policy",
    "Strict-Transport-Security",
    "X-Frame-Options",
    "X-Content-Type-Options",
    "Referrer-Policy",
    "Permissions-Policy",
    "Cross-Origin-Opener-Policy",
];
/// (pattern_type, category, description, plain_english): about 190 bytes of text each.
pub const FINDINGS: [(&str, &str, &str, &str); 10] = [
    (
        "countdown_timer",
        "false_urgency",
        "A countdown timer on the offer banner resets to the same value on every reload.",
        "The deadline is fake: the clock starts again each time you open the page.",
    ),
    (
        "low_stock_warning",
        "false_urgency",
        "Every product shows an 'only 2 left' label regardless of the real inventory.",
        "The low-stock warning appears no matter how many items are actually available.",
    ),
    (
        "hidden_cancel_button",
        "forced_continuity",
        "The cancellation link is light grey on white and placed below the page footer.",
        "Cancelling the subscription is deliberately hard to find on the account page.",
    ),
    (
        "auto_renewal",
        "forced_continuity",
        "The free trial converts to an annual plan without any reminder before charging.",
        "You will be charged for a full year unless you remember to cancel the trial.",
    ),
    (
        "confirmshaming",
        "visual_interference",
        "The decline option reads 'No thanks, I prefer paying full price' in small text.",
        "Saying no to the offer is worded to make you feel foolish for refusing it.",
    ),
    (
        "disguised_ad",
        "visual_interference",
        "Sponsored listings use the same layout and labels as the organic results.",
        "Some of the results shown are advertisements made to look like normal results.",
    ),
    (
        "preselected_addon",
        "sneaking",
        "Travel insurance is pre-ticked in the basket and added to the order total.",
        "An extra product you did not choose is added to your order unless you untick it.",
    ),
    (
        "hidden_costs",
        "sneaking",
        "A service fee and a handling charge appear only on the final payment step.",
        "The price goes up at the very end of checkout when it is hardest to walk away.",
    ),
    (
        "fake_social_proof",
        "social_engineering",
        "The '38 people are viewing this' counter is generated randomly on each load.",
        "The crowd of other shoppers is invented to rush you into buying quickly.",
    ),
    (
        "fake_login_form",
        "social_engineering",
        "The login form posts the entered credentials to an unrelated third-party host.",
        "This page imitates a real login but sends your password to someone else.",
    ),
];

fn risk(score: f64) -> &'static str {
    match score {
        s if s >= 80.0 => "trusted",
        s if s >= 60.0 => "probably_safe",
        s if s >= 40.0 => "suspicious",
        s if s >= 20.0 => "high_risk",
        _ => "likely_fraudulent",
    }
}

fn status(i: u64) -> AuditStatus {
    match h(i, 1) % 100 {
        s if s < 80 => AuditStatus::Completed,
        s if s < 88 => AuditStatus::Error,
        s if s < 93 => AuditStatus::Disconnected,
        s if s < 97 => AuditStatus::Running,
        _ => AuditStatus::Queued,
    }
}

/// About 1.9 KB of markdown. One audit in ten says "hidden subscription fee" (the phrase
/// the search benchmark looks for).
fn narrative(i: u64, url: &str, score: f64) -> String {
    let phrase = if h(i, 6) % 10 == 0 {
        "a hidden subscription fee"
    } else {
        "an unclear delivery charge"
    };
    let mut s = format!(
        "## Verdict for {url}\n\nThe site scores **{score:.1}/100** and is rated *{}*. During the audit we found {phrase} \
         and several interface choices that push visitors toward decisions they might not make otherwise.\n\n",
        risk(score).replace('_', " ")
    );
    for p in 0..5 {
        s.push_str(&format!(
            "### Observation {}\n\nOn page {} the layout emphasises the primary call to action while the alternative is shown \
             in low-contrast text. Timers, badges and counters were checked against repeated visits; {} of them changed \
             between loads. The security review found {} missing headers and the domain was registered {} days ago.\n\n",
            p + 1,
            h(i, 30 + p) % 9 + 1,
            h(i, 40 + p) % 5,
            h(i, 50 + p) % 4,
            h(i, 60 + p) % 3000
        ));
    }
    s.push_str("- Compare prices on another site before paying.\n- Read the renewal terms.\n- Use a virtual card for trials.\n");
    s
}

fn security(i: u64) -> Value {
    let checks: Vec<Value> = HEADERS
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let passed = h(i, 70 + k as u64) % 3 != 0;
            json!({"header": name, "passed": passed, "severity": SEVERITIES[(k + 1) % 4],
                   "value": if passed { "present; configured with recommended directives" } else { "" },
                   "recommendation": format!("Send {name} with a strict value on every response.")})
        })
        .collect();
    json!({
        "security_headers": {"score": h(i, 80) % 101, "checks": checks},
        "phishing": {"is_phishing": h(i, 81) % 20 == 0, "confidence": (h(i, 82) % 100) as f64 / 100.0,
                     "flags": ["young_domain", "lookalike_brand"], "checked_lists": ["phishtank", "openphish", "urlhaus"]}
    })
}

/// Audit `i`: 1 audit row, 5 findings, 3 screenshot rows, 12 events (21 rows).
pub fn audit(i: u64) -> AuditRecord {
    let id = audit_id(i);
    let url = format!(
        "https://{}/{}",
        DOMAINS[(h(i, 3) % 40) as usize],
        PATHS[(h(i, 4) % 8) as usize]
    );
    let score = f64::from(h(i, 2) % 10001) / 100.0;
    let base = NaiveDate::from_ymd_opt(2026, 1, 5)
        .unwrap()
        .and_hms_opt(8, 0, 0)
        .unwrap()
        .and_utc();
    let started =
        base + Duration::seconds(37 * i as i64) + Duration::microseconds(i64::from(h(i, 5) % 1_000_000));
    let elapsed = 30.0 + f64::from(h(i, 7) % 300) + f64::from(h(i, 8) % 1000) / 1000.0;
    let completed = started + Duration::milliseconds((elapsed * 1000.0) as i64);
    let text = |t| veritas_core::time::to_text(t);
    let findings = (0..5u64)
        .map(|j| {
            let t = FINDINGS[((h(i, 9) as u64 + j * 3) % 10) as usize];
            NewFinding {
                created_at: None,
                run: None,
                key: None,
                pattern_type: t.0.into(),
                category: Some(t.1.into()),
                severity: SEVERITIES[(h(i, 10 + j) % 4) as usize].into(),
                confidence: 0.5 + f64::from(h(i, 20 + j) % 50) / 100.0,
                description: format!("{} Seen on {} pages of the site.", t.2, h(i, 27 + j) % 5 + 2),
                plain_english: Some(t.3.into()),
                screenshot_index: Some((j % 3) as i64),
                ..NewFinding::default()
            }
        })
        .collect();
    let screenshots = ["t0", "t10", "fullpage"]
        .iter()
        .enumerate()
        .map(|(k, label)| NewScreenshot {
            created_at: None,
            run: None,
            file_path: format!(
                "/srv/veritas/data/screenshots/{id}/{}_{k}_{:08x}.png",
                started.timestamp(),
                h(i, 90 + k as u64)
            ),
            label: (*label).into(),
            index: k as i64,
            file_size_bytes: Some(i64::from(h(i, 95 + k as u64) % 900_000 + 50_000)),
        })
        .collect();
    let kinds = [
        "phase_start",
        "log_entry",
        "screenshot",
        "screenshot",
        "phase_complete",
        "site_type",
        "phase_start",
        "finding",
        "security_result",
        "phase_complete",
        "stats_update",
        "audit_complete",
    ];
    let events = kinds
        .iter()
        .enumerate()
        .map(|(j, kind)| NewEvent {
            run: None,
            event_type: (*kind).into(),
            data: json!({"type": kind, "phase": PHASES[j % 6],
                         "message": format!("{kind} for {id} at step {j} of the audit pipeline, recorded for the timeline"),
                         "pct": j * 8, "agent": "orchestrator", "level": "info", "source": "veritas-backend"}),
            timestamp: Some(text(started + Duration::seconds(3 * j as i64))),
        })
        .collect();
    AuditRecord {
        id: id.clone(),
        url: url.clone(),
        status: Some(status(i)),
        screenshots_count: Some(3),
        fields: AuditFields {
            audit_tier: Some(TIERS[(h(i, 11) % 3) as usize].into()),
            verdict_mode: Some(if h(i, 12) % 2 == 0 { "expert" } else { "simple" }.into()),
            trust_score: Some(score),
            risk_level: Some(risk(score).into()),
            signal_scores: Some(json!({
                "visual": f64::from(h(i, 13) % 1001) / 10.0, "temporal": f64::from(h(i, 14) % 1001) / 10.0,
                "graph": f64::from(h(i, 15) % 1001) / 10.0, "meta": f64::from(h(i, 16) % 1001) / 10.0,
                "structural": f64::from(h(i, 17) % 1001) / 10.0, "security": f64::from(h(i, 18) % 1001) / 10.0})),
            narrative: Some(narrative(i, &url, score)),
            site_type: Some(SITE_TYPES[(h(i, 19) % 6) as usize].into()),
            site_type_confidence: Some(f64::from(h(i, 25) % 100) / 100.0),
            security_results: Some(security(i)),
            pages_scanned: Some(i64::from(h(i, 26) % 12 + 1)),
            elapsed_seconds: Some(elapsed),
            errors: Some(json!(["vision: one model call retried after a timeout"])),
            error_message: Some("retried once".into()),
            started_at: Some(text(started)),
            completed_at: Some(text(completed)),
            created_at: Some(text(started)),
            updated_at: Some(text(completed)),
        },
        findings,
        screenshots,
        events,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of every value written for an audit (its 21 rows), as WORKLOAD.md counts them.
    fn value_bytes(a: &AuditRecord) -> usize {
        let o = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let j = |v: &Option<Value>| v.as_ref().map_or(0, |v| v.to_string().len());
        let audit = a.id.len()
            + a.url.len()
            + o(&a.fields.audit_tier)
            + o(&a.fields.verdict_mode)
            + 8
            + o(&a.fields.risk_level)
            + j(&a.fields.signal_scores)
            + o(&a.fields.narrative)
            + o(&a.fields.site_type)
            + 8
            + j(&a.fields.security_results)
            + 24
            + j(&a.fields.errors)
            + o(&a.fields.error_message)
            + o(&a.fields.started_at)
            + o(&a.fields.completed_at)
            + o(&a.fields.created_at)
            + o(&a.fields.updated_at)
            + "completed".len();
        let findings: usize = a
            .findings
            .iter()
            .map(|f| {
                a.id.len()
                    + f.pattern_type.len()
                    + o(&f.category)
                    + f.severity.len()
                    + 8
                    + f.description.len()
                    + o(&f.plain_english)
                    + 8
                    + 26
            })
            .sum();
        let shots: usize = a
            .screenshots
            .iter()
            .map(|s| a.id.len() + s.file_path.len() + s.label.len() + 16 + 26)
            .sum();
        let events: usize = a
            .events
            .iter()
            .map(|e| a.id.len() + e.event_type.len() + e.data.to_string().len() + 26)
            .sum();
        audit + findings + shots + events
    }

    #[test]
    fn rows_are_a_pure_function_of_i_and_of_the_documented_size() {
        assert_eq!(audit(7), audit(7));
        assert_ne!(audit(7).id, audit(8).id);
        let a = audit(123);
        assert_eq!(
            1 + a.findings.len() + a.screenshots.len() + a.events.len(),
            21,
            "21 rows an audit"
        );
        let narrative = a.fields.narrative.as_ref().unwrap().len();
        let security = a.fields.security_results.as_ref().unwrap().to_string().len();
        assert!(
            (1_700..2_100).contains(&narrative),
            "narrative about 1.9 KB: {narrative}"
        );
        assert!(
            (1_500..1_900).contains(&security),
            "security results about 1.7 KB: {security}"
        );
        for f in &a.findings {
            let n = f.description.len() + f.plain_english.as_ref().unwrap().len();
            assert!((170..215).contains(&n), "finding text about 190 bytes: {n}");
        }
        for e in &a.events {
            let n = e.data.to_string().len();
            assert!((180..225).contains(&n), "event about 200 bytes: {n}");
        }
        let total = value_bytes(&a);
        assert!(
            (8_500..10_500).contains(&total),
            "about 9.5 KB of values per audit: {total}"
        );
        let shops = (0..2000).filter(|i| audit(*i).url.contains("shop")).count();
        assert!(
            (150..350).contains(&shops),
            "about 1 url in 8 contains 'shop': {shops}"
        );
    }
}
