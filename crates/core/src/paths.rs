//! Confinement: whether a path, after following links, lies inside a folder. Every path
//! the core serves or reveals is checked here, so there is one rule for "inside"; and every
//! folder it writes, caches or deletes in is reached without following a link.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// `path` after following links, if it exists and lies inside `root` (or is `root`).
/// `Path::starts_with` compares whole components: `/data/screenshots-evil` is not inside
/// `/data/screenshots`.
pub(crate) fn canonical_inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(path).ok()?;
    let root = std::fs::canonicalize(root).ok()?;
    real.starts_with(&root).then_some(real)
}

/// The folder `base/parts[0]/parts[1]/…`, made where missing when `create`, or `None` when a
/// part is missing and not `create`. Each part is refused if it is a symbolic link (or not a
/// folder): a data folder unpacked from a shared archive can hold a link that points out of
/// it, and nothing we write, cache or delete may follow one there. `base`, the data folder a
/// person chose, is taken as it is.
pub(crate) fn own_folder(base: &Path, parts: &[&str], create: bool) -> Result<Option<PathBuf>> {
    let mut path = base.to_path_buf();
    for part in parts {
        path.push(part);
        // Twice at most: a folder another process made between our look and our create is
        // looked at again.
        for attempt in 0..2 {
            match std::fs::symlink_metadata(&path) {
                Ok(m) if m.file_type().is_symlink() => return Err(link_refused(&path)),
                Ok(m) if m.is_dir() => break,
                Ok(_) => return Err(Error::invalid(path.display(), "is not a folder")),
                Err(e) if e.kind() == ErrorKind::NotFound && !create => return Ok(None),
                Err(e) if e.kind() == ErrorKind::NotFound && attempt == 0 => match std::fs::create_dir(&path)
                {
                    Ok(()) => break,
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(Error::io(&path, e)),
                },
                Err(e) => return Err(Error::io(&path, e)),
            }
        }
    }
    Ok(Some(path))
}

/// Refuse `path` if it is a symbolic link (a file we are about to replace or serve).
pub(crate) fn refuse_link(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(link_refused(path)),
        _ => Ok(()),
    }
}

fn link_refused(path: &Path) -> Error {
    Error::invalid(
        path.display(),
        "is a symbolic link; nothing is written, cached or deleted through a link, which could \
         point out of the data folder (replace it with a real folder or file)",
    )
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn own_folder_makes_what_is_missing_and_refuses_links_naming_them() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let made = own_folder(tmp.path(), &["cache", "thumbnails", "vrts_1"], true)
            .unwrap()
            .unwrap();
        assert!(made.is_dir());
        assert_eq!(own_folder(tmp.path(), &["exports"], false).unwrap(), None);
        std::fs::remove_dir_all(tmp.path().join("cache/thumbnails")).unwrap();
        std::os::unix::fs::symlink(outside.path(), tmp.path().join("cache/thumbnails")).unwrap();
        let e = own_folder(tmp.path(), &["cache", "thumbnails", "vrts_1"], true).unwrap_err();
        assert!(
            e.to_string().contains("thumbnails") && e.to_string().contains("symbolic link"),
            "{e}"
        );
        assert!(
            !outside.path().join("vrts_1").exists(),
            "nothing made through the link"
        );
    }
}
