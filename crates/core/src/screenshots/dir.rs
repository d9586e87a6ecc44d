//! The screenshot directory of a data directory: saving checked bytes atomically, finding
//! a row's file by audit id and file name (whichever machine recorded the path), removing an
//! audit's files.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::sniff::{inspect, ImageInfo};
use crate::error::{Error, Result};
use crate::ids::{self, AuditId};

/// A stored screenshot file.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedFile {
    pub path: PathBuf,
    pub info: ImageInfo,
    pub size: u64,
}

/// Where the screenshots are, within the data directory.
const SHOTS: &str = crate::store::SCREENSHOTS_DIR;
/// Where thumbnails and diffs are cached, within the data directory.
const CACHE: [&str; 2] = ["cache", "thumbnails"];

/// The screenshot directory of a data directory.
#[derive(Debug, Clone)]
pub struct ScreenshotDir {
    /// The data directory.
    base: PathBuf,
    root: PathBuf,
    /// The folder holding `cache/thumbnails/`: the data directory, or a temporary folder
    /// for a data directory opened read-only.
    cache_base: PathBuf,
}

impl ScreenshotDir {
    /// The screenshots of data directory `base` (in `screenshots/`, thumbnails cached in
    /// `cache/thumbnails/`).
    pub fn in_data_dir(base: PathBuf) -> ScreenshotDir {
        ScreenshotDir {
            root: base.join(SHOTS),
            cache_base: base.clone(),
            base,
        }
    }

    /// The same screenshots, with thumbnails and diffs cached under `cache_base` instead
    /// (a data directory that may not be written).
    pub fn with_cache_in(mut self, cache_base: &Path) -> ScreenshotDir {
        self.cache_base = cache_base.to_path_buf();
        self
    }

    /// The cache folder of an audit's thumbnails and diffs, made if missing; refused if a
    /// link is on the way to it.
    pub(super) fn cache_dir(&self, audit_id: &AuditId) -> Result<PathBuf> {
        let parts = [CACHE[0], CACHE[1], audit_id.as_str()];
        Ok(crate::paths::own_folder(&self.cache_base, &parts, true)?.unwrap_or_default())
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder the audits' cached thumbnails and diffs are in.
    pub fn cache_root(&self) -> PathBuf {
        self.cache_base.join(CACHE[0]).join(CACHE[1])
    }

    /// The folder of one audit (checked id; not created).
    pub fn audit_dir(&self, audit_id: &AuditId) -> PathBuf {
        self.root.join(audit_id.as_str())
    }

    /// The file `name` of audit `audit_id`, written from `bytes` (checked to be an image)
    /// if it is not there yet: a local copy of a screenshot kept elsewhere (a team's object
    /// store), so that it is served, thumbnailed and diffed as a stored file is.
    pub fn keep_copy(&self, audit_id: &AuditId, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        if !crate::ids::is_plain_file_name(name) {
            return Err(Error::invalid(format!("file name {name:?}"), "not a plain name"));
        }
        let dir =
            crate::paths::own_folder(&self.base, &[SHOTS, audit_id.as_str()], true)?.unwrap_or_default();
        let path = dir.join(name);
        if self.confine(&path).is_none() {
            inspect(bytes)?;
            write_atomically(&dir, &path, bytes)?;
        }
        Ok(path)
    }

    /// Check `bytes` and store them as screenshot `index` of `audit_id`.
    pub fn save(&self, audit_id: &AuditId, index: i64, bytes: &[u8]) -> Result<SavedFile> {
        let info = inspect(bytes)?;
        // Not through a link: a planted `screenshots/<id>` link would put the file elsewhere.
        let dir =
            crate::paths::own_folder(&self.base, &[SHOTS, audit_id.as_str()], true)?.unwrap_or_default();
        let name = format!(
            "{}_{}_{:08x}.{}",
            chrono::Utc::now().format("%Y%m%d%H%M%S%3f"),
            index,
            fastrand::u32(..),
            info.format.extension()
        );
        let path = dir.join(name);
        write_atomically(&dir, &path, bytes)?;
        Ok(SavedFile {
            path,
            info,
            size: bytes.len() as u64,
        })
    }

    /// Where the file of a screenshot row is in this directory, if it is there: by audit id
    /// and the recorded path's file name, whichever machine recorded it.
    /// `audit_id` is as the row holds it (rows may come from other programs): checked here.
    pub fn resolve(&self, audit_id: &str, recorded_path: &str) -> Option<PathBuf> {
        let name = ids::file_name_of_recorded_path(recorded_path)?;
        let candidate = self.audit_dir(&AuditId::parse(audit_id).ok()?).join(name);
        self.confine(&candidate)
    }

    /// `path` after following links, if it is a file inside the screenshot directory with
    /// no other name: a hard link shares the file of another name, which may lie outside
    /// the folder (a `screenshots/<id>/a.png` linked to `~/.ssh/id_rsa` by an archive), and
    /// nothing tells where; so such a file is neither served, exported nor backed up.
    pub(super) fn confine(&self, path: &Path) -> Option<PathBuf> {
        crate::paths::canonical_inside(&self.root, path).filter(|real| {
            fs::metadata(real).is_ok_and(|m| {
                #[cfg(unix)]
                let single = std::os::unix::fs::MetadataExt::nlink(&m) == 1;
                #[cfg(not(unix))]
                let single = true;
                m.is_file() && single
            })
        })
    }

    /// Remove an audit's files and cached thumbnails. A link on the way to either folder
    /// is refused, never followed (`cache/thumbnails -> ../../home` and an audit id
    /// `Documents` would otherwise delete `home/Documents`).
    pub fn remove_audit(&self, id: &AuditId) -> Result<()> {
        let id = id.as_str();
        for (base, parts) in [
            (&self.base, vec![SHOTS, id]),
            (&self.cache_base, vec![CACHE[0], CACHE[1], id]),
        ] {
            let Some(dir) = crate::paths::own_folder(base, &parts, false)? else {
                continue;
            };
            match fs::remove_dir_all(&dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io(&dir, e)),
            }
        }
        Ok(())
    }
}

/// Write to a temporary file beside `path`, fsync it, rename it into place, fsync the
/// folder: a crash leaves either no file or the whole file, never a torn one.
pub(crate) fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    let mut builder = tempfile::Builder::new();
    // Named for the process writing it, so that `doctor --repair` can tell when it is gone.
    let (prefix, suffix) = crate::temp_files::name_parts();
    builder.prefix(&prefix).suffix(suffix);
    // As any file a program creates (0666 less the umask), not a temporary file's 0600: a
    // data folder shared with a group, or read as another user, must be able to read it
    // as it reads the database beside it.
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = builder.tempfile_in(dir).map_err(|e| Error::io(dir, e))?;
    tmp.write_all(bytes).map_err(|e| Error::io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(tmp.path(), e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    // Make the rename itself durable (a no-op where folders cannot be opened, e.g. Windows).
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::sniff::test_png as png;
    use super::*;

    #[cfg(unix)]
    #[test]
    fn a_saved_screenshot_is_readable_as_any_file_made_here_and_thumbnails_go_to_the_cache_folder() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::in_data_dir(tmp.path().to_path_buf()).with_cache_in(cache.path());
        let id = AuditId::parse("vrts_00000001").unwrap();
        let saved = dir.save(&id, 0, &png(64, 32)).unwrap();
        // A file made the ordinary way gets the umask's permissions; a screenshot must too
        // (a temporary file's 0600 hid screenshots from a folder's other readers).
        let ordinary = tmp.path().join("ordinary");
        fs::File::create(&ordinary).unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&saved.path), mode(&ordinary));

        let thumb = dir.thumbnail(&id, &saved.path, 16).unwrap();
        assert!(thumb.starts_with(cache.path()), "{}", thumb.display());
        assert!(
            !tmp.path().join("cache").exists(),
            "nothing cached in the data folder"
        );
    }

    #[test]
    fn saves_atomically_resolves_by_name_and_stays_inside() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::in_data_dir(tmp.path().to_path_buf());
        let id = AuditId::parse("vrts_00000001").unwrap();
        let saved = dir.save(&id, 2, &png(4, 4)).unwrap();
        let name = saved.path.file_name().unwrap().to_str().unwrap().to_string();
        assert!(name.contains("_2_") && name.ends_with(".png"), "{name}");
        let windows = format!(r"C:\Users\hp\data\screenshots\vrts_00000001\{name}");
        assert_eq!(
            dir.resolve("vrts_00000001", &windows),
            Some(fs::canonicalize(&saved.path).unwrap())
        );
        assert_eq!(dir.resolve("vrts_00000001", "../../etc/passwd"), None);
        assert_eq!(dir.resolve("../x", &name), None);
        // An id like "../escape" cannot reach save at all: AuditId::parse refuses it.
        let leftovers: Vec<_> = fs::read_dir(saved.path.parent().unwrap())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".tmp-")
            })
            .collect();
        assert!(leftovers.is_empty(), "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn a_hard_link_to_a_file_outside_is_not_resolved() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::in_data_dir(tmp.path().to_path_buf());
        fs::create_dir_all(tmp.path().join("screenshots/vrts_1")).unwrap();
        fs::write(tmp.path().join("secret.png"), png(1, 1)).unwrap();
        fs::hard_link(
            tmp.path().join("secret.png"),
            tmp.path().join("screenshots/vrts_1/a.png"),
        )
        .unwrap();
        fs::write(tmp.path().join("screenshots/vrts_1/b.png"), png(1, 1)).unwrap();
        assert_eq!(dir.resolve("vrts_1", "a.png"), None);
        assert!(dir.resolve("vrts_1", "b.png").is_some(), "a file of one name is");
    }

    #[cfg(unix)]
    #[test]
    fn a_link_out_of_the_directory_is_not_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = ScreenshotDir::in_data_dir(tmp.path().to_path_buf());
        fs::create_dir_all(tmp.path().join("screenshots/vrts_1")).unwrap();
        fs::write(tmp.path().join("secret.png"), png(1, 1)).unwrap();
        std::os::unix::fs::symlink(
            tmp.path().join("secret.png"),
            tmp.path().join("screenshots/vrts_1/a.png"),
        )
        .unwrap();
        assert_eq!(dir.resolve("vrts_1", "a.png"), None);
    }
}
