//! The database handle: one writer (see [`writer`]) and a pool of readers over one SQLite
//! file in WAL mode. Opened once and shared by clone; there is no lock around it.

pub mod migrate;
pub mod time_limit;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Executor};

use crate::error::{Error, Result};
use crate::write::{Change, Outcome};
pub use writer::Writer;

/// How long a connection waits for another process's write lock before giving up.
/// Long, because the alternative is handing SQLITE_BUSY to a person (and ingest, meeting
/// it, waits on rather than drop a line). [`BUSY_TIMEOUT_VARIABLE`] changes it.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// The environment variable that sets the busy timeout in seconds (a positive number).
pub const BUSY_TIMEOUT_VARIABLE: &str = "VERITAS_BUSY_TIMEOUT";

/// The busy timeout in effect: [`BUSY_TIMEOUT_VARIABLE`] if it holds a positive number of
/// seconds, else [`BUSY_TIMEOUT`].
pub fn busy_timeout() -> Duration {
    std::env::var(BUSY_TIMEOUT_VARIABLE)
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0 && *s < 1e6)
        .map_or(BUSY_TIMEOUT, Duration::from_secs_f64)
}

/// How many read connections run queries at once.
const READERS: u32 = 4;

/// The connect options every connection of the core uses (and that tests use to write the
/// file the way another process would): WAL, `synchronous=NORMAL`, foreign keys, a busy
/// timeout and the backend's cache PRAGMAs, set per connection.
pub fn connect_options(path: &Path) -> SqliteConnectOptions {
    common_pragmas(
        SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal),
    )
}

fn common_pragmas(options: SqliteConnectOptions) -> SqliteConnectOptions {
    options
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(busy_timeout())
        .pragma("cache_size", "-64000")
        .pragma("temp_store", "MEMORY")
        .pragma("wal_autocheckpoint", "1000")
        .disable_statement_logging()
}

/// The first connection of a process. Processes that open a new file at the same moment race
/// to make it a WAL database, and SQLite answers the loser's `PRAGMA journal_mode=WAL` with
/// SQLITE_BUSY at once, without the busy handler: so that is retried, within the busy
/// timeout, as every other wait for another process's lock is.
async fn connect_when_free(options: &SqliteConnectOptions) -> Result<sqlx::SqliteConnection> {
    let start = std::time::Instant::now();
    loop {
        match options.connect().await {
            Err(sqlx::Error::Database(e))
                if e.code().as_deref() == Some("5") && start.elapsed() < busy_timeout() =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            other => return Ok(other?),
        }
    }
}

/// An open, migrated database: read-write, or read-only with the reason it is.
#[derive(Clone)]
pub struct Database {
    read: SqlitePool,
    /// `None` when opened read-only: every write is refused with `read_only`'s reason.
    writer: Option<Writer>,
    read_only: Option<Arc<str>>,
}

impl Database {
    /// Open (creating if needed) the database file at `path` and migrate it.
    pub async fn open(path: &Path) -> Result<Database> {
        Self::open_with(connect_options(path))
            .await
            .map_err(|e| e.context(path.display()))
    }

    /// An in-memory database, gone when the last handle is dropped (the persistence flag).
    pub async fn open_in_memory() -> Result<Database> {
        // `sqlite::memory:` gives every connection made from these options the same
        // shared-cache database, so the writer and the readers see one database.
        let options = SqliteConnectOptions::from_str("sqlite::memory:")?;
        Self::open_with(common_pragmas(options)).await
    }

    /// Open the database file at `path` for reading only, because `reason` (the folder or
    /// the file cannot be written): nothing is created, migrated or written, and every write
    /// is refused naming `reason`. A schema this build would have to upgrade is refused too.
    pub async fn open_read_only(path: &Path, reason: &str) -> Result<Database> {
        Self::open_read_only_with(path, reason)
            .await
            .map_err(|e| e.context(path.display()))
    }

    async fn open_read_only_with(path: &Path, reason: &str) -> Result<Database> {
        // No journal mode is set (that is a write). A WAL file whose `-shm` index is absent
        // and cannot be made in a read-only folder cannot be opened plainly; SQLite opens it
        // as immutable then, which is what a folder nobody can write is.
        let plain = common_pragmas(SqliteConnectOptions::new().filename(path).read_only(true));
        let (options, mut conn) = match Self::read_plainly(&plain).await {
            Some(conn) => (plain, conn),
            None => {
                let immutable = plain.immutable(true);
                let conn = immutable.connect().await?;
                (immutable, conn)
            }
        };
        migrate::check_read_only(&mut conn, reason).await?;
        let _ = conn.close().await;
        Ok(Database {
            read: Self::read_pool(options).await?,
            writer: None,
            read_only: Some(reason.into()),
        })
    }

    /// A connection that opened and could read the schema's version, else `None`
    /// (a WAL database without its `-shm` fails at one or the other).
    async fn read_plainly(options: &SqliteConnectOptions) -> Option<sqlx::SqliteConnection> {
        let mut conn = options.connect().await.ok()?;
        if migrate::current_version(&mut conn).await.is_ok() {
            Some(conn)
        } else {
            let _ = conn.close().await;
            None
        }
    }

    async fn open_with(options: SqliteConnectOptions) -> Result<Database> {
        let mut conn = connect_when_free(&options).await?;
        migrate::run(&mut conn).await?;
        Ok(Database {
            read: Self::read_pool(options).await?,
            writer: Some(Writer::spawn(conn)),
            read_only: None,
        })
    }

    async fn read_pool(options: SqliteConnectOptions) -> Result<SqlitePool> {
        Ok(SqlitePoolOptions::new()
            .max_connections(READERS)
            .min_connections(1)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    // Searches read the full-text indexes' vocabularies (query/matching.rs).
                    conn.execute(crate::query::VOCABULARIES).await?;
                    time_limit::arm(conn, Some(time_limit::limit(time_limit::Use::Read))).await
                })
            })
            // Each read takes a connection for its statement or short transaction: its
            // time starts when it takes one.
            .before_acquire(|conn, _| {
                Box::pin(async move {
                    time_limit::arm(conn, Some(time_limit::limit(time_limit::Use::Read))).await?;
                    Ok(true)
                })
            })
            .connect_with(options)
            .await?)
    }

    /// The read pool. Queries take a connection for one statement or one short
    /// transaction; nothing holds a read transaction open while idle (it would pin the WAL).
    pub fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Apply one change atomically through the writer.
    pub(crate) async fn write(&self, change: Change) -> Result<Outcome> {
        match &self.writer {
            Some(writer) => writer.submit(change).await,
            None => Err(Error::read_only(self.read_only.as_deref().unwrap_or_default())),
        }
    }

    /// Why the database was opened for reading only, if it was.
    pub fn read_only(&self) -> Option<&str> {
        self.read_only.as_deref()
    }

    /// The journal mode in effect (`wal` for a file).
    pub async fn journal_mode(&self) -> Result<String> {
        Ok(sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.read)
            .await?)
    }

    /// Close the read pool (the writer closes when the last handle is dropped).
    pub async fn close(self) {
        self.read.close().await;
    }
}

/// Ask a fresh connection whether the file passes SQLite's integrity check.
pub async fn integrity_check(pool: &SqlitePool) -> Result<Vec<String>> {
    let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_all(pool)
        .await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn a_read_only_database_reads_refuses_writes_and_refuses_to_need_an_upgrade() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.db");
        Database::open(&path).await.unwrap().close().await;
        let db = Database::open_read_only(&path, "the test says so").await.unwrap();
        assert_eq!(db.read_only(), Some("the test says so"));
        let audits: i64 = sqlx::query_scalar("SELECT count(*) FROM audits")
            .fetch_one(db.reader())
            .await
            .unwrap();
        assert_eq!(audits, 0);
        let e = db.write(Change::RepairCounters).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::ReadOnly);
        assert!(e.to_string().contains("the test says so"), "{e}");
        assert!(e.is_read_only());

        // A database this build would have to migrate cannot be, without writing.
        let old = tmp.path().join("old.db");
        let mut conn = connect_options(&old).connect().await.unwrap();
        sqlx::query("CREATE TABLE t (x)")
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let e = Database::open_read_only(&old, "the test says so")
            .await
            .err()
            .unwrap();
        assert_eq!(e.kind, ErrorKind::ReadOnly);
        assert!(
            e.to_string().contains("schema version 0") && e.to_string().contains("left untouched"),
            "{e}"
        );
        let tables: Vec<String> = sqlx::query_scalar("SELECT name FROM sqlite_master")
            .fetch_all(&mut connect_options(&old).connect().await.unwrap())
            .await
            .unwrap();
        assert_eq!(tables, ["t"], "nothing was added");
    }
}
