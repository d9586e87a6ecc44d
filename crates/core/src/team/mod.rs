//! Team mode (issue 15): the same audits in a shared PostgreSQL database, their screenshots
//! in an S3-compatible object store (or a folder), so several producers and analysts work on
//! one set. Real engines only: PostgreSQL through sqlx, objects through Apache Arrow's
//! `object_store`; no server or sync protocol of our own.
//!
//! What is here so far: the team database with its own versioned migrations
//! ([`database`]), the content-addressed screenshot store ([`objects`]), and `push`, which
//! copies a local data folder into a team store ([`push`]).

pub mod database;
pub mod objects;
pub mod push;
pub mod read;

pub use database::{redact, TeamDatabase, DATABASE_URL_ENV};
pub use objects::{content_key, ObjectShots, Stored, OBJECTS_URL_ENV};
pub use push::PushReport;

use crate::error::Result;

/// A team's database and object store, opened together.
#[derive(Clone)]
pub struct TeamStore {
    db: TeamDatabase,
    objects: ObjectShots,
}

impl TeamStore {
    /// Connect to the database at `database_url` (migrating it) and open the object store at
    /// `objects_url` (see [`ObjectShots::open`]).
    pub async fn open(database_url: &str, objects_url: &str) -> Result<TeamStore> {
        let objects = ObjectShots::open(objects_url)?;
        let db = TeamDatabase::connect(database_url).await?;
        Ok(TeamStore { db, objects })
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
