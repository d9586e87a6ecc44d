//! Keeping a data directory healthy: `doctor` checks (and repairs what is safe), `backup`
//! copies it consistently while others keep writing.

use std::path::Path;
use std::time::Duration;

use crate::error::Result;
use crate::maintenance::{self, BackupReport, DoctorReport};
use crate::Store;

impl Store {
    /// Check the database and the screenshot directory (`veritas-db doctor`). With
    /// `repair`: rebuild a broken search index, fix screenshot counters, mark running audits
    /// idle for longer than `stale_after` as disconnected. Missing and orphan files are only
    /// reported.
    pub async fn doctor(&self, repair: bool, stale_after: Duration) -> Result<DoctorReport> {
        if repair {
            self.check_writable()?;
        }
        maintenance::doctor(self, repair, stale_after).await
    }

    /// Copy the database (a consistent snapshot, taken while other processes may write)
    /// and the screenshot files it refers to into `dest`, a new or empty folder
    /// (`veritas-db backup`).
    pub async fn backup(&self, dest: &Path) -> Result<BackupReport> {
        maintenance::backup(self, dest).await
    }
}
