//! The app figures, in real windows under Xvfb: time from process start to the audit list
//! painted on the demo data (`app_start_ms`), the same for a minimal Tauri window
//! (`app_start_minimal_ms`, src-tauri/examples/minimal), and the p99 round trip of the list
//! command from the UI (`ipc_list_p99_ms`). Both programs print a `veritas-timing` line on
//! stdout when drawn (the app only with VERITAS_VIEWER_TIMING=1); start-up is the time from
//! spawning the process to reading that line.
//!
//! Given the 1,000,000-audit browse database (a full run with `--browse-dir`), the app also
//! starts on it: to the list painted and to the facet sidebar painted, each beside the same
//! on the demo data (`app_1m_start_ratio`, `app_1m_facets_ratio`, target <= 1.5), and the
//! resident memory of the app's processes (its own and WebKit's) browsing it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{median, percentile, Report};

/// How long one start may take before the run is called failed.
const START_TIMEOUT: Duration = Duration::from_secs(90);

/// A virtual display for the windows, stopped on drop (unless one was given in DISPLAY).
struct Display {
    name: String,
    xvfb: Option<Child>,
}

impl Display {
    fn get() -> Result<Display, String> {
        if let Some(name) = std::env::var("DISPLAY").ok().filter(|d| !d.is_empty()) {
            return Ok(Display { name, xvfb: None });
        }
        let n = (90..100)
            .find(|&n| display_free(n))
            .ok_or("no free X display number in :90-:99")?;
        let xvfb = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                "1600x1000x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start Xvfb ({e}); apt-get install xvfb"))?;
        let display = Display {
            name: format!(":{n}"),
            xvfb: Some(xvfb),
        };
        let socket = format!("/tmp/.X11-unix/X{n}");
        let waited = Instant::now();
        while !Path::new(&socket).exists() {
            if waited.elapsed() > Duration::from_secs(10) {
                return Err("Xvfb did not start within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(display)
    }
}

/// Whether display `:n` can be started: no lock, or a lock left by a server that is gone (one
/// killed outright leaves its lock and socket behind; they are removed here so that the
/// socket's appearing means the new server is up).
fn display_free(n: u32) -> bool {
    let (lock, socket) = (format!("/tmp/.X{n}-lock"), format!("/tmp/.X11-unix/X{n}"));
    match std::fs::read_to_string(&lock) {
        Ok(pid) if Path::new(&format!("/proc/{}", pid.trim())).exists() => false,
        Ok(_) => {
            std::fs::remove_file(&lock).is_ok()
                && (std::fs::remove_file(&socket).is_ok() || !Path::new(&socket).exists())
        }
        Err(_) => !Path::new(&socket).exists(),
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        if let Some(x) = &mut self.xvfb {
            // Asked to stop, Xvfb removes its lock and socket; killed, it leaves them.
            let asked = Command::new("kill")
                .args(["-TERM", &x.id().to_string()])
                .status()
                .is_ok_and(|s| s.success());
            let waited = Instant::now();
            while asked && waited.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = x.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = x.kill();
            let _ = x.wait();
        }
    }
}

/// What one start gave: milliseconds to the painted line, and the list round trips if they
/// were waited for.
struct Start {
    painted_ms: f64,
    /// To the facet sidebar's first counts painted (the app only).
    facets_ms: Option<f64>,
    ipc_ms: Option<Vec<f64>>,
    /// Resident memory of the process and its children once everything was painted (MB).
    rss_mb: f64,
}

/// What a start waits for besides the list painted.
#[derive(Clone, Copy, PartialEq)]
enum Wait {
    Painted,
    Facets,
    FacetsAndIpc,
}

/// Start `program` in a fresh window, wait for its painted line (and what `wait` asks for
/// besides), then stop it.
fn start_once(
    program: &Path,
    args: &[&str],
    env: &[(&str, &Path)],
    display: &str,
    wait: Wait,
) -> Result<Start, String> {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("DISPLAY", display)
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .env("VERITAS_VIEWER_TIMING", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", program.display()))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(json) = line.strip_prefix("veritas-timing ") {
                if tx.send((t0.elapsed(), json.to_string())).is_err() {
                    break;
                }
            }
        }
    });
    let pid = child.id();
    let result = (|| {
        let (mut painted, mut facets, mut ipc) = (None, None, None);
        loop {
            let done = painted.is_some()
                && (wait == Wait::Painted || facets.is_some())
                && (wait != Wait::FacetsAndIpc || ipc.is_some());
            if done {
                break;
            }
            let left = START_TIMEOUT.saturating_sub(t0.elapsed());
            let (at, json) = rx.recv_timeout(left).map_err(|_| {
                format!(
                    "{} printed no {} report within {} s (the app must be built with \
                     --features veritas-viewer/timing)",
                    program.display(),
                    if painted.is_none() {
                        "list_painted"
                    } else if facets.is_none() && wait != Wait::Painted {
                        "facets_painted"
                    } else {
                        "ipc_list"
                    },
                    START_TIMEOUT.as_secs()
                )
            })?;
            let v: Value =
                serde_json::from_str(&json).map_err(|e| format!("bad timing line {json:?}: {e}"))?;
            let ms = at.as_secs_f64() * 1000.0;
            match v["name"].as_str() {
                Some("list_painted") => painted = Some(ms),
                Some("facets_painted") => facets = Some(ms),
                Some("ipc_list") => {
                    ipc = Some(
                        v["samples_ms"]
                            .as_array()
                            .map(|a| a.iter().filter_map(Value::as_f64).collect())
                            .unwrap_or_default(),
                    );
                }
                _ => {}
            }
        }
        Ok(Start {
            painted_ms: painted.expect("waited for"),
            facets_ms: facets,
            ipc_ms: ipc,
            rss_mb: tree_rss_mb(pid),
        })
    })();
    let _ = child.kill();
    let _ = child.wait();
    result
}

/// Resident memory of `pid` and its descendants (the app's WebKit processes), in MB.
fn tree_rss_mb(pid: u32) -> f64 {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Some(p) = entry.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        // The parent is the 2nd field after the parenthesised command name.
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{p}/stat")) {
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse().ok());
            if let Some(ppid) = ppid {
                parents.push((p, ppid));
            }
        }
    }
    let mut tree = vec![pid];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(parents.iter().filter(|(_, pp)| *pp == parent).map(|(p, _)| *p));
        i += 1;
    }
    tree.iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .sum::<f64>()
        / 1024.0
}

/// The app and the minimal window binaries, beside this benchmark's own.
fn binaries() -> Option<(PathBuf, PathBuf)> {
    let dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    let app = dir.join("veritas-viewer");
    let minimal = dir.join("veritas-minimal-window");
    (app.exists() && minimal.exists()).then_some((app, minimal))
}

/// Measure the app figures; `runs` timed starts of each program, after one untimed start
/// each (the first start of a fresh profile creates WebKit's caches); on `browse_1m` too
/// when given.
pub async fn measure(report: &mut Report, runs: usize, browse_1m: Option<&Path>) {
    let Some((app, minimal)) = binaries() else {
        let why = "not measured: build them first (cargo build --release -p veritas-viewer -p veritas-minimal-window --features veritas-viewer/timing)";
        for key in ["app_start_ms", "app_start_minimal_ms", "ipc_list_p99_ms"] {
            report.note(key, why);
        }
        return;
    };
    let display = match Display::get() {
        Ok(d) => d,
        Err(why) => {
            for key in ["app_start_ms", "app_start_minimal_ms", "ipc_list_p99_ms"] {
                report.note(key, &format!("not measured: {why}"));
            }
            return;
        }
    };
    let data = tempfile::tempdir().unwrap();
    let store = veritas_core::Store::open(data.path()).await.unwrap();
    store
        .load_demo(&veritas_core::ProjectName::default(), 16, &mut |_, _| {})
        .await
        .unwrap();
    store.database().clone().close().await;
    drop(store);

    // One profile for every start, like a person's: the window state, WebKit's caches and
    // the remembered view persist between starts.
    let profile = tempfile::tempdir().unwrap();
    let (config, share, cache) = (
        profile.path().join("config"),
        profile.path().join("share"),
        profile.path().join("cache"),
    );
    let env: [(&str, &Path); 3] = [
        ("XDG_CONFIG_HOME", &config),
        ("XDG_DATA_HOME", &share),
        ("XDG_CACHE_HOME", &cache),
    ];
    let data_arg = data.path().to_string_lossy().into_owned();
    let app_args = ["--data-dir", data_arg.as_str()];

    let run = |program: &Path, args: &[&str], wait: Wait| -> Start {
        start_once(program, args, &env, &display.name, wait).unwrap_or_else(|e| panic!("{e}"))
    };
    run(&app, &app_args, Wait::Facets);
    run(&minimal, &[], Wait::Painted);
    let (mut app_ms, mut facets_ms, mut minimal_ms, mut ipc) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut demo_rss = 0.0;
    for i in 0..runs {
        // Alternate, so that the machine's noise falls on both alike.
        let last = i + 1 == runs;
        let s = run(
            &app,
            &app_args,
            if last { Wait::FacetsAndIpc } else { Wait::Facets },
        );
        app_ms.push(s.painted_ms);
        facets_ms.extend(s.facets_ms);
        if let Some(samples) = s.ipc_ms {
            ipc = samples;
        }
        demo_rss = s.rss_mb;
        minimal_ms.push(run(&minimal, &[], Wait::Painted).painted_ms);
    }
    let (app_med, facets_med, min_med) = (median(app_ms), median(facets_ms), median(minimal_ms));
    report.put(
        "app_start_ms",
        app_med,
        "ms",
        &format!("process start to the audit list painted, demo data, median of {runs}"),
    );
    report.put(
        "app_facets_ms",
        facets_med,
        "ms",
        &format!("process start to the facet sidebar painted, demo data, median of {runs}"),
    );
    report.put(
        "app_rss_mb",
        demo_rss,
        "MB",
        "resident memory of the app's processes, demo data, list and facets painted",
    );
    if let Some(big) = browse_1m {
        let big_arg = big.to_string_lossy().into_owned();
        let big_args = ["--data-dir", big_arg.as_str()];
        // One untimed start: the first open of a database this size reads it from disk.
        run(&app, &big_args, Wait::Facets);
        let (mut list, mut facets, mut rss) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let s = run(&app, &big_args, Wait::Facets);
            list.push(s.painted_ms);
            facets.extend(s.facets_ms);
            rss.push(s.rss_mb);
        }
        let (list, facets) = (median(list), median(facets));
        report.put(
            "app_1m_start_ms",
            list,
            "ms",
            &format!("the same on the 1M browse database, median of {runs}"),
        );
        report.put(
            "app_1m_start_ratio",
            list / app_med,
            "x",
            "app_1m_start_ms / app_start_ms, target <= 1.5",
        );
        report.put(
            "app_1m_facets_ms",
            facets,
            "ms",
            "process start to the facets painted, 1M database",
        );
        report.put(
            "app_1m_facets_ratio",
            facets / facets_med,
            "x",
            "app_1m_facets_ms / app_facets_ms, target <= 1.5",
        );
        report.put(
            "app_1m_rss_mb",
            median(rss),
            "MB",
            "resident memory of the app's processes browsing the 1M database",
        );
    }
    report.put(
        "app_start_minimal_ms",
        min_med,
        "ms",
        &format!("process start to a minimal Tauri window painted, median of {runs}"),
    );
    report.put("app_start_ratio", app_med / min_med, "x", "target <= 1.5");
    ipc.sort_by(f64::total_cmp);
    assert!(!ipc.is_empty(), "the app reported no list round trips");
    report.put(
        "ipc_list_p50_ms",
        percentile(&ipc, 50.0),
        "ms",
        &format!(
            "list command round trip from the UI, first page of 50, {} calls",
            ipc.len()
        ),
    );
    report.put("ipc_list_p99_ms", percentile(&ipc, 99.0), "ms", "target <= 5");
}
