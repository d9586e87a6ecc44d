//! Live updates: noticing commits by any process (another `veritas-db`, the backend, this
//! process's own writer) so the app can refresh what it shows.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::error::Result;
use crate::Store;

impl Store {
    /// Call `on_change` (from a background task) after any commit to the database, checking
    /// every `every` (the app's `veritas://changed` event). The task runs until the
    /// returned handle is aborted.
    pub async fn watch_changes<F>(&self, every: Duration, on_change: F) -> Result<JoinHandle<()>>
    where
        F: Fn() + Send + 'static,
    {
        crate::watch::watch_changes(self, every, on_change).await
    }
}
