//! Three `veritas-db ingest` processes write one store at once while a fourth reads: a data
//! folder here, a team database in `team.rs` (the same test, parameterised by `engine`).

use std::process::Stdio;

use crate::common::{audit_stream, run, run_json};

#[test]
fn three_processes_ingest_100_audits_each_and_a_reader_never_sees_half_an_audit() {
    three_producers_and_a_reader(&[]);
}

/// Three producers of 100 audits each into one store (`engine`: the arguments choosing it,
/// none for the data folder) while a reader lists it: exactly 300 arrive, complete, and no
/// read shows an audit's result without all its findings.
pub(crate) fn three_producers_and_a_reader(engine: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let with = |args: &[&str]| -> Vec<String> { engine.iter().chain(args).map(|s| s.to_string()).collect() };
    let mut files = Vec::new();
    for p in 0..3 {
        let lines: Vec<String> = (0..100)
            .flat_map(|i| {
                audit_stream(
                    &format!("vrts_{p}{i:07x}"),
                    &format!("https://p{p}.example/{i}"),
                    5,
                    p == 1,
                )
            })
            .collect();
        let file = dir.path().join(format!("stream{p}.ndjson"));
        std::fs::write(&file, lines.join("\n") + "\n").unwrap();
        files.push(file);
    }
    let writers: Vec<_> = files
        .iter()
        .map(|f| {
            crate::common::veritas_db(&data)
                .args(engine)
                .arg("ingest")
                .arg(f)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();

    // The reader: a separate process per read, as another program would be.
    let mut reads = 0;
    let mut writers = writers;
    let mut outputs = Vec::new();
    while !writers.is_empty() {
        let args = with(&["list", "--json", "--limit", "500"]);
        let out = run(&data, &args.iter().map(String::as_str).collect::<Vec<_>>());
        if out.status.success() {
            let audits: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            for a in audits.as_array().unwrap() {
                if !a["trust_score"].is_null() {
                    assert_eq!(
                        a["findings_count"], 5,
                        "audit {} visible with its result but not all its findings",
                        a["id"]
                    );
                }
            }
            reads += 1;
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            // The very first read may come before any process has created the file.
            assert!(
                !err.contains("locked") && !err.contains("busy"),
                "a reader saw a locking error: {err}"
            );
        }
        let mut still = Vec::new();
        for mut w in writers {
            match w.try_wait().unwrap() {
                Some(_) => outputs.push(w.wait_with_output().unwrap()),
                None => still.push(w),
            }
        }
        writers = still;
    }
    for out in &outputs {
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "an ingest failed: {err}");
        assert!(
            !err.contains("locked") && !err.contains("busy"),
            "an ingest saw a locking error: {err}"
        );
        assert!(err.contains("rejected 0 lines"), "{err}");
    }
    assert!(reads > 0, "the reader read while the writers wrote");
    let args = with(&["list", "--json", "--limit", "500"]);
    let audits = run_json(&data, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let audits = audits.as_array().unwrap();
    assert_eq!(audits.len(), 300, "exactly 300 audits, none lost, none doubled");
    assert!(audits
        .iter()
        .all(|a| a["status"] == "completed" && a["findings_count"] == 5));
}
