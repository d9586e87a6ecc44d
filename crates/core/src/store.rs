//! [`Store`]: the database and the screenshot directory of one data directory, behind one
//! cloneable handle. Its capabilities are methods too, one file per area in [`crate::api`].

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::db::Database;
use crate::error::{Error, Result};
use crate::location::Location;
use crate::screenshots::ScreenshotDir;
use crate::write::{Change, Outcome};

/// The database file's name inside a data directory: the older backend's name, and the
/// one a folder that holds no database gets.
pub const DB_FILE: &str = "veritas_audits.db";
/// The database file the current backend (`elliot/db/config.py`) writes.
pub const CURRENT_BACKEND_DB_FILE: &str = "elliot_audits.db";
/// The screenshot folder's name inside a data directory (the backend's name).
pub const SCREENSHOTS_DIR: &str = "screenshots";

/// An open data directory.
#[derive(Clone)]
pub struct Store {
    db: Database,
    shots: ScreenshotDir,
    root: PathBuf,
    /// The database file opened (`None` for an in-memory one).
    db_file: Option<PathBuf>,
    /// What the user should know about that choice (a folder holding both databases).
    notice: Option<String>,
    /// Keeps an ephemeral store's temporary folder alive as long as the store.
    _ephemeral: Option<Arc<tempfile::TempDir>>,
    /// A read-only store's thumbnail cache, outside the folder it may not write.
    _cache: Option<Arc<tempfile::TempDir>>,
    /// The facet request in progress per caller (a window), stopped by the next one.
    pub(crate) facet_requests: crate::api::Superseding,
}

impl Store {
    /// Open a store where `location` says: see [`Location::choose`].
    pub async fn open_at(location: &Location) -> Result<Store> {
        match location {
            Location::Dir(dir) => Store::open(dir).await,
            Location::Ephemeral(_) => Store::open_ephemeral().await,
        }
    }

    /// Open the data directory `root` (created on first use), migrating its database. A
    /// folder or database file that cannot be written (a read-only mount, an archive
    /// unpacked without write permission, another user's folder) is opened read-only:
    /// everything reads, every write is refused with one error saying why
    /// ([`Store::read_only`]), and thumbnails are cached in a temporary folder instead.
    pub async fn open(root: &Path) -> Result<Store> {
        if !root.exists() {
            std::fs::create_dir_all(root).map_err(|e| Error::io(root, e))?;
        }
        let (file, notice) = choose_database(root);
        let read_only = unwritable(root, &file);
        let db = match &read_only {
            None => {
                std::fs::create_dir_all(root.join(SCREENSHOTS_DIR)).map_err(|e| Error::io(root, e))?;
                Database::open(&file).await?
            }
            Some(reason) if !file.is_file() => {
                return Err(Error::new(
                    crate::ErrorKind::ReadOnly,
                    format!(
                        "{} holds no database, and none can be made there because {reason}",
                        root.display()
                    ),
                ))
            }
            Some(reason) => Database::open_read_only(&file, reason).await?,
        };
        let mut store = Store::assemble(db, root.to_path_buf(), None);
        if store.db.read_only().is_some() {
            let cache = tempfile::Builder::new()
                .prefix("veritas-thumbnails-")
                .tempdir()
                .map_err(|e| Error::io_of("creating a temporary folder for thumbnails", e))?;
            store.shots = ScreenshotDir::in_data_dir(root.to_path_buf()).with_cache_in(cache.path());
            store._cache = Some(Arc::new(cache));
        }
        store.db_file = Some(file);
        store.notice = notice;
        Ok(store)
    }

    /// An in-memory database and a temporary screenshot folder: nothing is written to any
    /// data directory, and everything is gone when the store is dropped.
    pub async fn open_ephemeral() -> Result<Store> {
        let tmp = tempfile::Builder::new()
            .prefix("veritas-ephemeral-")
            .tempdir()
            .map_err(|e| Error::io_of("creating a temporary folder", e))?;
        std::fs::create_dir_all(tmp.path().join(SCREENSHOTS_DIR)).map_err(|e| Error::io(tmp.path(), e))?;
        let db = Database::open_in_memory().await?;
        let root = tmp.path().to_path_buf();
        Ok(Store::assemble(db, root, Some(Arc::new(tmp))))
    }

    fn assemble(db: Database, root: PathBuf, tmp: Option<Arc<tempfile::TempDir>>) -> Store {
        let shots = ScreenshotDir::in_data_dir(root.clone());
        Store {
            db,
            shots,
            root,
            db_file: None,
            notice: None,
            _ephemeral: tmp,
            _cache: None,
            facet_requests: Default::default(),
        }
    }

    /// The data directory (a temporary one for an ephemeral store).
    pub fn data_dir(&self) -> &Path {
        &self.root
    }

    /// `path` after following links, if it lies inside the data directory; the data
    /// directory itself for `None`. How the app makes sure that the UI can only have it
    /// reveal what is in the data folder.
    pub fn path_in_data_dir(&self, path: Option<&Path>) -> Result<PathBuf> {
        let path = path.unwrap_or(&self.root);
        crate::paths::canonical_inside(&self.root, path).ok_or_else(|| {
            Error::invalid(
                path.display(),
                "is not an existing file or folder inside the data directory",
            )
        })
    }

    /// The database file, or `None` for an ephemeral store's in-memory database.
    pub fn database_file(&self) -> Option<PathBuf> {
        self.db_file.clone()
    }

    /// A remark about which database was opened, when the folder held a choice (both
    /// the older and the current backend's file), naming the one opened.
    pub fn database_notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }

    /// Why the store was opened read-only (which folder or file cannot be written, and
    /// why), if it was: every write is then refused with [`crate::ErrorKind::ReadOnly`].
    pub fn read_only(&self) -> Option<&str> {
        self.db.read_only()
    }

    /// Refuse `what` (a write that is not a database change, such as writing an export
    /// into the data folder) when the store is read-only.
    pub(crate) fn check_writable(&self) -> Result<()> {
        match self.read_only() {
            Some(reason) => Err(Error::read_only(reason)),
            None => Ok(()),
        }
    }

    /// Whether this store keeps nothing (an in-memory database).
    pub fn is_ephemeral(&self) -> bool {
        self._ephemeral.is_some()
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn screenshots(&self) -> &ScreenshotDir {
        &self.shots
    }

    pub(crate) async fn write(&self, change: Change) -> Result<Outcome> {
        self.db.write(change).await
    }
}

/// Why data folder `root` or its database `file` cannot be written, if that is so: a
/// temporary file is made and removed in the folder, and an existing database file is
/// opened for writing (not written). Only a refusal counts (no permission, a read-only
/// file system); other failures, such as a full disk, are left for the write that meets
/// them to report.
fn unwritable(root: &Path, file: &Path) -> Option<String> {
    use std::io::ErrorKind::{PermissionDenied, ReadOnlyFilesystem};
    let why = |e: &std::io::Error| match e.kind() {
        PermissionDenied => Some("permission denied"),
        ReadOnlyFilesystem => Some("a read-only file system"),
        _ => None,
    };
    // Named like every temporary file of ours (writer's pid and host), so that a probe a
    // kill leaves behind is recognised as left behind by `doctor --repair`. (The error's
    // own text would name the probe's random file name.)
    let (prefix, suffix) = crate::temp_files::name_parts();
    if let Err(e) = tempfile::Builder::new()
        .prefix(&prefix)
        .suffix(suffix)
        .tempfile_in(root)
    {
        if let Some(why) = why(&e) {
            return Some(format!("the folder {} cannot be written ({why})", root.display()));
        }
    }
    match std::fs::OpenOptions::new().write(true).open(file) {
        Err(e) => {
            why(&e).map(|why| format!("the database file {} cannot be written ({why})", file.display()))
        }
        Ok(_) => None,
    }
}

/// The database of data folder `root`: the one it holds, the current backend's when it
/// holds both (that is the one the backend users run now keeps writing), ours when it
/// holds neither. Never a second file beside an existing one.
fn choose_database(root: &Path) -> (PathBuf, Option<String>) {
    let older = root.join(DB_FILE);
    let current = root.join(CURRENT_BACKEND_DB_FILE);
    match (older.is_file(), current.is_file()) {
        (true, true) => {
            let notice = format!(
                "{} holds both {DB_FILE} (older Veritas backends) and {CURRENT_BACKEND_DB_FILE} \
                 (the current backend); opened {}",
                root.display(),
                current.display()
            );
            (current, Some(notice))
        }
        (false, true) => (current, None),
        _ => (older, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_is_recognised_by_the_database_it_holds() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        assert_eq!(choose_database(root), (root.join(DB_FILE), None), "empty: ours");
        std::fs::write(root.join(CURRENT_BACKEND_DB_FILE), b"").unwrap();
        assert_eq!(choose_database(root), (root.join(CURRENT_BACKEND_DB_FILE), None));
        std::fs::write(root.join(DB_FILE), b"").unwrap();
        let (file, notice) = choose_database(root);
        assert_eq!(file, root.join(CURRENT_BACKEND_DB_FILE));
        let notice = notice.expect("both present is said");
        assert!(
            notice.contains(DB_FILE) && notice.contains(&format!("opened {}", file.display())),
            "{notice}"
        );
    }
}
