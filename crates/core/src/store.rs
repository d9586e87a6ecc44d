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

    /// Open the data directory `root` (created on first use), migrating its database.
    pub async fn open(root: &Path) -> Result<Store> {
        std::fs::create_dir_all(root.join(SCREENSHOTS_DIR)).map_err(|e| Error::io(root, e))?;
        let (file, notice) = choose_database(root);
        let db = Database::open(&file).await?;
        let mut store = Store::assemble(db, root.to_path_buf(), None);
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
