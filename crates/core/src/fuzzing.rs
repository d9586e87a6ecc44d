//! Inputs for the `fuzz_*` property tests (issue 16): JSON shaped like the event stream's,
//! with its field names and event types and values of every JSON type, so that random
//! inputs reach past the first check. A short run is part of `cargo test` (proptest's 256
//! cases per target); `tests/fuzz.sh` runs millions (`PROPTEST_CASES`).

use proptest::prelude::*;
use serde_json::Value;

/// Names the stream's objects use, so that generated objects hit real fields.
const KEYS: &[&str] = &[
    "type",
    "audit_id",
    "url",
    "event",
    "finding",
    "findings",
    "result",
    "pattern_type",
    "pattern",
    "severity",
    "confidence",
    "description",
    "data",
    "index",
    "label",
    "module",
    "trust_score",
    "signal_scores",
    "status",
    "cwe_id",
    "id",
    "category",
    "dark_pattern_summary",
    "screenshot_index",
    "tier",
    "phase",
    "pct",
    "message",
    "narrative",
    "risk_level",
    "site_type",
    "security_results",
    "event_id",
    "run",
    "scout_results",
    "base_url",
    "stats",
    "errors",
    "verdict_mode",
];

/// Event types of the old and the current backend, and some that are none.
const TYPES: &[&str] = &[
    "audit_start",
    "audit_result",
    "audit_complete",
    "audit_error",
    "finding",
    "dark_pattern_finding",
    "vision_pass_findings",
    "screenshot",
    "security_result",
    "site_type",
    "log_entry",
    "phase_start",
    "phase_complete",
    "phase_error",
    "stats_update",
    "navigation_start",
    "page_scanned",
    "exploration_path",
    "brand_new_thing",
    "",
];

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::sample::select(KEYS).prop_map(str::to_string),
        1 => "\\PC{0,12}",
    ]
}

/// Any JSON value, nested a few levels.
pub(crate) fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e3f64..1e3).prop_map(Value::from),
        prop::sample::select(TYPES).prop_map(Value::from),
        "\\PC{0,24}".prop_map(Value::from),
        // Control characters, escapes and NUL, as a hostile producer sends them.
        "[\\x00-\\x1f\\u{7f}-\\u{9f}a\\\\\"]{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One line of an event stream: mostly an event object with a known type, else any JSON,
/// else any text.
pub(crate) fn stream_line() -> impl Strategy<Value = String> {
    let event = (
        prop::sample::select(TYPES),
        prop::collection::btree_map(key(), json_value(), 0..8),
        any::<bool>(),
    )
        .prop_map(|(t, fields, envelope)| {
            let mut o: serde_json::Map<String, Value> = fields.into_iter().collect();
            o.insert("type".into(), Value::from(t));
            let event = Value::Object(o);
            if envelope {
                serde_json::json!({"audit_id": "vrts_f022aaaa", "event": event})
            } else {
                event
            }
            .to_string()
        });
    prop_oneof![
        6 => event,
        2 => json_value().prop_map(|v| v.to_string()),
        1 => "\\PC{0,200}",
        1 => prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    ]
}
