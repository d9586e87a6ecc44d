//! The team's PostgreSQL database: connecting, and its own versioned migrations (numbered
//! apart from SQLite's: the engines' schemas differ where their SQL does). As on SQLite, all
//! pending migrations run in one transaction that exactly one process makes (here under an
//! advisory lock), and a database from a newer version is refused untouched.

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Connection, Executor};
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, ErrorKind, Result};

/// The environment variable naming the team database (`postgres://…`).
pub const DATABASE_URL_ENV: &str = "VERITAS_DATABASE_URL";

/// PostgreSQL's migrations, in order.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "team schema",
        include_str!("../../migrations-pg/0001_team.sql"),
    ),
    (
        2,
        "ingest: event identity, fingerprints computed",
        include_str!("../../migrations-pg/0002_ingest.sql"),
    ),
    (
        3,
        "facet counts maintained",
        include_str!("../../migrations-pg/0003_facet_counts.sql"),
    ),
    (
        4,
        "search on stored vectors",
        include_str!("../../migrations-pg/0004_search_vectors.sql"),
    ),
    (
        5,
        "derived facts: MITRE, CWE, green flags, changes, triage",
        include_str!("../../migrations-pg/0005_derived_facts.sql"),
    ),
    (
        6,
        "facet counts partitioned by kind; changes judged once per audit",
        include_str!("../../migrations-pg/0006_cheaper_facts.sql"),
    ),
    (
        7,
        "facet pairs: a fact facet under one fact's choice from counts",
        include_str!("../../migrations-pg/0007_facet_pairs.sql"),
    ),
    (
        8,
        "a site's previous audit found by walking its index",
        include_str!("../../migrations-pg/0008_site_order_by_index.sql"),
    ),
];

/// The team schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

/// Any number, the same in every process: the key of the advisory lock migrations take.
const MIGRATION_LOCK: i64 = 0x7665_7269_7461_7331; // "veritas1"

/// Connections the pool keeps at most (PostgreSQL's default allows 100 in all).
const CONNECTIONS: u32 = 8;

/// An open team database.
#[derive(Clone, Debug)]
pub struct TeamDatabase {
    pool: PgPool,
    /// The URL without its password (for messages and for the app to show).
    url: String,
}

/// `url` with its password replaced by `***`.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

impl TeamDatabase {
    /// Connect to `url` (`postgres://user[:password]@host[:port]/database`) and bring its
    /// schema up to date, or refuse one from a newer version.
    pub async fn connect(url: &str) -> Result<TeamDatabase> {
        let shown = redact(url);
        let what = format!("database URL {shown:?}");
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(Error::invalid(
                what,
                "not a PostgreSQL URL (postgres://user@host/database)",
            ));
        }
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::caused(ErrorKind::InvalidInput, &what, e))?
            // No JIT compilation: the core's statements are short, and a plan whose estimate
            // crosses jit_above_cost (the triggers' statements planned on young statistics
            // do) spent about 1 s compiling for a 20 ms query, on every finding written.
            .options([("jit", "off")]);
        // One connection first, so that an unreachable server or a refused login is said at
        // once (a pool would retry until its acquire timeout).
        let first = sqlx::PgConnection::connect_with(&options)
            .await
            .map_err(|e| Error::caused(ErrorKind::Database, format!("cannot connect to {shown}"), e))?;
        let _ = first.close().await;
        let pool = PgPoolOptions::new()
            .max_connections(CONNECTIONS)
            .acquire_timeout(Duration::from_secs(30))
            .connect_lazy_with(options);
        let db = TeamDatabase { pool, url: shown };
        db.migrate().await?;
        Ok(db)
    }

    /// The pool, for the team store's queries.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The URL, without its password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The schema version recorded (0 for a database the viewer never opened).
    pub async fn version(&self) -> Result<i64> {
        let mut conn = self.pool.acquire().await?;
        current_version(&mut conn).await
    }

    async fn migrate(&self) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        let found = current_version(&mut conn).await?;
        if found > LATEST_VERSION {
            return Err(refuse_newer(found));
        }
        if found == LATEST_VERSION {
            return Ok(());
        }
        // One process migrates; the others wait here, then find the work done. A session
        // lock taken before the transaction begins: a transaction reads the catalog as it was
        // when it began, so one begun before the lock was granted could miss the tables the
        // process before it made (and make them again: "relation already exists").
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await?;
        let migrated = migrate_locked(&mut conn).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *conn)
            .await;
        if unlocked.is_err() {
            // Not back to the pool holding the lock: closing the connection releases it.
            let _ = conn.detach().close().await;
        }
        migrated
    }
}

/// Apply the pending migrations in one transaction, the migration lock held.
async fn migrate_locked(conn: &mut sqlx::PgConnection) -> Result<()> {
    let mut tx = conn.begin().await?;
    let found = current_version(&mut tx).await?;
    if found > LATEST_VERSION {
        return Err(refuse_newer(found));
    }
    tx.execute(
        "CREATE TABLE IF NOT EXISTS veritas_viewer_migrations (
             version BIGINT PRIMARY KEY,
             description TEXT NOT NULL,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
    )
    .await?;
    for &(version, description, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        (&mut *tx)
            .execute(sql)
            .await
            .map_err(|e| Error::from(e).context(format!("team migration {version} ({description})")))?;
        if version == 5 {
            // What only the core can read: the facts of stored events, and whether each
            // triage key hides (the same readings as on a data folder).
            super::event_facts::backfill(&mut tx).await?;
            super::triage::keep_all_key_states(&mut tx).await?;
        }
        sqlx::query("INSERT INTO veritas_viewer_migrations (version, description) VALUES ($1, $2)")
            .bind(version)
            .bind(description)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn current_version(conn: &mut sqlx::PgConnection) -> Result<i64> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('veritas_viewer_migrations') IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(0);
    }
    let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM veritas_viewer_migrations")
        .fetch_one(&mut *conn)
        .await?;
    Ok(v.unwrap_or(0))
}

fn refuse_newer(found: i64) -> Error {
    Error::new(
        ErrorKind::SchemaTooNew,
        format!(
            "the team database has schema version {found}, newer than this program knows \
             (version {LATEST_VERSION}); it was written by a newer Veritas Viewer. Upgrade \
             Veritas Viewer to use it; the database was left untouched"
        ),
    )
}

/// PostgreSQL's refusal of a value (SQLSTATE class 22: a NUL in text, a number out of
/// range) is about that audit's data, so it is reported as such and the push or ingest goes on.
pub(crate) fn data_or_database(e: sqlx::Error) -> Error {
    let data = matches!(&e, sqlx::Error::Database(db) if db.code().is_some_and(|c| c.starts_with("22")));
    let err = Error::from(e);
    if data {
        Error::new(
            ErrorKind::InvalidInput,
            format!("the team database refused a value ({err})"),
        )
    } else {
        err
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_never_reaches_a_message() {
        assert_eq!(
            redact("postgres://ana:s3cret@db.example:5432/veritas"),
            "postgres://ana:***@db.example:5432/veritas"
        );
        assert_eq!(redact("postgres://ana@db/veritas"), "postgres://ana@db/veritas");
    }

    #[tokio::test]
    async fn a_url_of_another_engine_is_refused_before_connecting() {
        let err = TeamDatabase::connect("mysql://root:pw@localhost/x")
            .await
            .unwrap_err();
        assert_eq!(err.kind, ErrorKind::InvalidInput);
        assert!(err.message.contains("not a PostgreSQL URL"), "{err}");
        assert!(!err.message.contains("pw"), "{err}");
    }
}
