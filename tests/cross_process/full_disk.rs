//! Issue 16, bug 6: on a full disk, ingest went on line after line (2,767 "bad lines" and
//! exit status 1), and audits completed with their screenshots silently missing. On a real,
//! small tmpfs (the test command runs as root), it must stop at the first "no space" with
//! exit 2 and name it, and leave the audit it was in `running`, not complete.

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use serde_json::json;

use crate::common::{run, run_json};

/// A tmpfs mounted on a temporary folder, unmounted when dropped (a failed test included).
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size: &str) -> Tmpfs {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount runs");
        // Never skipped quietly: without the small disk there is no test of a full one.
        assert!(
            out.status.success(),
            "the full-disk test needs to mount a tmpfs (run as root): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Tmpfs { dir }
    }

    fn path(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// A PNG of noise (which does not compress), about `w * h * 3` bytes.
fn noise_png(w: u32, h: u32, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        image::Rgb([x as u8, (x >> 8) as u8, (x >> 16) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

fn stream(audits: usize) -> String {
    let mut lines = Vec::new();
    for a in 0..audits {
        let id = format!("vrts_fu11{a:04}");
        lines
            .push(json!({"type": "audit_start", "audit_id": id, "url": format!("https://full.example/{a}")}));
        for i in 0..3 {
            let data =
                base64::engine::general_purpose::STANDARD.encode(noise_png(400, 200, (a * 3 + i) as u32 + 1));
            lines.push(json!({"type": "screenshot", "label": format!("t{i}"), "index": i, "data": data}));
        }
        lines.push(json!({"type": "audit_result", "result": {"status": "completed", "trust_score": 50}}));
    }
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

fn ingest_file(dir: &Path, file: &Path) -> std::process::Output {
    run(dir, &["ingest", file.to_str().unwrap()])
}

#[test]
fn a_full_disk_stops_ingest_at_once_with_exit_2_and_completes_no_audit_without_its_screenshots() {
    let disk = Tmpfs::mount("2m");
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), stream(4)).unwrap();
    let out = ingest_file(&disk.path(), input.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the disk is full") && stderr.contains("line "),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("rejected").count(),
        0,
        "no line is called bad: {stderr}"
    );

    // Every audit is complete with all three screenshots, or still running; none beyond
    // the one the disk filled up in was started.
    let audits = run_json(&disk.path(), &["list", "--json"]);
    let audits = audits.as_array().unwrap();
    assert!(!audits.is_empty() && audits.len() < 4, "{audits:?}");
    for a in audits {
        let complete = a["status"] == "completed";
        let shots = a["screenshots_count"].as_i64().unwrap_or(0);
        assert!(!complete || shots == 3, "completed without its screenshots: {a}");
    }
    assert!(
        audits.iter().any(|a| a["status"] == "running"),
        "the audit it stopped in is left running"
    );
}
