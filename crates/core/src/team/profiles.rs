//! Named team profiles: the team databases and object stores a person works with, in one
//! file, so that the app and `veritas-db` are pointed at one by name (`--profile NAME` or
//! `VERITAS_PROFILE`) instead of two URLs each time.
//!
//! The file is JSON, `$XDG_CONFIG_HOME/veritas-viewer/profiles.json` (else
//! `~/.config/veritas-viewer/profiles.json`; `VERITAS_PROFILES` names another):
//!
//! ```json
//! { "profiles": {
//!     "acme": { "database": "postgres://me@db.acme.example/veritas", "objects": "s3://acme-audits/shots" }
//! } }
//! ```
//!
//! Credentials stay where they are today: in the URL's password (never printed) or the
//! usual `PG*` and `AWS_*` variables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The variable naming the profiles file, where it is not the default one.
pub const PROFILES_FILE_ENV: &str = "VERITAS_PROFILES";

/// The variable naming the profile to use, as `--profile` does.
pub const PROFILE_ENV: &str = "VERITAS_PROFILE";

/// One profile: a team database and its object store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// `postgres://user[:password]@host[:port]/database`.
    pub database: String,
    /// `s3://bucket/prefix` or `file:///folder`.
    pub objects: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfilesFile {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// Where the profiles file is: `VERITAS_PROFILES`, else the user's config folder.
pub fn profiles_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(PROFILES_FILE_ENV).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    Some(config_dir()?.join("profiles.json"))
}

/// The app's folder of settings: `$XDG_CONFIG_HOME/veritas-viewer`, else
/// `~/.config/veritas-viewer`.
pub fn config_dir() -> Option<PathBuf> {
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("veritas-viewer"))
}

/// The profiles of file `path`, by name; none when there is no such file. A file that is
/// not a profiles file, or a profile whose URLs are not of the kinds it takes, is refused
/// with the file, the profile and the reason named.
pub fn load(path: &Path) -> Result<BTreeMap<String, Profile>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(Error::io(path, e)),
    };
    let file: ProfilesFile = serde_json::from_str(&text).map_err(|e| {
        Error::invalid(
            format!("profiles file {}", path.display()),
            format!("is not a profiles file ({e})"),
        )
    })?;
    for (name, p) in &file.profiles {
        let what = || format!("profile {name:?} of {}", path.display());
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(Error::invalid(what(), "needs a name of visible characters"));
        }
        if !(p.database.starts_with("postgres://") || p.database.starts_with("postgresql://")) {
            return Err(Error::invalid(what(), "its database is not a postgres:// URL"));
        }
        if !(p.objects.starts_with("s3://") || p.objects.starts_with("file://")) {
            return Err(Error::invalid(
                what(),
                "its objects are not an s3:// or file:// URL",
            ));
        }
    }
    Ok(file.profiles)
}

/// Profile `name` of the profiles file; an unknown name is refused with the file and the
/// names it has.
pub fn resolve(name: &str) -> Result<Profile> {
    let path = profiles_path().ok_or_else(|| {
        Error::invalid(
            format!("profile {name:?}"),
            "no profiles file: set VERITAS_PROFILES or HOME",
        )
    })?;
    resolve_in(&path, name)
}

/// Profile `name` of the profiles file `path`, as [`resolve`].
pub fn resolve_in(path: &Path, name: &str) -> Result<Profile> {
    let mut profiles = load(path)?;
    profiles.remove(name).ok_or_else(|| {
        let known: Vec<&String> = profiles.keys().collect();
        let names = if known.is_empty() {
            "none".to_string()
        } else {
            known
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        Error::not_found_in(
            format!("profile {name:?}"),
            format!("{} (it has {names})", path.display()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("profiles.json");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn profiles_are_read_by_name_and_a_missing_file_has_none() {
        let (_dir, path) = file(
            r#"{"profiles": {"acme": {"database": "postgres://me@db/veritas", "objects": "s3://b/p"},
                             "lab": {"database": "postgresql://x@y/z", "objects": "file:///srv/shots"}}}"#,
        );
        let profiles = load(&path).unwrap();
        assert_eq!(profiles.keys().collect::<Vec<_>>(), ["acme", "lab"]);
        assert_eq!(profiles["acme"].objects, "s3://b/p");
        assert!(load(&path.with_file_name("absent.json")).unwrap().is_empty());
    }

    #[test]
    fn a_bad_file_or_profile_is_refused_naming_the_file_the_profile_and_the_reason() {
        let (_dir, path) = file(r#"{"profiles": {"acme": {"database": "mysql://db", "objects": "s3://b"}}}"#);
        let e = load(&path).unwrap_err();
        assert!(
            e.message.contains("profile \"acme\"") && e.message.contains("not a postgres:// URL"),
            "{e}"
        );
        let (_dir, path) =
            file(r#"{"profiles": {"acme": {"database": "postgres://db", "objects": "http://b"}}}"#);
        assert!(load(&path).unwrap_err().message.contains("s3:// or file://"));
        let (_dir, path) = file(r#"{"profile": {}}"#);
        let e = load(&path).unwrap_err();
        assert!(
            e.message.contains("profiles file") && e.message.contains("is not a profiles file"),
            "{e}"
        );
        let (_dir, path) = file("not json");
        assert!(load(&path).is_err());
    }
}
