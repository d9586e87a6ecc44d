//! Team mode (issue 15): what a team gains and pays. The 20k browse database is pushed into
//! PostgreSQL (the push's rate), then W2's queries and the sidebar's facets run against the
//! team database and, in the same run, against the data folder it came from; and screenshot
//! bytes are written and read through the object store (SeaweedFS) beside the local folder.
//!
//! Needs the services `tests/services.sh` starts (`VERITAS_TEST_DATABASE_URL`, an admin URL
//! under which a fresh database is made, and `VERITAS_TEST_OBJECTS_URL`).

use std::path::Path;
use std::time::Instant;

use veritas_core::team::{ObjectShots, TeamStore};
use veritas_core::{AuditId, Backend, IngestOptions, ProjectName, ScreenshotDir, Store};

use crate::{median, Report};

const AUDITS: u64 = 20_000;

pub(crate) async fn team(report: &mut Report, keep: Option<&Path>, quick: bool) {
    let (Ok(admin), Ok(objects)) = (
        std::env::var("VERITAS_TEST_DATABASE_URL"),
        std::env::var("VERITAS_TEST_OBJECTS_URL"),
    ) else {
        panic!(
            "--only team needs PostgreSQL and an S3 store: source tests/services.sh && services_start \
             (it sets VERITAS_TEST_DATABASE_URL and VERITAS_TEST_OBJECTS_URL)"
        );
    };
    let temp;
    let dir = match keep {
        Some(keep) => keep.join("w2-20k"),
        None => {
            temp = tempfile::tempdir().unwrap();
            temp.path().to_path_buf()
        }
    };
    crate::w2::build_browse_db(&dir, AUDITS, "20k").await;

    w1(report, &admin, &objects).await;

    let (database, objects) = fresh(&admin, &objects, "w2");
    let team = TeamStore::open(&database, &objects).await.unwrap();
    let local = Store::open(&dir).await.unwrap();

    let t = Instant::now();
    let pushed = local.push_to(&team, None).await.unwrap();
    let secs = t.elapsed().as_secs_f64();
    assert_eq!(pushed.audits as u64, AUDITS);
    report.put(
        "team_push_aps",
        AUDITS as f64 / secs,
        "audits/s",
        "veritas-db push of the 20k browse database (5 findings, 5 events a audit) into PostgreSQL",
    );

    // The same queries on both engines, one after the other in this process.
    crate::w2::queries(report, &Backend::Local(local), AUDITS, "teamcmp_local_20k").await;
    crate::w2::queries(report, &Backend::Team(team), AUDITS, "teamcmp_pg_20k").await;

    screenshots(report, &objects).await;

    if !quick {
        million(report, &admin, &objects, keep).await;
    }
}

/// W2 at 1M on PostgreSQL: the database is built in bulk (`team_bulk`) once per server and
/// kept, and browsed beside the SQLite 1M browse database when `--browse-dir` holds one.
async fn million(report: &mut Report, admin: &str, objects: &str, keep: Option<&Path>) {
    const M: u64 = 1_000_000;
    let name = "veritas_bench_w2_1m";
    let url = crate::team_bulk::team_browse_db(admin, objects, name, M).await;
    let team = TeamStore::open(&url, &format!("{objects}/{name}")).await.unwrap();
    let bytes: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
        .fetch_one(team.database().pool())
        .await
        .unwrap();
    report.put(
        "teamcmp_pg_1m_db_mb",
        bytes as f64 / 1e6,
        "MB",
        "the 1M team database's size on disk (with its facts, counts and indexes)",
    );
    crate::w2::queries(report, &Backend::Team(team), M, "teamcmp_pg_1m").await;
    let local = keep
        .map(|d| d.join("w2-1m"))
        .filter(|d| d.join(veritas_core::DB_FILE).exists());
    match local {
        Some(dir) => {
            let local = Store::open(&dir).await.unwrap();
            crate::w2::queries(report, &Backend::Local(local), M, "teamcmp_local_1m").await;
        }
        None => report.note(
            "teamcmp_local_1m",
            "the SQLite 1M figures: a run without --quick builds w2-1m in --browse-dir",
        ),
    }
}

/// A fresh team database and object prefix for part `what` of this run: their URLs.
fn fresh(admin: &str, objects: &str, what: &str) -> (String, String) {
    let name = format!(
        "veritas_bench_{what}_{}_{}",
        std::process::id(),
        chrono::Utc::now().timestamp()
    );
    let psql = std::process::Command::new("psql")
        .args([admin, "-qc", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(psql.success(), "cannot create the team database {name}");
    (
        format!("{}/{name}", admin.rsplit_once('/').unwrap().0),
        format!("{}/{name}", objects.trim_end_matches('/')),
    )
}

/// Audits of W1 on each engine here: PostgreSQL's per-event transactions are slower than
/// SQLite's, so fewer than W1's own N keep the part short.
const W1_AUDITS: u64 = 2_000;

/// W1 as event streams (3 events, 3 transactions an audit) into PostgreSQL beside a data
/// folder: 1 and 4 ingests at once in this process, then 4 `veritas-db ingest` processes.
async fn w1(report: &mut Report, admin: &str, objects: &str) {
    let records: Vec<_> = (0..W1_AUDITS).map(crate::workload::audit).collect();
    let project = ProjectName::default();
    for writers in [1usize, 4] {
        let texts: Vec<String> = (0..writers)
            .map(|w| crate::w1::streams(records.iter().skip(w).step_by(writers)))
            .collect();
        let (database, objects) = fresh(admin, objects, &format!("w1x{writers}"));
        let team = TeamStore::open(&database, &objects).await.unwrap(); // migrations: not timed
        let folder = tempfile::tempdir().unwrap();
        let local = Store::open(folder.path()).await.unwrap();
        for backend in [Backend::Team(team), Backend::Local(local)] {
            let t = Instant::now();
            let tasks: Vec<_> = texts
                .iter()
                .cloned()
                .map(|text| {
                    let (backend, project) = (backend.clone(), project.clone());
                    tokio::spawn(async move {
                        let report = backend
                            .ingest(
                                &project,
                                &IngestOptions::default(),
                                std::io::Cursor::new(text),
                                &mut |_| {},
                            )
                            .await
                            .unwrap();
                        assert_eq!(report.rejected, 0);
                    })
                })
                .collect();
            for task in tasks {
                task.await.unwrap();
            }
            let aps = W1_AUDITS as f64 / t.elapsed().as_secs_f64();
            let listed = backend.projects().await.unwrap();
            assert_eq!(listed.iter().map(|p| p.audits).sum::<i64>() as u64, W1_AUDITS);
            let (key, engine) = match backend {
                Backend::Team(_) => (format!("team_w1_ingest_{writers}_aps"), "PostgreSQL"),
                Backend::Local(_) => (
                    format!("teamcmp_w1_ingest_{writers}_aps"),
                    "the data folder (SQLite)",
                ),
            };
            report.put(
                &key,
                aps,
                "audits/s",
                &format!("{writers} ingest(s) at once in one process into {engine}, {W1_AUDITS} audits as event streams"),
            );
        }
    }

    let Some(cli) = crate::w1::veritas_db() else {
        report.note(
            "team_w1_ingest_4proc_aps",
            "not measured: build veritas-db beside veritas-bench first",
        );
        return;
    };
    let (database, objects) = fresh(admin, objects, "w1p4");
    let scratch = tempfile::tempdir().unwrap();
    let engine = ["--database", database.as_str(), "--objects", objects.as_str()];
    // The schema is made before the clock starts, as for the folder's `init`.
    drop(TeamStore::open(&database, &objects).await.unwrap());
    let secs = crate::w1::producers(
        &cli,
        &engine,
        &scratch.path().join("data"),
        scratch.path(),
        &records,
        4,
    );
    let team = TeamStore::open(&database, &objects).await.unwrap();
    let stored: i64 = team.projects().await.unwrap().iter().map(|p| p.audits).sum();
    assert_eq!(
        stored as u64, W1_AUDITS,
        "4 ingest processes stored {stored} audits"
    );
    report.put(
        "team_w1_ingest_4proc_aps",
        W1_AUDITS as f64 / secs,
        "audits/s",
        "4 `veritas-db --database ... ingest` processes at once into PostgreSQL, a quarter each",
    );
}

/// 200 distinct ~100 KB JPEG screenshots: written, then read back, through the object store
/// and through a local screenshot folder. Median milliseconds per screenshot.
async fn screenshots(report: &mut Report, objects_url: &str) {
    let store = ObjectShots::open(&format!("{objects_url}/shots-bench")).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let local = ScreenshotDir::in_data_dir(folder.path().to_path_buf());
    let audit = AuditId::parse("vrts_benchshots").unwrap();
    let shots: Vec<Vec<u8>> = (0..200u32)
        .map(|i| {
            let img = image::RgbImage::from_fn(400, 300, |x, y| {
                image::Rgb([(x * 7 + i) as u8, (y * 3) as u8, (x ^ y) as u8])
            });
            let mut bytes = Vec::new();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95)
                .encode_image(&img)
                .unwrap();
            bytes
        })
        .collect();
    let (mut put, mut get, mut save, mut read) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut keys = Vec::new();
    let mut paths = Vec::new();
    for (i, bytes) in shots.iter().enumerate() {
        let t = Instant::now();
        keys.push(store.put(bytes).await.unwrap().key);
        put.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        paths.push(local.save(&audit, i as i64, bytes).unwrap().path);
        save.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    for (key, path) in keys.iter().zip(&paths) {
        let t = Instant::now();
        let got = store.get(key).await.unwrap();
        get.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        let here = std::fs::read(path).unwrap();
        read.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(got, here);
    }
    let kb = shots.iter().map(Vec::len).sum::<usize>() as f64 / shots.len() as f64 / 1024.0;
    let note = format!("a {kb:.0} KB JPEG, median of 200");
    report.put(
        "team_shot_put_ms",
        median(put),
        "ms",
        &format!("write to SeaweedFS (S3), {note}"),
    );
    report.put(
        "team_shot_save_local_ms",
        median(save),
        "ms",
        &format!("write to the local folder (checked, atomic), {note}"),
    );
    report.put(
        "team_shot_get_ms",
        median(get),
        "ms",
        &format!("read from SeaweedFS, checked against its key, {note}"),
    );
    report.put(
        "team_shot_read_local_ms",
        median(read),
        "ms",
        &format!("read from the local folder, {note}"),
    );
}
