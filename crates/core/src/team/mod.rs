//! Team mode (issue 15): the same audits in a shared PostgreSQL database, their screenshots
//! in an S3-compatible object store (or a folder), so several producers and analysts work on
//! one set. Real engines only: PostgreSQL through sqlx, objects through Apache Arrow's
//! `object_store`; no server or sync protocol of our own.
//!
//! What is here so far: the team database with its own versioned migrations
//! ([`database`]), the content-addressed screenshot store ([`objects`]), and `push`, which
//! copies a local data folder into a team store ([`push`]).

mod changes;
pub mod database;
mod delete;
pub mod doctor;
mod event_facts;
mod facet_sample;
pub mod facets;
pub(crate) mod ingest;
pub mod live;
pub mod objects;
pub mod profiles;
pub mod pull;
pub mod push;
pub mod read;
pub mod shots;
mod similar;
pub mod triage;

pub use database::{redact, TeamDatabase, DATABASE_URL_ENV};
pub use doctor::TeamDoctorReport;
pub use objects::{content_key, ObjectShots, Stored, OBJECTS_URL_ENV};
pub use pull::PullReport;
pub use push::PushReport;

use crate::error::Result;

/// A team's database and object store, opened together.
#[derive(Clone)]
pub struct TeamStore {
    db: TeamDatabase,
    objects: ObjectShots,
    /// Local copies of the screenshots read (by content key), with their thumbnails and
    /// diffs: in a temporary folder of this process, so nothing of the team's is left
    /// behind on the machine.
    cache: crate::ScreenshotDir,
    _cache_dir: std::sync::Arc<tempfile::TempDir>,
}

impl TeamStore {
    /// Connect to the database at `database_url` (migrating it) and open the object store at
    /// `objects_url` (see [`ObjectShots::open`]).
    pub async fn open(database_url: &str, objects_url: &str) -> Result<TeamStore> {
        let objects = ObjectShots::open(objects_url)?;
        let db = TeamDatabase::connect(database_url).await?;
        let dir = tempfile::Builder::new()
            .prefix("veritas-team-cache-")
            .tempdir()
            .map_err(|e| crate::Error::io(&std::env::temp_dir(), e))?;
        Ok(TeamStore {
            db,
            objects,
            cache: crate::ScreenshotDir::in_data_dir(dir.path().to_path_buf()),
            _cache_dir: std::sync::Arc::new(dir),
        })
    }

    /// The team database.
    pub fn database(&self) -> &TeamDatabase {
        &self.db
    }

    /// The screenshot object store.
    pub fn objects(&self) -> &ObjectShots {
        &self.objects
    }
}
