//! What the demo audits are about: the sites, their scores, the findings and phases they
//! draw from, and the text (narratives, security results) written for them.

use serde_json::{json, Value};

use crate::model::{risk_level_for_score, NewFinding};

pub(super) const SITES: [(&str, &str, [u8; 3]); 12] = [
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
pub(super) const SCORES: [f64; 12] = [
    34.5, 88.0, 8.5, 72.4, 41.0, 96.2, 63.7, 17.9, 91.5, 55.0, 24.3, 79.8,
];

pub(super) const FINDINGS: [(&str, &str, &str, &str); 10] = [
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

pub(super) fn narrative(url: &str, score: f64, findings: &[NewFinding], hostile: bool) -> String {
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

pub(super) fn security_results(score: f64, phishing: bool) -> Value {
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
