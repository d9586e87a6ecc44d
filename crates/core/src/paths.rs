//! Confinement: whether a path, after following links, lies inside a folder. Every path
//! the core serves or reveals is checked here, so there is one rule for "inside".

use std::path::{Path, PathBuf};

/// `path` after following links, if it exists and lies inside `root` (or is `root`).
/// `Path::starts_with` compares whole components: `/data/screenshots-evil` is not inside
/// `/data/screenshots`.
pub(crate) fn canonical_inside(root: &Path, path: &Path) -> Option<PathBuf> {
    let real = std::fs::canonicalize(path).ok()?;
    let root = std::fs::canonicalize(root).ok()?;
    real.starts_with(&root).then_some(real)
}
