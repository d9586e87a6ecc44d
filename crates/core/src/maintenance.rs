//! Keeping a data directory healthy: `doctor` finds (and with `repair` fixes what can be
//! fixed safely) what is wrong, `backup` makes a consistent copy while others write.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use sqlx::Row;

use crate::error::{Error, ErrorKind, Result};
use crate::ids::AuditId;
use crate::temp_files;
use crate::write::Change;
use crate::{Store, DB_FILE, SCREENSHOTS_DIR};

/// A screenshot row whose file is not in the screenshot directory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MissingFile {
    pub audit_id: String,
    pub screenshot_id: i64,
    pub file_path: String,
}

/// An audit whose recorded screenshot counter disagrees with its rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CounterMismatch {
    pub audit_id: String,
    pub recorded: Option<i64>,
    pub rows: i64,
}

/// A table of maintained counts that disagrees with the rows it counts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FacetMismatch {
    pub table: String,
    /// Rows that differ (missing, extra or with another count).
    pub rows: i64,
}

/// What `doctor` found, and what it repaired.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DoctorReport {
    /// `PRAGMA integrity_check`: `["ok"]` when healthy.
    pub integrity: Vec<String>,
    pub foreign_key_violations: i64,
    /// The full-text indexes match the tables.
    pub search_index_ok: bool,
    pub missing_files: Vec<MissingFile>,
    /// Files in the screenshot directory that no row refers to (never deleted by doctor).
    pub orphan_files: Vec<String>,
    pub counter_mismatches: Vec<CounterMismatch>,
    /// Maintained rows (findings' per-audit facts, facet counts, facet pairs) that differ
    /// from what the rows say, per table; empty when all agree.
    pub facet_mismatches: Vec<FacetMismatch>,
    /// Running audits nothing has updated for a long time (their producer is gone).
    pub stale_running: Vec<String>,
    /// Triggers and views this version of Veritas Viewer did not create (`trigger name on
    /// table`, `view name`): another program's, or planted in a database from elsewhere. A
    /// trigger runs inside our writes (one deleted 15 of 16 audits on an ingest). Listed,
    /// never removed by doctor: that is for a person to decide.
    pub foreign_objects: Vec<String>,
    /// Our own temporary files (`.tmp-*`, a write a crash interrupted) whose writer is gone
    /// (or, where that cannot be told, older than an hour); `--repair` removes them.
    pub stale_temporary_files: Vec<String>,
    pub repaired: Vec<String>,
    /// Checks that could not run, each with the reason (the search index's check is a
    /// write, refused in a data folder opened read-only).
    pub not_checked: Vec<String>,
}

impl DoctorReport {
    /// Nothing wrong at all.
    pub fn healthy(&self) -> bool {
        self.integrity == ["ok"]
            && self.foreign_key_violations == 0
            && self.search_index_ok
            && self.missing_files.is_empty()
            && self.orphan_files.is_empty()
            && self.counter_mismatches.is_empty()
            && self.facet_mismatches.is_empty()
            && self.stale_running.is_empty()
            && self.foreign_objects.is_empty()
            && self.stale_temporary_files.is_empty()
    }
}

/// What `backup` copied.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BackupReport {
    pub audits: i64,
    pub screenshots_copied: u64,
    pub screenshots_missing: u64,
    /// Screenshot rows whose files were not copied because another program stored them
    /// oddly (a `file_path` that is no text, an audit id that is no id), each named. The rows
    /// themselves are in the copied database, as they were.
    pub skipped_rows: Vec<String>,
}

/// Check the database and the screenshot directory. With `repair`: rebuild a broken
/// search index, fix screenshot counters, mark running audits idle for longer than
/// `stale_after` as disconnected. Missing and orphan files are only reported.
pub(crate) async fn doctor(store: &Store, repair: bool, stale_after: Duration) -> Result<DoctorReport> {
    let pool = store.database().reader();
    let mut report = DoctorReport {
        integrity: crate::db::integrity_check(pool).await?,
        foreign_key_violations: sqlx::query("PRAGMA foreign_key_check")
            .fetch_all(pool)
            .await?
            .len() as i64,
        // Reported as ok unless a check finds it is not; `not_checked` says when none could.
        search_index_ok: store.read_only().is_some() || search_index_ok(store).await?,
        ..DoctorReport::default()
    };
    if let Some(reason) = store.read_only() {
        report.not_checked.push(format!(
            "search index (its check is a write, and the data folder is read-only because {reason})"
        ));
    }

    let rows = sqlx::query("SELECT id, audit_id, file_path FROM audit_screenshots ORDER BY audit_id, id")
        .fetch_all(pool)
        .await?;
    let shots = store.screenshots().clone();
    let rows: Vec<(i64, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_unchecked::<i64, _>("id").unwrap_or_default(),
                r.try_get_unchecked::<String, _>("audit_id").unwrap_or_default(),
                r.try_get_unchecked::<String, _>("file_path").unwrap_or_default(),
            )
        })
        .collect();
    let audit_ids: HashSet<String> = sqlx::query_scalar("SELECT id FROM audits")
        .fetch_all(pool)
        .await?
        .into_iter()
        .collect();
    let (missing, orphans) = crate::blocking(move || check_files(&shots, &rows, &audit_ids)).await?;
    report.missing_files = missing;
    report.orphan_files = orphans;

    report.counter_mismatches = sqlx::query(
        "SELECT a.id, a.screenshots_count AS recorded,
                (SELECT count(*) FROM audit_screenshots s WHERE s.audit_id = a.id) AS n
         FROM audits a WHERE COALESCE(a.screenshots_count, -1) != n ORDER BY a.id",
    )
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| CounterMismatch {
        audit_id: r.try_get_unchecked("id").unwrap_or_default(),
        recorded: r.try_get_unchecked("recorded").ok().flatten(),
        rows: r.try_get_unchecked("n").unwrap_or_default(),
    })
    .collect();

    report.facet_mismatches = facet_mismatches(pool).await?;

    let since = crate::time::to_text(
        chrono::Utc::now() - chrono::Duration::from_std(stale_after).unwrap_or_default(),
    );
    let stale: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, project FROM audits WHERE lower(status) = 'running'
           AND COALESCE(updated_at, created_at, '') < ?1 ORDER BY id",
    )
    .bind(&since)
    .fetch_all(pool)
    .await?;
    report.stale_running = stale.iter().map(|(id, _)| id.clone()).collect();

    report.foreign_objects = foreign_objects(pool).await?;
    let (root, shots) = (store.data_dir().to_path_buf(), store.screenshots().clone());
    report.stale_temporary_files = crate::blocking(move || stale_temporary_files(&root, &shots)).await?;

    if repair {
        if !report.stale_temporary_files.is_empty() {
            let mut removed = 0;
            for f in &report.stale_temporary_files {
                // Only a file of ours, found a moment ago, and never through a link.
                if crate::paths::refuse_link(Path::new(f)).is_ok() && std::fs::remove_file(f).is_ok() {
                    removed += 1;
                }
            }
            report.repaired.push(format!(
                "removed {removed} temporary files left by interrupted writes"
            ));
        }
        if !report.search_index_ok {
            store.write(Change::RebuildSearchIndex).await?;
            report.repaired.push("rebuilt the full-text search index".into());
        }
        if !report.counter_mismatches.is_empty() {
            let n = store.write(Change::RepairCounters).await?.rows;
            report
                .repaired
                .push(format!("set screenshots_count from the rows on {n} audits"));
        }
        if !report.facet_mismatches.is_empty() {
            store.write(Change::RebuildFacetCounts).await?;
            report
                .repaired
                .push("rebuilt the facet counts and the findings' facts from the rows".into());
        }
        let projects: HashSet<&str> = stale.iter().map(|(_, p)| p.as_str()).collect();
        for project in projects {
            let n = store
                .write(Change::MarkDisconnected {
                    project: project.to_string(),
                    idle_since: since.clone(),
                })
                .await?
                .rows;
            report.repaired.push(format!(
                "marked {n} stale running audits of project {project} disconnected"
            ));
        }
    }
    Ok(report)
}

/// The triggers and views of `pool`'s database that a database made by this version's
/// migrations does not have.
async fn foreign_objects(pool: &sqlx::SqlitePool) -> Result<Vec<String>> {
    use sqlx::ConnectOptions;
    let list = "SELECT type || ' ' || name || CASE WHEN type = 'trigger' THEN ' on ' || tbl_name ELSE '' END
                FROM sqlite_master WHERE type IN ('trigger', 'view') ORDER BY 1";
    // A private in-memory database (sqlx names each `sqlite::memory:` options apart).
    let options: sqlx::sqlite::SqliteConnectOptions = "sqlite::memory:".parse()?;
    let mut ours = options.connect().await?;
    crate::db::migrate::run(&mut ours).await?;
    let known: HashSet<String> = sqlx::query_scalar(list)
        .fetch_all(&mut ours)
        .await?
        .into_iter()
        .collect();
    let found: Vec<String> = sqlx::query_scalar(list).fetch_all(pool).await?;
    Ok(found.into_iter().filter(|o| !known.contains(o)).collect())
}

/// Our temporary files (`.tmp-*`, written then renamed into place) that their writer left
/// behind (it is gone, or they are over an hour old; see [`temp_files`]): in the data folder
/// itself (the writability probe of `Store::open`), and in the audits' folders of the
/// screenshot and cache folders.
fn stale_temporary_files(data_root: &Path, shots: &crate::screenshots::ScreenshotDir) -> Vec<String> {
    let mut out = Vec::new();
    let now = std::time::SystemTime::now();
    stale_in(data_root, now, &mut out);
    for root in [shots.root().to_path_buf(), shots.cache_root()] {
        let Ok(dirs) = std::fs::read_dir(&root) else {
            continue;
        };
        for dir in dirs.flatten() {
            // Not into a link: what it points at is not ours to clean.
            if dir.file_type().is_ok_and(|t| t.is_dir()) {
                stale_in(&dir.path(), now, &mut out);
            }
        }
    }
    out.sort();
    out
}

/// The temporary files of ours directly in `dir` that their writer left behind.
fn stale_in(dir: &Path, now: std::time::SystemTime, out: &mut Vec<String>) {
    let Ok(files) = std::fs::read_dir(dir) else {
        return;
    };
    for f in files.flatten() {
        let name = f.file_name().to_string_lossy().into_owned();
        if !temp_files::is_ours(&name) || !f.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let left = f
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|m| temp_files::is_left_behind(&name, m, now));
        if left {
            out.push(f.path().to_string_lossy().into_owned());
        }
    }
}

/// The maintained tables of migrations 7, 8, 10 and 12 against what the rows say they should hold (the
/// `*_expected` views): the rows in one and not the other, per table.
pub(crate) async fn facet_mismatches(pool: &sqlx::SqlitePool) -> Result<Vec<FacetMismatch>> {
    let checks = [
        (
            "audit_facts (findings)",
            "SELECT kind, value, audit_id FROM audit_facts WHERE source = 'finding'",
            "SELECT kind, value, audit_id FROM finding_facts_expected",
        ),
        (
            "triage_state",
            "SELECT site, fingerprint, scope, hides FROM triage_state",
            "SELECT site, fingerprint, scope, hides FROM triage_state_expected",
        ),
        (
            "site_audits",
            "SELECT site, seq, audit_id FROM site_audits",
            "SELECT site, seq, audit_id FROM site_audits_expected",
        ),
        (
            "finding_fingerprints",
            "SELECT finding_id, audit_id, fingerprint, site, seq FROM finding_fingerprints",
            "SELECT finding_id, audit_id, fingerprint, site, seq FROM finding_fingerprints_expected",
        ),
        (
            "audit_facts (changes since the previous audit)",
            "SELECT kind, value, audit_id FROM audit_facts WHERE source = 'fingerprint'",
            "SELECT kind, value, audit_id FROM change_facts_expected",
        ),
        (
            "facet_counts",
            "SELECT * FROM facet_counts WHERE n <> 0",
            "SELECT * FROM facet_counts_expected",
        ),
        (
            "facet_pairs",
            "SELECT * FROM facet_pairs WHERE n <> 0",
            "SELECT * FROM facet_pairs_expected",
        ),
        (
            "facet_totals",
            "SELECT * FROM facet_totals WHERE n <> 0",
            "SELECT * FROM facet_totals_expected",
        ),
        (
            "facet_scores",
            "SELECT * FROM facet_scores WHERE n <> 0",
            "SELECT * FROM facet_scores_expected",
        ),
    ];
    let mut out = Vec::new();
    for (table, kept, expected) in checks {
        let rows: i64 = sqlx::query_scalar(&format!(
            "SELECT (SELECT count(*) FROM ({kept} EXCEPT {expected})) + \
                    (SELECT count(*) FROM ({expected} EXCEPT {kept}))"
        ))
        .fetch_one(pool)
        .await?;
        if rows > 0 {
            out.push(FacetMismatch {
                table: table.to_string(),
                rows,
            });
        }
    }
    Ok(out)
}

/// Whether both full-text indexes agree with their tables.
async fn search_index_ok(store: &Store) -> Result<bool> {
    match store.write(Change::CheckSearchIndex).await {
        Ok(_) => Ok(true),
        Err(e) if e.kind == ErrorKind::Database => Ok(false),
        Err(e) => Err(e),
    }
}

/// Copy the database (a consistent snapshot, taken while other processes may write)
/// and the screenshot files it refers to into `dest`, a new or empty folder.
///
/// Everything is written into a hidden folder beside `dest` first and renamed into place
/// when complete: a backup that fails (or is killed) leaves no half-written `dest` for the
/// next attempt to trip on, and the hidden folder is removed on the way out.
pub(crate) async fn backup(store: &Store, dest: &Path) -> Result<BackupReport> {
    let staging = backup_staging(dest)?;
    let report = backup_into(store, staging.path()).await?;
    finish_backup(staging, dest)?;
    Ok(report)
}

/// A staging folder beside backup destination `dest`, which must be a new or empty folder.
pub(crate) fn backup_staging(dest: &Path) -> Result<tempfile::TempDir> {
    if dest.exists()
        && std::fs::read_dir(dest)
            .map_err(|e| Error::io(dest, e))?
            .next()
            .is_some()
    {
        return Err(Error::invalid(
            dest.display(),
            "backup destination must be a new or empty folder",
        ));
    }
    let parent = match dest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    tempfile::Builder::new()
        .prefix(".veritas-backup-")
        .tempdir_in(&parent)
        .map_err(|e| Error::io(&parent, e))
}

/// Put the complete copy in `staging` in place of the missing or empty `dest`, in one rename.
pub(crate) fn finish_backup(staging: tempfile::TempDir, dest: &Path) -> Result<()> {
    let done = staging.keep();
    if let Err(e) = std::fs::rename(&done, dest) {
        let _ = std::fs::remove_dir_all(&done);
        return Err(Error::io(dest, e));
    }
    Ok(())
}

/// A screenshot row as the backup reads it: id, audit id and file path where they are text,
/// and the SQLite types of those two.
type ShotRow = (i64, Option<String>, Option<String>, String, String);

/// The backup itself, into the empty folder `dest`.
async fn backup_into(store: &Store, dest: &Path) -> Result<BackupReport> {
    // The copy keeps the original's file name, so it opens as the same kind of folder.
    let db_name = store
        .database_file()
        .and_then(|f| f.file_name().map(ToOwned::to_owned))
        .unwrap_or_else(|| DB_FILE.into());
    let db_copy = dest.join(db_name);
    // VACUUM INTO reads one snapshot (a read transaction): writers carry on meanwhile.
    sqlx::query("VACUUM INTO ?1")
        .bind(db_copy.to_string_lossy().as_ref())
        .execute(store.database().reader())
        .await?;
    let copy = Store::open(dest).await?;
    // VACUUM may renumber the implicit rowids the audits search index is keyed on.
    if !search_index_ok(&copy).await? {
        copy.write(Change::RebuildSearchIndex).await?;
    }
    let pool = copy.database().reader();
    let audits: i64 = sqlx::query_scalar("SELECT count(*) FROM audits")
        .fetch_one(pool)
        .await?;
    // Rows come from any program: a column of another type is named and skipped, never
    // the end of the backup.
    let found: Vec<ShotRow> = sqlx::query_as(
        "SELECT id, CASE WHEN typeof(audit_id) = 'text' THEN audit_id END,
                CASE WHEN typeof(file_path) = 'text' THEN file_path END,
                typeof(audit_id), typeof(file_path)
         FROM audit_screenshots ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let mut rows = Vec::with_capacity(found.len());
    let mut skipped_rows = Vec::new();
    for (id, audit_id, file_path, audit_type, path_type) in found {
        match (audit_id, file_path) {
            (Some(a), Some(f)) if AuditId::parse(&a).is_ok() => rows.push((a, f)),
            (Some(a), Some(_)) => skipped_rows.push(format!(
                "screenshot {id}: audit id {:?} is not an audit id",
                crate::ids::quote_prefix(&a)
            )),
            (Some(a), None) => skipped_rows.push(format!(
                "screenshot {id} of audit {:?}: file_path is a {path_type}, not text",
                crate::ids::quote_prefix(&a)
            )),
            (None, _) => skipped_rows.push(format!("screenshot {id}: audit_id is a {audit_type}, not text")),
        }
    }
    let (source, target) = (store.screenshots().clone(), dest.join(SCREENSHOTS_DIR));
    let (copied, missing) = crate::blocking(move || copy_files(&source, &target, &rows)).await??;
    copy.database().clone().close().await;
    Ok(BackupReport {
        audits,
        screenshots_copied: copied,
        screenshots_missing: missing,
        skipped_rows,
    })
}

fn check_files(
    shots: &crate::screenshots::ScreenshotDir,
    rows: &[(i64, String, String)],
    audit_ids: &HashSet<String>,
) -> (Vec<MissingFile>, Vec<String>) {
    let mut referenced: HashMap<String, HashSet<String>> = HashMap::new();
    let mut missing = Vec::new();
    for (id, audit_id, file_path) in rows {
        match shots.resolve(audit_id, file_path) {
            Some(path) => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                referenced.entry(audit_id.clone()).or_default().insert(name);
            }
            None => missing.push(MissingFile {
                audit_id: audit_id.clone(),
                screenshot_id: *id,
                file_path: file_path.clone(),
            }),
        }
    }
    let mut orphans = Vec::new();
    let Ok(dirs) = std::fs::read_dir(shots.root()) else {
        return (missing, orphans);
    };
    for dir in dirs.flatten() {
        let dir_name = dir.file_name().to_string_lossy().into_owned();
        // Not into a link (an audit folder unpacked as a link to elsewhere): what it points
        // at is not the folder's to list. The link itself is what no row refers to.
        if !dir.file_type().is_ok_and(|t| t.is_dir()) {
            orphans.push(dir.path().to_string_lossy().into_owned());
            continue;
        }
        let known = audit_ids.contains(&dir_name);
        let Ok(files) = std::fs::read_dir(dir.path()) else {
            continue;
        };
        for file in files.flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            let used = known && referenced.get(&dir_name).is_some_and(|s| s.contains(&name));
            if !used {
                orphans.push(file.path().to_string_lossy().into_owned());
            }
        }
    }
    orphans.sort();
    (missing, orphans)
}

fn copy_files(
    source: &crate::screenshots::ScreenshotDir,
    target: &Path,
    rows: &[(String, String)],
) -> Result<(u64, u64)> {
    let (mut copied, mut missing) = (0, 0);
    for (audit_id, file_path) in rows {
        let Some(from) = source.resolve(audit_id, file_path) else {
            missing += 1;
            continue;
        };
        // The row may come from another program: its id is checked before it names a folder.
        let dir: PathBuf = target.join(AuditId::parse(audit_id)?.as_str());
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let to = dir.join(from.file_name().unwrap_or_default());
        // Not `fs::copy`: it gives the copy the original's permissions, and a backup of a
        // read-only folder is one its owner must be able to change (and restore from; two
        // rows naming one file copy onto it twice).
        let mut reader = std::fs::File::open(&from).map_err(|e| Error::io(&from, e))?;
        let mut writer = std::fs::File::create(&to).map_err(|e| Error::io(&to, e))?;
        std::io::copy(&mut reader, &mut writer).map_err(|e| Error::io(&to, e))?;
        copied += 1;
    }
    Ok((copied, missing))
}
