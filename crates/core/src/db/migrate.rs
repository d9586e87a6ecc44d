//! Embedded, versioned, additive migrations.
//!
//! sqlx's migrator applies each migration in its own deferred transaction, which races when
//! several processes (the app, `veritas-db ingest`, the backend) open a fresh file at once.
//! Here all pending migrations run in one `BEGIN IMMEDIATE` transaction, so exactly one
//! process applies them and the others wait (busy_timeout), then see them applied.

use sqlx::{Connection, Executor, SqliteConnection};

use crate::error::{Error, ErrorKind, Result};

/// The migrations, in order. Each is additive to the Veritas schema (docs/DESIGN.md).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "veritas schema",
        include_str!("../../migrations/0001_veritas_schema.sql"),
    ),
    (2, "projects", include_str!("../../migrations/0002_projects.sql")),
    (
        3,
        "findings metadata",
        include_str!("../../migrations/0003_findings_metadata.sql"),
    ),
    (
        4,
        "full-text search",
        include_str!("../../migrations/0004_full_text_search.sql"),
    ),
    (
        5,
        "current backend",
        include_str!("../../migrations/0005_current_backend.sql"),
    ),
    (
        6,
        "audit facts",
        include_str!("../../migrations/0006_audit_facts.sql"),
    ),
    (
        7,
        "facet counts",
        include_str!("../../migrations/0007_facet_counts.sql"),
    ),
    (
        8,
        "facet totals and scores",
        include_str!("../../migrations/0008_facet_totals.sql"),
    ),
    (
        9,
        "prefix indexes for search",
        include_str!("../../migrations/0009_prefix_indexes.sql"),
    ),
    (
        10,
        "finding fingerprints and changes across audits",
        include_str!("../../migrations/0010_fingerprints.sql"),
    ),
    (11, "triage", include_str!("../../migrations/0011_triage.sql")),
    (
        12,
        "triaged-away findings out of the facets",
        include_str!("../../migrations/0012_hidden_facets.sql"),
    ),
];

/// The schema version this build writes.
pub const LATEST_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

const CREATE_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS veritas_viewer_migrations (
    version INTEGER NOT NULL PRIMARY KEY,
    description TEXT NOT NULL,
    applied_at DATETIME NOT NULL)";

/// The schema version recorded in the database (0 for a database the viewer never opened).
pub async fn current_version(conn: &mut SqliteConnection) -> Result<i64> {
    let has_table: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'veritas_viewer_migrations'",
    )
    .fetch_optional(&mut *conn)
    .await?;
    if has_table.is_none() {
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
            "the database has schema version {found}, newer than this program knows \
             (version {LATEST_VERSION}); it was written by a newer Veritas Viewer. \
             Upgrade Veritas Viewer to open it; the database was left untouched"
        ),
    )
}

/// Check that a database opened read-only (because `reason`) needs no migration: one this
/// build would have to upgrade cannot be upgraded without writing, and one from a newer
/// version is refused as always.
pub async fn check_read_only(conn: &mut SqliteConnection, reason: &str) -> Result<()> {
    let found = current_version(conn).await?;
    if found > LATEST_VERSION {
        return Err(refuse_newer(found));
    }
    if found < LATEST_VERSION {
        return Err(Error::new(
            ErrorKind::ReadOnly,
            format!(
                "the database has schema version {found} and this program needs version \
                 {LATEST_VERSION}, an upgrade it cannot make because {reason}. Open it once \
                 where it can be written (or make it writable); it was left untouched"
            ),
        ));
    }
    Ok(())
}

/// Bring the schema up to date, or refuse a database from a newer version untouched.
pub async fn run(conn: &mut SqliteConnection) -> Result<()> {
    let found = current_version(conn).await?;
    if found > LATEST_VERSION {
        return Err(refuse_newer(found));
    }
    if found == LATEST_VERSION {
        return Ok(());
    }
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    // Another process may have migrated while this one waited for the write lock.
    let found = current_version(&mut tx).await?;
    if found > LATEST_VERSION {
        return Err(refuse_newer(found));
    }
    sqlx::query(CREATE_VERSION_TABLE).execute(&mut *tx).await?;
    for &(version, description, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
        // A &str runs as a script of several statements (sqlx's own migrator does this;
        // `raw_sql(..).execute` trips a lifetime bug inside spawned tasks, sqlx#3150).
        (&mut *tx)
            .execute(sql)
            .await
            .map_err(|e| Error::from(e).context(format!("migration {version} ({description})")))?;
        sqlx::query(
            "INSERT INTO veritas_viewer_migrations (version, description, applied_at) VALUES (?1, ?2, ?3)",
        )
        .bind(version)
        .bind(description)
        .bind(crate::time::now_text())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
