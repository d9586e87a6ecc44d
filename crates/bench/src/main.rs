//! `veritas-bench [--quick] [--json]`: the WORKLOAD.md figures, each beside the baseline
//! measured in the same run. Prints a table; with `--json`, one JSON object on the last line.
//!
//! One file per workload: [`w1`] (ingest), [`w2`] (browsing), [`thumbs`] (thumbnails),
//! [`app`] (start-up and IPC in real windows); [`workload`] makes the audits and [`raw`] is
//! the raw-SQLite baseline.

mod app;
mod facets;
mod hostile;
mod raw;
mod team;
mod team_bulk;
mod thumbs;
mod w1;
mod w2;
mod workload;

use std::path::PathBuf;

use clap::Parser;
use serde_json::{json, Map, Value};

#[derive(Parser)]
#[command(name = "veritas-bench", about = "Veritas Viewer benchmarks (WORKLOAD.md)")]
struct Args {
    /// Skip the 1,000,000-audit browse database (a smoke run of a minute or so).
    #[arg(long)]
    quick: bool,
    /// Print one JSON object with every figure on the last line.
    #[arg(long)]
    json: bool,
    /// Audits for W1.
    #[arg(long, default_value_t = 2000)]
    n: u64,
    /// Run only these parts (repeatable): w1, w2, thumbs, app, hostile, team (PostgreSQL and
    /// SeaweedFS, from tests/services.sh; never in a default run); `facets` alone times W2's
    /// facet and search-as-you-type figures on the browse databases `--browse-dir` already
    /// holds (part of w2 otherwise). Default: all but `facets` on its own.
    #[arg(long, value_enum)]
    only: Vec<Part>,
    /// The storage the run measures: `sqlite` (the data folder: every part but `team`), or
    /// `postgres` (team mode: W1 with 1 and 4 writers and 4 producer processes, the push,
    /// W2 at 20k and, without --quick, at 1M (built in bulk once per server), beside the
    /// folder's figures in the same run, and screenshots through the object store; the same
    /// as `--only team`).
    #[arg(long, value_enum, default_value = "sqlite")]
    backend: BenchBackend,
    /// Keep the browse databases in this folder and reuse them on the next run (the 1M one
    /// takes about 15 minutes and 16 GB to build); by default they are temporary.
    #[arg(long, value_name = "DIR")]
    browse_dir: Option<PathBuf>,
    /// Internal: run the browse queries on the database in this folder and print the figures
    /// as JSON (the parent runs W2 in a process of its own so its peak memory is browsing's).
    #[arg(long, hide = true, value_name = "DIR")]
    browse_child: Option<PathBuf>,
    /// Internal: audits in the `--browse-child` database.
    #[arg(long, hide = true, default_value_t = 0)]
    m: u64,
    /// Internal: the figure name tag of the `--browse-child` run ("20k", "1m").
    #[arg(long, hide = true, default_value = "")]
    tag: String,
}

/// The parts of a run.
#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum Part {
    W1,
    W2,
    Thumbs,
    App,
    Facets,
    /// What a hostile producer's stream costs (issue 16).
    Hostile,
    /// Team mode against PostgreSQL and SeaweedFS (issue 15): needs tests/services.sh's
    /// services; not part of a default run.
    Team,
}

/// The storage a run measures (`--backend`).
#[derive(Clone, Copy, PartialEq, clap::ValueEnum)]
enum BenchBackend {
    Sqlite,
    Postgres,
}

/// Figures, in the order they are printed.
pub(crate) struct Report {
    figures: Map<String, Value>,
    lines: Vec<String>,
}

impl Report {
    pub(crate) fn put(&mut self, key: &str, value: f64, unit: &str, note: &str) {
        let v = (value * 1000.0).round() / 1000.0;
        self.figures.insert(key.into(), json!(v));
        self.lines.push(format!("{key:<28} {v:>12.3} {unit:<10} {note}"));
    }
    pub(crate) fn note(&mut self, key: &str, text: &str) {
        self.figures.insert(key.into(), Value::Null);
        self.lines
            .push(format!("{key:<28} {:>12} {:<10} {text}", "-", ""));
    }
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    // Nearest rank.
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

fn main() {
    let mut args = Args::parse();
    if args.backend == BenchBackend::Postgres && !args.only.contains(&Part::Team) {
        args.only.push(Part::Team);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut report = Report {
        figures: Map::new(),
        lines: Vec::new(),
    };
    if let Some(dir) = &args.browse_child {
        rt.block_on(w2::browse(&mut report, dir, args.m, &args.tag));
        let key = if args.tag == "1m" {
            "rss_peak_mb".to_string()
        } else {
            format!("w2_{}_rss_peak_mb", args.tag)
        };
        report.put(
            &key,
            w2::peak_rss_mb(),
            "MB",
            "peak resident memory of a process browsing this database (W2 only)",
        );
        println!("{}", json!({"figures": report.figures, "lines": report.lines}));
        return;
    }
    let runs = |part: Part| (args.only.is_empty() && part != Part::Team) || args.only.contains(&part);
    rt.block_on(async {
        if runs(Part::W1) {
            w1::w1(&mut report, args.n).await;
        }
        if runs(Part::W2) {
            w2::w2(&mut report, 20_000, "20k", args.browse_dir.as_deref()).await;
            if !args.quick {
                w2::w2(&mut report, 1_000_000, "1m", args.browse_dir.as_deref()).await;
            }
        } else if args.only.contains(&Part::Facets) {
            let dir = args
                .browse_dir
                .as_deref()
                .expect("--only facets times the browse databases of --browse-dir: give it");
            for tag in ["20k", "1m"].into_iter().filter(|t| *t == "20k" || !args.quick) {
                w2::facets_only(&mut report, &dir.join(format!("w2-{tag}")), tag).await;
            }
        }
    });
    if runs(Part::Thumbs) {
        thumbs::thumbnails(&mut report);
    }
    if runs(Part::Hostile) {
        rt.block_on(hostile::hostile(&mut report));
    }
    if runs(Part::Team) {
        rt.block_on(team::team(&mut report, args.browse_dir.as_deref(), args.quick));
    }
    if runs(Part::App) {
        // The 1M database only when a full run built (or found) it in --browse-dir.
        let big = args
            .browse_dir
            .as_ref()
            .map(|d| d.join("w2-1m"))
            .filter(|d| !args.quick && d.join(veritas_core::DB_FILE).exists());
        rt.block_on(app::measure(
            &mut report,
            if args.quick { 2 } else { 5 },
            big.as_deref(),
        ));
    }

    println!(
        "Veritas Viewer benchmarks ({} cores){}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        if args.quick { ", --quick" } else { "" }
    );
    println!("{:<28} {:>12} {:<10} what", "figure", "value", "unit");
    for l in &report.lines {
        println!("{l}");
    }
    if args.json {
        println!("{}", Value::Object(report.figures));
    }
}

pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
