//! Which storage the app works on, and switching it while the app runs: the data folder,
//! or a team profile of the profiles file (see [`crate::team::profiles`]).
//!
//! At start the command line decides when it says anything (`--database`/`--objects`,
//! `--profile`, then `--data-dir`, `--ephemeral` or their variables); otherwise the app
//! opens what was chosen last in it, remembered in `storage.json` of the settings folder,
//! and the data folder when there is no such choice. A remembered profile that cannot be
//! opened (the server is down, the profile was removed) is no reason not to start: the data
//! folder opens instead, with a notice saying why, and the person can switch back.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::team::{profiles, TeamStore};
use crate::{Backend, Location, Store};

/// The name of the file, in the settings folder, that remembers the last choice.
pub const CHOICE_FILE: &str = "storage.json";

/// What a person chose to work on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "storage", rename_all = "snake_case", deny_unknown_fields)]
pub enum StorageChoice {
    /// The data folder (the one the command line named, else the default one).
    Folder,
    /// A team profile, by name.
    Profile {
        /// The profile's name in the profiles file.
        name: String,
    },
}

/// Where the last choice is remembered: `storage.json` in the settings folder.
pub fn choice_path() -> Option<PathBuf> {
    Some(profiles::config_dir()?.join(CHOICE_FILE))
}

/// The choice remembered in `path`; none when there is no such file. A file that is not a
/// choice is refused naming it and the reason.
pub fn remembered(path: &Path) -> Result<Option<StorageChoice>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    serde_json::from_str(&text).map(Some).map_err(|e| {
        Error::invalid(
            format!("remembered storage {}", path.display()),
            format!("is not a storage choice ({e})"),
        )
    })
}

/// Remember `choice` in `path` for the next start, replacing the file whole (a crash leaves
/// the old choice or the new one).
pub fn remember(path: &Path, choice: &StorageChoice) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let text = serde_json::to_vec_pretty(choice).expect("a choice serialises");
    crate::screenshots::write_atomically(dir, path, &text)
}

/// What the command line said about where the audits are.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// `--data-dir` (or `VERITAS_DATA_DIR`); the default data folder when `None`.
    pub data_dir: Option<PathBuf>,
    /// `--ephemeral`.
    pub ephemeral: bool,
    /// `--profile` (or `VERITAS_PROFILE`).
    pub profile: Option<String>,
    /// `--database` and `--objects` (or their variables).
    pub team_urls: Option<(String, String)>,
}

impl StartOptions {
    /// Whether the command line (or the environment it reads) chose the data folder, which
    /// then wins over a remembered profile.
    fn names_a_folder(&self) -> bool {
        self.data_dir.is_some()
            || self.ephemeral
            || matches!(Location::choose(None, false), Ok(Location::Ephemeral(_)))
    }
}

/// The settings files a [`Storage`] reads and writes.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Where the choice is remembered; not remembered when `None`.
    pub choice_file: Option<PathBuf>,
    /// The profiles file; no profiles when `None`.
    pub profiles_file: Option<PathBuf>,
    /// The data folder when the command line names none; the platform's (see
    /// [`crate::default_data_dir`]) when `None`.
    pub default_folder: Option<PathBuf>,
}

impl Settings {
    /// The user's: [`choice_path`] and [`profiles::profiles_path`].
    pub fn user() -> Settings {
        Settings {
            choice_file: choice_path(),
            profiles_file: profiles::profiles_path(),
            default_folder: None,
        }
    }

    /// The names of the profiles there are to choose from.
    pub fn profile_names(&self) -> Result<Vec<String>> {
        match &self.profiles_file {
            Some(path) => Ok(profiles::load(path)?.into_keys().collect()),
            None => Ok(Vec::new()),
        }
    }
}

/// The storage the app works on now, and what it takes to switch: the commands ask it for
/// [`Storage::backend`] on each call, so that a switch reaches every later one.
pub struct Storage {
    current: RwLock<Current>,
    /// The data folder's store, kept once opened: an ephemeral one holds its audits in
    /// memory only, and a switch back should find them. The lock also serialises switches.
    folder: tokio::sync::Mutex<Option<Backend>>,
    /// Held through a switch, so that two switches at once end on the one remembered.
    switching: tokio::sync::Mutex<()>,
    options: StartOptions,
    settings: Settings,
}

#[derive(Clone)]
struct Current {
    backend: Backend,
    /// `None` when the command line gave the team URLs themselves.
    choice: Option<StorageChoice>,
    /// Why this is open rather than what was remembered (only at start).
    notice: Option<String>,
}

impl Storage {
    /// Open what the command line says, else the remembered choice, else the data folder
    /// (see the module's documentation), with the user's settings files.
    pub async fn open(options: StartOptions) -> Result<Storage> {
        Self::open_with(options, Settings::user()).await
    }

    /// As [`Storage::open`], with the settings files of `settings`.
    pub async fn open_with(options: StartOptions, settings: Settings) -> Result<Storage> {
        let folder = tokio::sync::Mutex::new(None);
        let mut notice = None;
        let mut current = if let Some((database, objects)) = &options.team_urls {
            Current {
                backend: Backend::Team(TeamStore::open(database, objects).await?),
                choice: None,
                notice: None,
            }
        } else if let Some(name) = &options.profile {
            open_choice(
                &folder,
                &options,
                &settings,
                StorageChoice::Profile { name: name.clone() },
            )
            .await?
        } else if options.names_a_folder() {
            open_choice(&folder, &options, &settings, StorageChoice::Folder).await?
        } else {
            let remembered = match &settings.choice_file {
                Some(path) => remembered(path),
                None => Ok(None),
            };
            // The remembered profile if it opens; else the data folder, with why when
            // something else was remembered (nothing to say when the folder was).
            let tried = match remembered {
                Ok(Some(StorageChoice::Profile { name })) => {
                    let choice = StorageChoice::Profile { name: name.clone() };
                    open_choice(&folder, &options, &settings, choice).await.map_err(|e| {
                        Some(format!(
                            "The team profile {name:?} chosen last could not be opened ({e}); the data folder is open instead."
                        ))
                    })
                }
                Ok(_) => Err(None),
                Err(e) => Err(Some(format!("{e}; the data folder is open."))),
            };
            match tried {
                Ok(current) => current,
                Err(why) => {
                    notice = why;
                    open_choice(&folder, &options, &settings, StorageChoice::Folder).await?
                }
            }
        };
        current.notice = notice;
        Ok(Storage {
            current: RwLock::new(current),
            folder,
            switching: tokio::sync::Mutex::new(()),
            options,
            settings,
        })
    }

    /// A storage that is `backend` with no settings files: a local one is its data folder,
    /// and a switch to a profile finds none. For tests, and callers that chose already.
    pub fn of(backend: Backend) -> Storage {
        let (choice, folder) = match &backend {
            Backend::Local(_) => (Some(StorageChoice::Folder), Some(backend.clone())),
            Backend::Team(_) => (None, None),
        };
        Storage {
            current: RwLock::new(Current {
                backend,
                choice,
                notice: None,
            }),
            folder: tokio::sync::Mutex::new(folder),
            switching: tokio::sync::Mutex::new(()),
            options: StartOptions::default(),
            settings: Settings::default(),
        }
    }

    /// The storage to call now.
    pub fn backend(&self) -> Backend {
        self.current.read().expect("storage lock").backend.clone()
    }

    /// What is open, as chosen; `None` when the command line gave team URLs.
    pub fn choice(&self) -> Option<StorageChoice> {
        self.current.read().expect("storage lock").choice.clone()
    }

    /// Set when the start did not open what was remembered: why (until a switch).
    pub fn notice(&self) -> Option<String> {
        self.current.read().expect("storage lock").notice.clone()
    }

    /// The settings files this storage reads.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Switch to `choice` (a profile name from the webview is checked against the profiles
    /// file) and remember it for the next start. Nothing changes if it cannot be opened: the
    /// error says why. Calls already running finish on the storage they started on.
    pub async fn switch_storage(&self, choice: StorageChoice) -> Result<()> {
        if let StorageChoice::Profile { name } = &choice {
            if name.is_empty() || name.len() > 200 || name.chars().any(char::is_control) {
                return Err(Error::invalid(
                    format!("profile {:?}", crate::ids::quote_prefix(name)),
                    "is not a profile name (1-200 visible characters)",
                ));
            }
        }
        let _one_at_a_time = self.switching.lock().await;
        let opened = open_choice(&self.folder, &self.options, &self.settings, choice.clone()).await?;
        if let Some(path) = &self.settings.choice_file {
            remember(path, &choice)?;
        }
        *self.current.write().expect("storage lock") = opened;
        Ok(())
    }
}

/// Open `choice`: for the folder, the store kept in `folder` if it was opened before.
async fn open_choice(
    folder: &tokio::sync::Mutex<Option<Backend>>,
    options: &StartOptions,
    settings: &Settings,
    choice: StorageChoice,
) -> Result<Current> {
    let backend = match &choice {
        StorageChoice::Folder => {
            let mut folder = folder.lock().await;
            match &*folder {
                Some(open) => open.clone(),
                None => {
                    let dir = options
                        .data_dir
                        .clone()
                        .or_else(|| settings.default_folder.clone());
                    let location = Location::choose(dir, options.ephemeral)?;
                    let open = Backend::Local(Store::open_at(&location).await?);
                    *folder = Some(open.clone());
                    open
                }
            }
        }
        StorageChoice::Profile { name } => {
            let path = settings.profiles_file.as_deref().ok_or_else(|| {
                Error::invalid(
                    format!("profile {name:?}"),
                    "no profiles file: set VERITAS_PROFILES or HOME",
                )
            })?;
            let profile = profiles::resolve_in(path, name)?;
            Backend::Team(TeamStore::open(&profile.database, &profile.objects).await?)
        }
    };
    Ok(Current {
        backend,
        choice: Some(choice),
        notice: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_is_remembered_whole_and_a_bad_file_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("settings").join(CHOICE_FILE);
        assert_eq!(remembered(&path).unwrap(), None);
        let acme = StorageChoice::Profile { name: "acme".into() };
        remember(&path, &acme).unwrap();
        assert_eq!(remembered(&path).unwrap(), Some(acme));
        remember(&path, &StorageChoice::Folder).unwrap();
        assert_eq!(remembered(&path).unwrap(), Some(StorageChoice::Folder));
        std::fs::write(&path, r#"{"storage": "ftp"}"#).unwrap();
        let e = remembered(&path).unwrap_err();
        assert!(
            e.message.contains(&path.display().to_string()) && e.message.contains("not a storage choice"),
            "{e}"
        );
    }

    /// Settings in `dir`: a profiles file with profile "down" (a database nothing listens
    /// on) and the default folder `dir/data`.
    fn settings_in(dir: &Path) -> Settings {
        let profiles_file = dir.join("profiles.json");
        std::fs::write(
            &profiles_file,
            r#"{"profiles": {"down": {"database": "postgres://nobody@127.0.0.1:1/none", "objects": "file:///nonexistent"}}}"#,
        )
        .unwrap();
        Settings {
            choice_file: Some(dir.join(CHOICE_FILE)),
            profiles_file: Some(profiles_file),
            default_folder: Some(dir.join("data")),
        }
    }

    #[tokio::test]
    async fn a_remembered_profile_that_cannot_be_opened_opens_the_data_folder_saying_why() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_in(dir.path());
        let choice_file = settings.choice_file.clone().unwrap();
        remember(&choice_file, &StorageChoice::Profile { name: "down".into() }).unwrap();
        let storage = Storage::open_with(StartOptions::default(), settings)
            .await
            .unwrap();
        assert_eq!(storage.choice(), Some(StorageChoice::Folder));
        let notice = storage.notice().expect("a notice");
        assert!(
            notice.contains("\"down\"") && notice.contains("data folder is open instead"),
            "{notice}"
        );
        let Backend::Local(store) = storage.backend() else {
            panic!("the folder")
        };
        assert_eq!(store.data_dir(), dir.path().join("data"));
        assert_eq!(storage.settings().profile_names().unwrap(), ["down"]);
        // Still remembered: the server may be back next time.
        assert_eq!(
            remembered(&choice_file).unwrap(),
            Some(StorageChoice::Profile { name: "down".into() })
        );

        // Switching to it now fails the same way and changes nothing.
        let e = storage
            .switch_storage(StorageChoice::Profile { name: "down".into() })
            .await
            .unwrap_err();
        assert_eq!(e.kind, crate::ErrorKind::Database, "{e}");
        assert_eq!(storage.choice(), Some(StorageChoice::Folder));
        let unknown = storage
            .switch_storage(StorageChoice::Profile { name: "acme".into() })
            .await
            .unwrap_err();
        assert!(
            unknown.message.contains("profile \"acme\" not found"),
            "{unknown}"
        );
    }

    #[tokio::test]
    async fn an_explicit_folder_wins_over_the_remembered_choice_and_switching_keeps_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let settings = settings_in(dir.path());
        let choice_file = settings.choice_file.clone().unwrap();
        remember(&choice_file, &StorageChoice::Profile { name: "down".into() }).unwrap();
        let options = StartOptions {
            ephemeral: true,
            ..StartOptions::default()
        };
        let storage = Storage::open_with(options, settings).await.unwrap();
        assert_eq!(storage.choice(), Some(StorageChoice::Folder));
        assert_eq!(
            storage.notice(),
            None,
            "the command line chose: nothing to explain"
        );
        let project = crate::ProjectName::parse("default").unwrap();
        let Backend::Local(store) = storage.backend() else {
            panic!("a folder")
        };
        store.load_demo(&project, 2, &mut |_, _| {}).await.unwrap();

        // A name no profile could have: refused, nothing changes.
        let e = storage
            .switch_storage(StorageChoice::Profile {
                name: "\u{7}bell".into(),
            })
            .await
            .unwrap_err();
        assert!(e.message.contains("not a profile name"), "{e}");
        assert_eq!(storage.choice(), Some(StorageChoice::Folder));
        assert_eq!(
            remembered(&choice_file).unwrap(),
            Some(StorageChoice::Profile { name: "down".into() })
        );

        // To the folder: the same (in-memory) store, its audits still there, and remembered.
        storage.switch_storage(StorageChoice::Folder).await.unwrap();
        assert_eq!(storage.backend().projects().await.unwrap()[0].audits, 2);
        assert_eq!(remembered(&choice_file).unwrap(), Some(StorageChoice::Folder));
    }
}
