//! Live updates from a team database: PostgreSQL's LISTEN/NOTIFY (the triggers of team
//! migration 1 notify `veritas_changed` at each commit that touches the audits or triage),
//! instead of polling as a local database is.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::task::JoinHandle;

use super::TeamStore;
use crate::error::Result;

/// The channel the team database's triggers notify.
pub const CHANNEL: &str = "veritas_changed";

/// Notifications arriving within this long of each other are reported once: a push of
/// many audits is one refresh, not hundreds.
const SETTLE: Duration = Duration::from_millis(150);

impl TeamStore {
    /// Call `on_change` (from a background task) after any commit by anyone to the team's
    /// audits or triage. The listener reconnects by itself if the connection drops (and
    /// reports a change then, since some may have been missed). Runs until the handle is
    /// aborted.
    pub async fn watch_changes<F>(&self, on_change: F) -> Result<JoinHandle<()>>
    where
        F: Fn() + Send + 'static,
    {
        let mut listener = PgListener::connect_with(self.database().pool()).await?;
        listener.listen(CHANNEL).await?;
        Ok(tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    // A notification: let the rest of a burst arrive, then report once.
                    Ok(Some(_)) => {
                        while let Ok(Ok(Some(_))) = tokio::time::timeout(SETTLE, listener.try_recv()).await {}
                        on_change();
                    }
                    // The connection was lost and is being remade: what happened meanwhile
                    // is unknown, so report a change.
                    Ok(None) => on_change(),
                    Err(_) => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
        }))
    }
}
