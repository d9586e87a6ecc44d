//! What a hostile producer's stream costs (issue 16): one event at the findings limit, whose
//! transaction holds the write lock, and many `security_result` events into one audit,
//! which must cost the same per event however many came before.

use std::time::Instant;

use serde_json::json;
use veritas_core::{IngestOptions, ProjectName, Store};

use crate::Report;

/// Ingest `lines` into a fresh store; the seconds it took.
async fn ingest(lines: &[String]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let text = lines.join("\n") + "\n";
    let t = Instant::now();
    store
        .ingest(
            &ProjectName::default(),
            &IngestOptions::default(),
            text.as_bytes(),
            &mut |_| {},
        )
        .await
        .unwrap();
    t.elapsed().as_secs_f64()
}

fn start(id: &str) -> String {
    json!({"type": "audit_start", "audit_id": id, "url": "https://hostile.example/"}).to_string()
}

pub(crate) async fn hostile(report: &mut Report) {
    let findings: Vec<_> = (0..veritas_core::MAX_FINDINGS_PER_EVENT)
        .map(|j| {
            json!({"id": format!("f{j}"), "pattern_type": "p", "severity": "low", "confidence": 0.5,
                        "description": format!("finding {j} of one pattern")})
        })
        .collect();
    let result =
        json!({"type": "audit_result", "result": {"status": "completed", "findings": findings}}).to_string();
    let with_result = ingest(&[start("vrts_h0571001"), result]).await;
    let alone = ingest(&[start("vrts_h0571001")]).await;
    report.put(
        "ingest_max_findings_ms",
        (with_result - alone) * 1000.0,
        "ms",
        "one audit_result at the findings limit (5,000, one pattern): its write-lock hold, target <= ~1000",
    );
    let security = |n: usize| -> Vec<String> {
        std::iter::once(start("vrts_h0571002"))
            .chain((0..n).map(|i| {
                json!({"type": "security_result", "module": format!("m{}", i % 150), "result": {"findings": [{"cwe_id": 79}]}})
                    .to_string()
            }))
            .collect()
    };
    let (s1, s4) = (ingest(&security(1000)).await, ingest(&security(4000)).await);
    report.put(
        "security_4000_events_s",
        s4,
        "s",
        "4,000 security_result events into one audit (150 module names; 231 s before)",
    );
    report.put(
        "security_4000_over_1000",
        s4 / s1,
        "x",
        "time of 4,000 over 1,000: about 4 when ingest is linear in events",
    );
}
