//! Noticing writes made by anyone (another process, the backend, this process's writer)
//! cheaply: `PRAGMA data_version` on one dedicated connection changes whenever another
//! connection commits. No table is scanned.

use std::time::Duration;

use sqlx::ConnectOptions;
use tokio::task::JoinHandle;

use crate::error::{Error, ErrorKind, Result};
use crate::Store;

/// See [`Store::watch_changes`].
pub(crate) async fn watch_changes<F>(store: &Store, every: Duration, on_change: F) -> Result<JoinHandle<()>>
where
    F: Fn() + Send + 'static,
{
    if store.is_ephemeral() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "an in-memory database has no other writers to watch",
        ));
    }
    // A dedicated connection: data_version is per connection, and must be asked of the
    // same one each time. It runs no transaction between polls, so it pins nothing.
    let file = store.database_file().ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            "an in-memory database has no file to watch",
        )
    })?;
    let mut conn = crate::db::connect_options(&file).connect().await?;
    let mut last: i64 = sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(&mut conn)
        .await?;
    Ok(tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match sqlx::query_scalar::<_, i64>("PRAGMA data_version")
                .fetch_one(&mut conn)
                .await
            {
                Ok(v) if v != last => {
                    last = v;
                    on_change();
                }
                Ok(_) => {}
                // A transient error (the file briefly locked for a checkpoint): try again.
                Err(_) => continue,
            }
        }
    }))
}
