//! Where a store's data lives, chosen the same way by the app and by `veritas-db`: an
//! explicit folder, else `VERITAS_DATA_DIR`, else the platform's data directory; or
//! nowhere at all (an in-memory database) when asked to be ephemeral or when the Veritas
//! backend's own `USE_DB_PERSISTENCE` flag turns persistence off.

use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Result};

/// The environment variable that names the data directory.
pub const DATA_DIR_ENV: &str = "VERITAS_DATA_DIR";
/// The Veritas backend's persistence flag: anything but `true` (any case) means off.
pub const PERSISTENCE_ENV: &str = "USE_DB_PERSISTENCE";

/// Where to open a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A data directory on disk (created on first use).
    Dir(PathBuf),
    /// An in-memory database and a temporary screenshot folder; nothing is kept.
    Ephemeral(EphemeralReason),
}

/// Why a store is ephemeral, so that the caller can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EphemeralReason {
    /// The user asked (`--ephemeral`).
    Asked,
    /// `USE_DB_PERSISTENCE` is set to something other than `true`.
    PersistenceOff,
}

impl Location {
    /// Choose from what the user gave: `ephemeral` (a flag), `data_dir` (a flag, which
    /// clap may already have filled from `VERITAS_DATA_DIR`), then the environment.
    pub fn choose(data_dir: Option<PathBuf>, ephemeral: bool) -> Result<Location> {
        if ephemeral {
            return Ok(Location::Ephemeral(EphemeralReason::Asked));
        }
        if persistence_disabled(std::env::var(PERSISTENCE_ENV).ok().as_deref()) {
            return Ok(Location::Ephemeral(EphemeralReason::PersistenceOff));
        }
        match data_dir {
            Some(dir) => Ok(Location::Dir(dir)),
            None => default_data_dir().map(Location::Dir),
        }
    }
}

/// Whether the backend's flag, set to `value`, turns persistence off: like the backend,
/// anything but "true" (in any case) means off; unset means on.
fn persistence_disabled(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.trim().eq_ignore_ascii_case("true"))
}

/// The data directory when none is given: `VERITAS_DATA_DIR`, else the platform's data
/// directory (`~/.local/share/veritas-viewer` on Linux).
pub fn default_data_dir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    dirs::data_dir()
        .map(|d| d.join("veritas-viewer"))
        .ok_or_else(|| Error::new(ErrorKind::Io, "no platform data directory; pass --data-dir"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backends_flag_turns_persistence_off_unless_it_says_true() {
        for (value, off) in [
            (None, false),
            (Some("true"), false),
            (Some(" TRUE "), false),
            (Some("false"), true),
            (Some("0"), true),
            (Some(""), true),
        ] {
            assert_eq!(persistence_disabled(value), off, "USE_DB_PERSISTENCE={value:?}");
        }
    }

    #[test]
    fn asking_for_ephemeral_wins_over_a_data_dir() {
        assert_eq!(
            Location::choose(Some("/tmp/x".into()), true).unwrap(),
            Location::Ephemeral(EphemeralReason::Asked)
        );
    }
}
