//! A time limit on every statement the core runs, so that a database written by another
//! program cannot hang a read or hold the write lock for ever: a view or a trigger planted
//! in the file (an endless recursive `WITH`) runs inside our statements. SQLite calls a
//! progress handler every few thousand virtual-machine steps; ours ends the statement once
//! its deadline has passed, and SQLite answers SQLITE_INTERRUPT, which [`crate::Error`]
//! names as a time limit.
//!
//! The deadline is set when a reader is taken from the pool (a read takes one for a
//! statement or a short transaction) and when the writer begins a batch.

use std::time::{Duration, Instant};

use sqlx::SqliteConnection;

/// How long one read may run. Long enough for an exact count of every facet over a search
/// that matches half of a million-audit database (about 50 s measured, BENCHMARKS.md).
pub const READ_TIME_LIMIT: Duration = Duration::from_secs(120);

/// How long one write batch may run. Ours take well under a second (the largest event, at
/// the findings limit, about 0.4 s); a minute is the busy timeout other processes wait.
pub const WRITE_TIME_LIMIT: Duration = Duration::from_secs(60);

/// Overrides both limits, in seconds (a fraction is allowed): for a slow disk, and for tests
/// that should not wait two minutes for a planted view to be stopped.
pub const TIME_LIMIT_VARIABLE: &str = "VERITAS_QUERY_TIME_LIMIT";

/// Virtual-machine steps between two looks at the clock: a few microseconds of work, so a
/// statement past its deadline stops within a millisecond, and the clock costs nothing.
const STEPS_BETWEEN_CHECKS: i32 = 10_000;

/// Which of the two limits applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Read,
    Write,
}

/// The limit in force for `use_`: the environment's override, else the default.
pub fn limit(use_: Use) -> Duration {
    override_from(std::env::var(TIME_LIMIT_VARIABLE).ok().as_deref()).unwrap_or(match use_ {
        Use::Read => READ_TIME_LIMIT,
        Use::Write => WRITE_TIME_LIMIT,
    })
}

/// A positive, finite number of seconds; anything else is no override (and the default
/// stands: a typo must not lift the limit).
fn override_from(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs.min(1e9)))
}

/// Let statements on `conn` run until `limit` from now (`None`: without a limit, for the
/// maintenance that rebuilds whole tables).
pub async fn arm(conn: &mut SqliteConnection, limit: Option<Duration>) -> sqlx::Result<()> {
    let mut handle = conn.lock_handle().await?;
    match limit {
        Some(limit) => {
            let deadline = Instant::now() + limit;
            handle.set_progress_handler(STEPS_BETWEEN_CHECKS, move || Instant::now() < deadline);
        }
        // A count below one turns SQLite's progress handler off.
        None => handle.set_progress_handler(0, || true),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::ConnectOptions;

    #[test]
    fn only_a_positive_number_of_seconds_overrides_the_limit() {
        assert_eq!(override_from(Some("0.5")), Some(Duration::from_millis(500)));
        assert_eq!(override_from(Some(" 3 ")), Some(Duration::from_secs(3)));
        for bad in ["", "0", "-1", "NaN", "inf", "ten"] {
            assert_eq!(override_from(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(override_from(None), None);
    }

    #[tokio::test]
    async fn an_endless_statement_is_stopped_at_its_deadline_and_named() {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new().connect().await.unwrap();
        arm(&mut conn, Some(Duration::from_millis(200))).await.unwrap();
        let started = Instant::now();
        let endless = "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n) \
                       SELECT count(*) FROM n";
        let err = crate::Error::from(
            sqlx::query_scalar::<_, i64>(endless)
                .fetch_one(&mut conn)
                .await
                .unwrap_err(),
        );
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{:?}",
            started.elapsed()
        );
        assert!(err.to_string().contains("time limit"), "{err}");
        // The connection is usable afterwards, and without a limit a statement runs on.
        arm(&mut conn, None).await.unwrap();
        let n: i64 = sqlx::query_scalar("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 100000) SELECT count(*) FROM n")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 100_000);
    }
}
