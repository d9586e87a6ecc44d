//! Running `veritas-db` on a temporary data directory.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};

/// `veritas-db --data-dir DIR`, to add arguments and pipes to: every test's way to start one
/// (the backend's own switch, `USE_DB_PERSISTENCE`, is not inherited from the test's shell).
pub fn veritas_db(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_veritas-db"));
    command
        .arg("--data-dir")
        .arg(dir)
        .env_remove("USE_DB_PERSISTENCE");
    command
}

/// `veritas-db --data-dir DIR ARGS…`, run to completion.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    veritas_db(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("veritas-db runs")
}

/// Run and expect success; the parsed JSON of standard output.
pub fn run_json(dir: &Path, args: &[&str]) -> Value {
    let out = run(dir, args);
    assert!(
        out.status.success(),
        "veritas-db {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("veritas-db {args:?} printed no JSON: {e}"))
}

pub const SEVERITIES: [&str; 4] = ["low", "medium", "high", "critical"];

/// The event lines of one complete audit whose result carries `findings` findings.
pub fn audit_stream(id: &str, url: &str, findings: usize, envelope: bool) -> Vec<String> {
    let result_findings: Vec<Value> = (0..findings)
        .map(|j| json!({"id": format!("{id}-f{j}"), "category": "sneaking", "pattern_type": format!("pattern_{}", j % 4),
                        "severity": SEVERITIES[j % 4], "confidence": 0.5,
                        "description": format!("finding {j} of {id}"), "plain_english": "Watch out."}))
        .collect();
    let events = vec![
        json!({"type": "audit_start", "audit_id": id, "url": url, "tier": "standard_audit", "verdict_mode": "expert"}),
        json!({"type": "phase_start", "phase": "init", "message": "Starting", "pct": 0}),
        json!({"type": "audit_result", "result": {"url": url, "trust_score": 61.5, "risk_level": "suspicious",
               "signal_scores": {"visual": 50.0}, "narrative": format!("Narrative of {id}"), "findings": result_findings}}),
        json!({"type": "audit_complete", "audit_id": id}),
    ];
    events
        .into_iter()
        .map(|e| {
            if envelope {
                json!({"audit_id": id, "event": e}).to_string()
            } else {
                e.to_string()
            }
        })
        .collect()
}
