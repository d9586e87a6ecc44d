//! Issue 16's soaks, short here (the test command) and long in `tests/soak.sh`, which sets
//! the sizes through the environment and records the figures in RELIABILITY.md:
//!
//! - crash soak: `VERITAS_SOAK_ROUNDS` rounds (default 5) of `veritas-db ingest` of a stream
//!   with screenshots, killed with SIGKILL at a random moment, into one data folder. After
//!   each: the integrity check passes, every audit of the round is absent, complete, or a
//!   consistent running prefix of its stream, and `doctor --repair` leaves no temporary file.
//! - producers: `VERITAS_SOAK_PRODUCERS` processes (default 4) x `VERITAS_SOAK_AUDITS` audits
//!   (default 100) into one file while 2 readers list it: exactly all of them arrive, and no
//!   lock error reaches anyone.

use std::io::Cursor;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

use crate::common::{audit_stream, run, run_json};

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The event types of one soak audit, in stream order.
const EVENTS: [&str; 8] = [
    "audit_start",
    "phase_start",
    "screenshot",
    "screenshot",
    "screenshot",
    "phase_complete",
    "audit_result",
    "audit_complete",
];
const SHOTS: usize = 3;
const FINDINGS: usize = 40;
pub(crate) const AUDITS_PER_ROUND: usize = 3;

/// A PNG of noise (which does not compress), about `w * h * 3` bytes.
fn noise_png(w: u32, h: u32, seed: u64) -> Vec<u8> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let img = image::RgbImage::from_fn(w, h, |_, _| image::Rgb([rng.u8(..), rng.u8(..), rng.u8(..)]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

pub(crate) fn audit_id(round: usize, a: usize) -> String {
    format!("vrts_soak{round:04}_{a}")
}

/// The stream of one round: [`AUDITS_PER_ROUND`] audits, each the events of [`EVENTS`],
/// numbered from 1.
pub(crate) fn round_stream(round: usize) -> String {
    let mut lines: Vec<Value> = Vec::new();
    for a in 0..AUDITS_PER_ROUND {
        let first = lines.len();
        let id = audit_id(round, a);
        let url = format!("https://soak.example/{round}/{a}");
        lines.push(json!({"type": "audit_start", "audit_id": id, "url": url, "tier": "standard_audit"}));
        lines.push(json!({"type": "phase_start", "phase": "scout", "message": "Visiting", "pct": 10}));
        for i in 0..SHOTS {
            let png = noise_png(320, 200, (round * 100 + a * 10 + i) as u64);
            let data = base64::engine::general_purpose::STANDARD.encode(png);
            lines.push(json!({"type": "screenshot", "label": format!("shot {i}"), "index": i, "data": data}));
        }
        lines.push(json!({"type": "phase_complete", "phase": "scout", "message": "Visited", "pct": 50}));
        let findings: Vec<Value> = (0..FINDINGS)
            .map(|j| json!({"id": format!("{id}-f{j}"), "pattern_type": format!("pattern_{}", j % 5),
                            "severity": "medium", "confidence": 0.7, "description": format!("finding {j} of {id}")}))
            .collect();
        lines.push(json!({"type": "audit_result", "result": {"url": url, "trust_score": 42.0,
                          "risk_level": "suspicious", "narrative": format!("Narrative of {id}"), "findings": findings}}));
        lines.push(json!({"type": "audit_complete", "audit_id": id}));
        // Numbered, as the backend numbers an audit's events: a stream ingested again after
        // the kill is recognised, event by event.
        for (n, event) in lines[first..].iter_mut().enumerate() {
            event["sequence"] = json!(n + 1);
        }
    }
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

/// What is stored of one audit of the stream is nothing, all of it, or a prefix of its
/// events with exactly what those events store; an error names the audit and the mismatch.
/// `engine`: the arguments choosing the store (none for the data folder).
pub(crate) fn check_audit(data: &Path, engine: &[&str], id: &str) -> Result<&'static str, String> {
    let args: Vec<&str> = engine.iter().copied().chain(["show", id, "--json"]).collect();
    let out = run(data, &args);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return if err.contains("not found") {
            Ok("absent")
        } else {
            Err(format!("show {id}: {err}"))
        };
    }
    let a: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let types: Vec<&str> = a["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_type"].as_str().unwrap_or(""))
        .collect();
    if types.is_empty() || types[..] != EVENTS[..types.len().min(EVENTS.len())] || types.len() > EVENTS.len()
    {
        return Err(format!("{id}: events {types:?} are not a prefix of {EVENTS:?}"));
    }
    let seen = |t: &str| types.contains(&t);
    let shots_in_prefix = types.iter().filter(|t| **t == "screenshot").count();
    let shots = a["screenshots"].as_array().unwrap();
    if shots.len() != shots_in_prefix {
        return Err(format!(
            "{id}: {} screenshot rows after {shots_in_prefix} screenshot events",
            shots.len()
        ));
    }
    if let Some(s) = shots.iter().find(|s| s["exists"] != true) {
        return Err(format!("{id}: screenshot row without its file: {s}"));
    }
    let findings = a["findings"].as_array().unwrap().len();
    let want = if seen("audit_result") { FINDINGS } else { 0 };
    if findings != want || a["trust_score"].is_null() == seen("audit_result") {
        return Err(format!(
            "{id}: {findings} findings, trust score {} after events {types:?}",
            a["trust_score"]
        ));
    }
    let complete = seen("audit_complete");
    match (a["status"].as_str(), complete) {
        (Some("completed"), true) => Ok("complete"),
        (Some("running"), false) => Ok("running prefix"),
        (status, _) => Err(format!("{id}: status {status:?} after events {types:?}")),
    }
}

/// Our temporary files anywhere in the data folder.
fn temporary_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            found.extend(temporary_files(&path));
        } else if entry.file_name().to_string_lossy().starts_with(".tmp-") {
            found.push(path.display().to_string());
        }
    }
    found
}

pub(crate) fn ingest_child(data: &Path, engine: &[&str], file: &Path) -> std::process::Child {
    crate::common::veritas_db(data)
        .args(engine)
        .arg("ingest")
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn ingest_killed_at_random_moments_leaves_every_audit_absent_complete_or_a_consistent_prefix() {
    let rounds = env_or("VERITAS_SOAK_ROUNDS", 5);
    let seed = std::env::var("VERITAS_SOAK_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    // Printed, so that a failing run can be repeated with VERITAS_SOAK_SEED.
    eprintln!("crash soak: {rounds} rounds, VERITAS_SOAK_SEED={seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");

    // How long one round's ingest takes whole, measured on a folder of its own: the kills
    // fall anywhere from before the first event to after the last.
    let calibration = dir.path().join("calibration");
    let file = dir.path().join("calibrate.ndjson");
    std::fs::write(&file, round_stream(9999)).unwrap();
    let started = Instant::now();
    assert!(ingest_child(&calibration, &[], &file).wait().unwrap().success());
    let whole = started.elapsed();

    let mut tally = std::collections::BTreeMap::<&str, usize>::new();
    let (mut temporary_removed, mut orphans) = (0, 0);
    let mut streams = Vec::new();
    for round in 0..rounds {
        let file = dir.path().join(format!("round{round}.ndjson"));
        std::fs::write(&file, round_stream(round)).unwrap();
        let mut child = ingest_child(&data, &[], &file);
        let delay = whole.mul_f64(rng.f64() * 1.2);
        std::thread::sleep(delay);
        let _ = child.kill(); // SIGKILL; the process may have finished already
        child.wait().unwrap();
        streams.push(file);

        for a in 0..AUDITS_PER_ROUND {
            let id = audit_id(round, a);
            match check_audit(&data, &[], &id) {
                Ok(state) => *tally.entry(state).or_default() += 1,
                Err(e) => panic!("round {round} (killed after {delay:?}, seed {seed}): {e}"),
            }
        }
        let doctor = run_json(&data, &["doctor", "--repair", "--json"]);
        temporary_removed += doctor["stale_temporary_files"].as_array().unwrap().len();
        orphans = doctor["orphan_files"].as_array().unwrap().len();
        assert_eq!(doctor["integrity"], json!(["ok"]), "round {round}: {doctor}");
        assert_eq!(doctor["foreign_key_violations"], 0, "round {round}");
        assert_eq!(doctor["search_index_ok"], true, "round {round}");
        let left = temporary_files(&data);
        assert!(left.is_empty(), "round {round}: doctor --repair left {left:?}");
    }
    eprintln!(
        "crash soak: {rounds} rounds, {whole:?} per whole ingest; audits after the kill: {tally:?}; \
         temporary files removed by doctor --repair: {temporary_removed}; orphan files (a \
         screenshot stored, its row not committed; reported, kept): {orphans}"
    );

    // Every stream again, whole (as after a crash): each audit completes, nothing doubled.
    for file in &streams {
        let out = run(&data, &["ingest", file.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "{}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for round in 0..rounds {
        for a in 0..AUDITS_PER_ROUND {
            let id = audit_id(round, a);
            assert_eq!(
                check_audit(&data, &[], &id),
                Ok("complete"),
                "{id} after ingesting again"
            );
        }
    }
    let listed = run_json(&data, &["list", "--json", "--all"]);
    assert_eq!(listed.as_array().unwrap().len(), rounds * AUDITS_PER_ROUND);
}

#[test]
fn producers_ingest_at_once_with_two_readers_and_exactly_every_audit_arrives() {
    let producers = env_or("VERITAS_SOAK_PRODUCERS", 4);
    let audits = env_or("VERITAS_SOAK_AUDITS", 100);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    assert!(run(&data, &["init"]).status.success());
    let files: Vec<_> = (0..producers)
        .map(|p| {
            let lines: Vec<String> = (0..audits)
                .flat_map(|i| {
                    audit_stream(
                        &format!("vrts_p{p}_{i:06}"),
                        &format!("https://p{p}.example/{i}"),
                        3,
                        p % 2 == 1,
                    )
                })
                .collect();
            let file = dir.path().join(format!("producer{p}.ndjson"));
            std::fs::write(&file, lines.join("\n") + "\n").unwrap();
            file
        })
        .collect();

    let started = Instant::now();
    let writers: Vec<_> = files
        .iter()
        .map(|f| {
            crate::common::veritas_db(&data)
                .arg("ingest")
                .arg(f)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..2)
        .map(|r| {
            let (data, done) = (data.clone(), done.clone());
            std::thread::spawn(move || {
                let (mut reads, mut slowest) = (0u64, Duration::ZERO);
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = Instant::now();
                    let args: &[&str] = if r == 0 {
                        &["list", "--json", "--limit", "200"]
                    } else {
                        &["list", "--json", "--limit", "50", "--facets"]
                    };
                    let out = run(&data, args);
                    slowest = slowest.max(t.elapsed());
                    let err = String::from_utf8_lossy(&out.stderr);
                    assert!(out.status.success(), "reader {r}: {err}");
                    assert!(
                        !err.contains("locked") && !err.contains("busy"),
                        "reader {r}: {err}"
                    );
                    if r == 0 {
                        let rows: Value = serde_json::from_slice(&out.stdout).unwrap();
                        for a in rows.as_array().unwrap() {
                            assert!(
                                a["trust_score"].is_null() || a["findings_count"] == 3,
                                "reader saw half an audit: {a}"
                            );
                        }
                    }
                    reads += 1;
                }
                (reads, slowest)
            })
        })
        .collect();
    for w in writers {
        let out = w.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "a producer failed: {err}");
        assert!(!err.contains("locked") && !err.contains("busy"), "{err}");
        assert!(err.contains("rejected 0 lines"), "{err}");
    }
    let elapsed = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let reads: Vec<(u64, Duration)> = readers.into_iter().map(|r| r.join().unwrap()).collect();

    let counts = run_json(&data, &["projects", "--json"]);
    let total: i64 = counts
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["audits"].as_i64().unwrap())
        .sum();
    assert_eq!(
        total as usize,
        producers * audits,
        "exactly every audit, none lost, none doubled"
    );
    let completed = run_json(&data, &["list", "--json", "--all", "--status", "completed"]);
    assert_eq!(
        completed.as_array().unwrap().len(),
        producers * audits,
        "every audit completed"
    );
    eprintln!(
        "producers soak: {producers} x {audits} audits in {:.1} s ({:.0} audits/s); readers {:?}",
        elapsed.as_secs_f64(),
        (producers * audits) as f64 / elapsed.as_secs_f64(),
        reads
    );
}
