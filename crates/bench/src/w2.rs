//! W2: browsing a 20,000- and a 1,000,000-audit database: list pages, filters, keyset
//! paging, detail, search, each against raw SQLite. The browsing runs in a child process so
//! that its peak memory is browsing's alone.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde_json::Value;
use veritas_core::{
    AuditFilter, AuditId, AuditStatus, Backend, Direction, ListRequest, ProjectName, SortKey, Store,
};

use crate::{percentile, raw, workload, Report};

/// W2: build (or reuse) a browse database of `m` audits, then time the browse queries in a
/// process of its own, so that its peak memory is that of browsing alone.
pub(crate) async fn w2(report: &mut Report, m: u64, tag: &str, keep: Option<&Path>) {
    let temp;
    let dir = match keep {
        Some(keep) => keep.join(format!("w2-{tag}")),
        None => {
            temp = tempfile::tempdir().unwrap();
            temp.path().to_path_buf()
        }
    };
    build_browse_db(&dir, m, tag).await;
    let out = Command::new(std::env::current_exe().unwrap())
        .arg("--browse-child")
        .arg(&dir)
        .args(["--m", &m.to_string(), "--tag", tag])
        .stderr(std::process::Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the browse process ({tag}) failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let child: Value = serde_json::from_str(text.lines().last().unwrap_or("")).unwrap();
    if let Some(figures) = child["figures"].as_object() {
        report.figures.extend(figures.clone());
    }
    if let Some(lines) = child["lines"].as_array() {
        report
            .lines
            .extend(lines.iter().filter_map(|l| l.as_str().map(str::to_string)));
    }
}

/// The project's schema (migrations), then the fast path: raw inserts, 1000 audits per
/// transaction, with the project's triggers and indexes firing as usual. A database that
/// already holds exactly `m` audits is reused; one whose build was interrupted (it holds
/// audits 0..k, k a multiple of 1000, committed a transaction at a time) is completed from
/// k, which gives the same database because each audit is a pure function of its index.
pub(crate) async fn build_browse_db(dir: &Path, m: u64, tag: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let file = dir.join(veritas_core::DB_FILE);
    let mut from = 0;
    if file.exists() {
        let store = Store::open(dir).await.unwrap(); // applies any newer migration
        store.database().clone().close().await;
        drop(store);
        let db = raw::Db::open(&file);
        let held = db.count("SELECT count(*) FROM audits").max(0) as u64;
        if held == m {
            eprintln!("reusing the {tag} browse database in {}", dir.display());
            return;
        }
        if held < m && held % 1000 == 0 && held > 0 && prefix_intact(&db, held) {
            eprintln!("completing the {tag} browse database from audit {held}");
            from = held;
        } else {
            drop(db);
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
    let build = Instant::now();
    let store = Store::open(dir).await.unwrap();
    store.database().clone().close().await;
    drop(store);
    let db = raw::Db::open(&file);
    let ins = raw::Inserts::prepare(&db);
    for start in (from..m).step_by(1000) {
        db.exec("BEGIN");
        for i in start..(start + 1000).min(m) {
            let a = workload::audit(i);
            ins.insert(&db, &a, &raw::RecordJson::of(&a));
        }
        db.exec("COMMIT");
    }
    drop(ins);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE); ANALYZE;");
    eprintln!(
        "built the {tag} browse database in {:.1} s",
        build.elapsed().as_secs_f64()
    );
}

/// Whether the first and last audits of an interrupted build's prefix `0..held` are the
/// ones the build writes (the ids are a function of the index), so resuming cannot mix
/// two different databases.
fn prefix_intact(db: &raw::Db, held: u64) -> bool {
    [0, held / 2, held - 1].iter().all(|&i| {
        db.count(&format!(
            "SELECT count(*) FROM audits WHERE id = '{}'",
            workload::audit_id(i)
        )) == 1
    })
}

/// The browse queries (a)-(d) and the two searches, through the project's read path.
pub(crate) async fn browse(report: &mut Report, dir: &Path, m: u64, tag: &str) {
    let store = Backend::Local(Store::open(dir).await.unwrap());
    queries(report, &store, m, tag).await;
    let bytes: u64 = ["", "-wal"]
        .iter()
        .filter_map(|suffix| {
            std::fs::metadata(format!("{}{suffix}", dir.join(veritas_core::DB_FILE).display())).ok()
        })
        .map(|m| m.len())
        .sum();
    report.put(
        &format!("w2_{tag}_db_mb"),
        bytes as f64 / 1e6,
        "MB",
        "the browse database's size on disk (with its facet counts and indexes)",
    );
}

/// The browse queries and the facets on `store` (a browse database of `m` audits, on
/// either engine), as figures `w2_<tag>_…`.
pub(crate) async fn queries(report: &mut Report, store: &Backend, m: u64, tag: &str) {
    let page = |filter: AuditFilter, sort: SortKey, after: Option<String>| ListRequest {
        filter,
        sort,
        direction: Direction::Desc,
        limit: Some(50),
        after,
    };
    // (b) needs the cursor of page 10 to ask for page 11, as a person paging would.
    let b_filter = AuditFilter {
        status: vec![AuditStatus::Completed],
        risk_level: vec!["suspicious".into()],
        ..Default::default()
    };
    let mut cursor = None;
    for _ in 0..10 {
        cursor = store
            .list_audits_full(
                &ProjectName::default(),
                &page(b_filter.clone(), SortKey::Score, cursor),
            )
            .await
            .unwrap()
            .next_cursor;
    }
    let shop = AuditFilter {
        url_contains: Some("shop".into()),
        ..Default::default()
    };
    let word = AuditFilter {
        search: Some("preselected".into()),
        ..Default::default()
    };
    let phrase = AuditFilter {
        search: Some("\"hidden subscription fee\"".into()),
        ..Default::default()
    };

    let cases: [(&str, u8); 6] = [
        ("a", 0),
        ("b", 1),
        ("c", 2),
        ("d", 3),
        ("search", 4),
        ("phrase", 5),
    ];
    for (name, which) in cases {
        let mut times = Vec::with_capacity(500);
        // 20 warm-up then up to 500 timed calls, within a minute a query: a slow query
        // reports over fewer calls (the count is printed) rather than stall the run.
        let budget = Instant::now();
        for j in 0..520u64 {
            if j >= 21 && budget.elapsed().as_secs() >= 60 {
                break;
            }
            let t = Instant::now();
            match which {
                0 => drop(
                    store
                        .list_audits_full(
                            &ProjectName::default(),
                            &page(AuditFilter::default(), SortKey::Created, None),
                        )
                        .await
                        .unwrap(),
                ),
                1 => drop(
                    store
                        .list_audits_full(
                            &ProjectName::default(),
                            &page(b_filter.clone(), SortKey::Score, cursor.clone()),
                        )
                        .await
                        .unwrap(),
                ),
                2 => {
                    let id = workload::audit_id(u64::from(workload::h(j, 99)) % m);
                    let id = AuditId::parse(&id).expect("the workload's ids are plain");
                    let d = store.get_audit(&ProjectName::default(), &id).await.unwrap();
                    assert_eq!(d.findings.len() + d.screenshots.len() + d.events.len(), 20);
                }
                3 => drop(
                    store
                        .list_audits_full(
                            &ProjectName::default(),
                            &page(shop.clone(), SortKey::Created, None),
                        )
                        .await
                        .unwrap(),
                ),
                4 => drop(
                    store
                        .list_audits_full(
                            &ProjectName::default(),
                            &page(word.clone(), SortKey::Created, None),
                        )
                        .await
                        .unwrap(),
                ),
                _ => drop(
                    store
                        .list_audits_full(
                            &ProjectName::default(),
                            &page(phrase.clone(), SortKey::Created, None),
                        )
                        .await
                        .unwrap(),
                ),
            }
            if j >= 20 {
                times.push(t.elapsed().as_secs_f64() * 1000.0);
            }
        }
        times.sort_by(f64::total_cmp);
        let calls = times.len();
        let what = match which {
            0 => "(a) newest 50",
            1 => "(b) completed+suspicious by score, page 11",
            2 => "(c) one audit with all children",
            3 => "(d) url contains 'shop', first 50",
            4 => "full-text: a word in findings",
            _ => "full-text: a phrase in narratives",
        };
        for (p, pv) in [("p50", 50.0), ("p95", 95.0), ("p99", 99.0)] {
            if which >= 4 && p == "p50" {
                continue;
            }
            let what = if calls < 500 {
                format!("{what} ({calls} calls in 60 s)")
            } else {
                what.to_string()
            };
            report.put(
                &format!("w2_{tag}_{name}_{p}_ms"),
                percentile(&times, pv),
                "ms",
                &what,
            );
        }
    }
    crate::facets::facets(report, store, tag).await;
}

/// Only the facet figures, on a browse database a W2 run left in `dir` (never built here:
/// building the 1M one takes more than an hour).
pub(crate) async fn facets_only(report: &mut Report, dir: &Path, tag: &str) {
    assert!(
        dir.join(veritas_core::DB_FILE).exists(),
        "{}: no browse database here; run `veritas-bench --only w2 --browse-dir` first",
        dir.display()
    );
    let store = Backend::Local(Store::open(dir).await.unwrap());
    crate::facets::facets(report, &store, tag).await;
}

pub(crate) fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|kb| kb.parse::<f64>().ok()))
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}
