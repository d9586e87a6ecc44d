//! The Veritas Viewer core: the audit database and the screenshot directory of a data
//! directory, and everything done with them (queries, ingest of the Veritas event stream,
//! demo data, health checks, backups, exports). It knows nothing of Tauri; the app and the
//! `veritas-db` command-line tool are thin layers over [`Store`].
//!
//! Start reading at [`api`]: every capability is a method of [`Store`] there, one file per
//! area, named as the Tauri command that calls it. The private modules below hold how;
//! what callers need of them is re-exported here.
//!
//! ```no_run
//! # async fn demo() -> veritas_core::Result<()> {
//! use veritas_core::{ListRequest, ProjectName, Store};
//! let store = Store::open(std::path::Path::new("data")).await?;
//! // Names from outside are checked once, into their own types.
//! let project = ProjectName::parse("default")?;
//! let page = store.list_audits(&project, &ListRequest::default()).await?;
//! for audit in page.audits {
//!     println!("{} {} {:?}", audit.id, audit.url, audit.trust_score);
//! }
//! # Ok(()) }
//! ```

pub mod api;
mod backend;
pub mod db;
mod demo;
mod embedding;
mod error;
mod export;
#[cfg(test)]
mod fuzzing;
pub mod ids;
mod ingest;
mod intel;
mod location;
mod maintenance;
mod model;
mod paths;
mod query;
mod runs;
mod screenshots;
mod search;
pub mod storage;
mod store;
pub mod team;
mod temp_files;
pub mod time;
mod timeline;
pub mod triage;
pub mod vocabulary;
mod watch;
mod write;

pub use api::export::EXPORTS_DIR;
pub use api::triage::TriageRequest;
pub use backend::Backend;
pub use db::Database;
pub use demo::DemoReport;
pub use embedding::{decode_embedding, encode_embedding};
pub use error::{Error, ErrorKind, Result};
pub use export::{markdown_to_safe_html, ExportFormat};
pub use ids::{quote_prefix, AuditId, ProjectName};
pub use ingest::{
    parse_line, EventIdentity, IngestNotice, IngestOptions, IngestReport, ParsedLine, Pending, Rejection,
    MAX_FINDINGS_PER_EVENT, MAX_LINE_BYTES,
};
pub use intel::{
    event_facts, mitre_technique_url, Captcha, Cvss, DarknetThreat, DomainInfo, Exploration, Fact, FormFound,
    GraphEdge, GraphNode, Indicator, Intelligence, KnowledgeGraph, MitreTechnique, ModuleFinding,
    OsintSource, PageVisit, SecurityModule, Verdict, Weakness,
};
pub use location::{default_data_dir, EphemeralReason, Location, DATA_DIR_ENV, PERSISTENCE_ENV};
pub use maintenance::{BackupReport, CounterMismatch, DoctorReport, FacetMismatch, MissingFile};
pub use model::*;
pub use query::{
    facets_with, AuditChanges, AuditFilter, AuditPage, AuditRowPage, Change as FindingChangeKind, Comparison,
    Direction, FacetCount, FacetOptions, Facets, FindingChange, FindingChanges, FingerprintDiff, ListRequest,
    PatternCount, SimilarFinding, SortKey,
};
pub use screenshots::{diff_images, DiffSummary, CHANGE_THRESHOLD};
pub use screenshots::{inspect as inspect_image, make_thumbnail, ImageInfo, ImageKind, ScreenshotDir};
pub use search::fts_query;
pub use store::{Store, CURRENT_BACKEND_DB_FILE, DB_FILE, SCREENSHOTS_DIR};
pub use timeline::{LogEntry, Phase, PhaseStatus, Timeline};
pub use triage::{AuditTriage, FindingTriage, TriageDecision, TriageExport, TriageImport, TriageVerdict};

/// Run blocking work (file reads, image decoding) off the async threads.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::caused(ErrorKind::Internal, "a background task failed", e))
}
