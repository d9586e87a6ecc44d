//! Issue 16, a read-only data folder: mode 555 made even `list` fail ("attempt to write a
//! readonly database"), and a read-only database file turned each ingest line into a "bad
//! line". Now the folder is opened read-only, says so, reads everything, and refuses each
//! write with one clear error that leaves what is stored as it was.
//!
//! Permissions do not stop root, which these tests usually run as: then `veritas-db` runs as
//! user `nobody` through util-linux's `setpriv`, on a copy of the binary in a folder that
//! user can reach.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::{audit_stream, run, run_json};

const NOBODY: u32 = 65534;

fn is_root() -> bool {
    // The owner of a file this process just made is its effective user.
    use std::os::unix::fs::MetadataExt;
    let probe = tempfile::NamedTempFile::new().unwrap();
    probe.as_file().metadata().unwrap().uid() == 0
}

/// Runs `veritas-db` as a user the folder's permissions apply to.
struct Unprivileged {
    binary: PathBuf,
    as_nobody: bool,
    _bin_dir: tempfile::TempDir,
}

impl Unprivileged {
    fn new() -> Unprivileged {
        let bin_dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(bin_dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let binary = bin_dir.path().join("veritas-db");
        std::fs::copy(env!("CARGO_BIN_EXE_veritas-db"), &binary).unwrap();
        std::fs::set_permissions(&binary, std::fs::Permissions::from_mode(0o755)).unwrap();
        Unprivileged {
            binary,
            as_nobody: is_root(),
            _bin_dir: bin_dir,
        }
    }

    fn run(&self, data: &Path, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut cmd = if self.as_nobody {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&self.binary);
            c
        } else {
            Command::new(&self.binary)
        };
        let mut child = cmd
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .env_remove("USE_DB_PERSISTENCE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("setpriv (util-linux) runs veritas-db as nobody");
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `mode` on `path` and, for a folder, on everything in it.
fn chmod_all(path: &Path, dir_mode: u32, file_mode: u32) {
    let meta = std::fs::symlink_metadata(path).unwrap();
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chmod_all(&entry.unwrap().path(), dir_mode, file_mode);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(dir_mode)).unwrap();
    } else {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(file_mode)).unwrap();
    }
}

/// A data folder with 3 demo audits, in a parent `nobody` can reach.
fn demo_folder() -> (tempfile::TempDir, PathBuf, Vec<String>) {
    let parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(parent.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = parent.path().join("data");
    assert!(run(&data, &["demo", "--audits", "3"]).status.success());
    let ids: Vec<String> = run_json(&data, &["list", "--json"])
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    (parent, data, ids)
}

/// Fold the write-ahead log into the database file and let SQLite remove it and its index,
/// as the last connection to close does: a reader then has no `-wal` or `-shm` to use and,
/// in a read-only folder, none can be made.
async fn checkpoint(db: &Path) {
    use sqlx::{ConnectOptions, Connection};
    let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(db)
        .connect()
        .await
        .unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn a_read_only_folder_reads_everything_and_refuses_each_write_with_one_error() {
    let (_parent, data, ids) = demo_folder();
    checkpoint(&data.join("veritas_audits.db")).await;
    assert!(
        !data.join("veritas_audits.db-shm").exists(),
        "no index left to read with"
    );
    chmod_all(&data, 0o555, 0o444);
    let user = Unprivileged::new();

    let listed = user.run(&data, &["list", "--json"], "");
    assert!(listed.status.success(), "list: {}", text(&listed.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3, "every audit is listed");
    assert!(
        text(&listed.stderr).contains("opened read-only because the folder"),
        "the user is told why: {}",
        text(&listed.stderr)
    );
    for args in [
        &["show", ids[0].as_str()][..],
        &["list", "--facets"],
        &["list", "--search", "login"],
    ] {
        let out = user.run(&data, args, "");
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
    }

    // A stream of two audits: one error for the stream, not a "bad line" per line.
    let stream = [
        audit_stream("ro_a", "https://a.example", 2, false),
        audit_stream("ro_b", "https://b.example", 2, false),
    ]
    .concat()
    .join("\n");
    let ingest = user.run(&data, &["ingest", "-"], &stream);
    let err = text(&ingest.stderr);
    assert_eq!(ingest.status.code(), Some(2), "{err}");
    assert!(
        err.contains("read-only") && err.contains("nothing was changed"),
        "{err}"
    );
    assert!(!err.contains("line 1"), "no line is blamed: {err}");

    let delete = user.run(&data, &["delete", &ids[0]], "");
    assert_eq!(delete.status.code(), Some(2), "{}", text(&delete.stderr));
    assert!(
        text(&delete.stderr).contains("read-only"),
        "{}",
        text(&delete.stderr)
    );
    let repair = user.run(&data, &["doctor", "--repair"], "");
    assert_eq!(repair.status.code(), Some(2), "{}", text(&repair.stderr));

    let doctor = user.run(&data, &["doctor"], "");
    let report = text(&doctor.stdout);
    assert!(report.contains("integrity check   ok"), "{report}");
    assert!(
        report.contains("search index      not checked"),
        "a check that needs a write is said not to have run: {report}"
    );

    // A backup reads: it works, into a folder the user may write, and is writable itself.
    let backup_parent = tempfile::tempdir().unwrap();
    std::fs::set_permissions(backup_parent.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let dest = backup_parent.path().join("copy");
    let backup = user.run(&data, &["backup", dest.to_str().unwrap()], "");
    assert!(backup.status.success(), "backup: {}", text(&backup.stderr));

    // Nothing changed: the folder, made writable again, holds the same 3 audits.
    chmod_all(&data, 0o755, 0o644);
    let after = run_json(&data, &["list", "--json"]);
    let mut after: Vec<&str> = after
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    let mut before: Vec<&str> = ids.iter().map(String::as_str).collect();
    after.sort_unstable();
    before.sort_unstable();
    assert_eq!(after, before);
    assert_eq!(run_json(&dest, &["list", "--json"]).as_array().unwrap().len(), 3);
}

#[test]
fn a_read_only_database_file_in_a_writable_folder_is_opened_read_only() {
    let (_parent, data, _ids) = demo_folder();
    let user = Unprivileged::new();
    // The folder (and the screenshots) are the user's; the database file is not writable.
    chmod_all(&data, 0o755, 0o644);
    if user.as_nobody {
        for entry in walk(&data) {
            chown(&entry, Some(NOBODY), Some(NOBODY)).unwrap();
        }
        chown(data.join("veritas_audits.db"), Some(0), Some(0)).unwrap();
    }
    let db = data.join("veritas_audits.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).unwrap();

    let listed = user.run(&data, &["list", "--json"], "");
    assert!(listed.status.success(), "list: {}", text(&listed.stderr));
    assert!(
        text(&listed.stderr).contains("the database file")
            && text(&listed.stderr).contains("cannot be written"),
        "{}",
        text(&listed.stderr)
    );
    let stream = audit_stream("ro_c", "https://c.example", 1, false).join("\n");
    let ingest = user.run(&data, &["ingest", "-"], &stream);
    assert_eq!(ingest.status.code(), Some(2), "{}", text(&ingest.stderr));
    assert!(
        text(&ingest.stderr).contains("read-only"),
        "{}",
        text(&ingest.stderr)
    );
}

/// `root` and everything under it.
fn walk(root: &Path) -> Vec<PathBuf> {
    let mut all = vec![root.to_path_buf()];
    if root.is_dir() {
        for entry in std::fs::read_dir(root).unwrap() {
            all.extend(walk(&entry.unwrap().path()));
        }
    }
    all
}
