//! Demo data: realistic sample audits with real screenshots, for a first look at the app.

use crate::demo::{self, DemoReport};
use crate::error::Result;
use crate::ids::ProjectName;
use crate::Store;

impl Store {
    /// Load `count` (1 to 10,000) demo audits into `project` (`load_demo`; `veritas-db
    /// demo`). `progress(done, total)` is called as it goes.
    pub async fn load_demo(
        &self,
        project: &ProjectName,
        count: usize,
        progress: &mut (dyn FnMut(usize, usize) + Send),
    ) -> Result<DemoReport> {
        self.check_writable()?;
        demo::load_demo(self, project, count, progress).await
    }
}
