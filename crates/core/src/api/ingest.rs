//! Ingest: the Veritas event stream (NDJSON) into a project, each event atomically.

use tokio::io::AsyncBufRead;

use crate::error::Result;
use crate::ids::ProjectName;
use crate::ingest::{self, IngestNotice, IngestOptions, IngestReport};
use crate::Store;

impl Store {
    /// Ingest an event stream from `reader` into `project` (`veritas-db ingest`). Returns an
    /// error only when the input cannot be read at all; bad lines are counted, and told to
    /// `notify` with their line number and reason.
    pub async fn ingest<R: AsyncBufRead + Unpin>(
        &self,
        project: &ProjectName,
        options: &IngestOptions,
        reader: R,
        notify: &mut (dyn FnMut(IngestNotice<'_>) + Send),
    ) -> Result<IngestReport> {
        // One error for the whole stream, not one "bad line" per line.
        self.check_writable()?;
        ingest::ingest(ingest::Target::Folder(self), project, options, reader, notify).await
    }
}

impl crate::team::TeamStore {
    /// Ingest an event stream from `reader` into `project` of the team database, each event
    /// one transaction, screenshots into the object store before their rows (see
    /// [`Store::ingest`]: the same stream forms, checks and report).
    pub async fn ingest<R: AsyncBufRead + Unpin>(
        &self,
        project: &ProjectName,
        options: &IngestOptions,
        reader: R,
        notify: &mut (dyn FnMut(IngestNotice<'_>) + Send),
    ) -> Result<IngestReport> {
        ingest::ingest(ingest::Target::Team(self), project, options, reader, notify).await
    }
}
