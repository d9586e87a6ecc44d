//! The Veritas Viewer core: the audit database and the screenshot directory of a data
//! directory, and everything done with them (queries, ingest of the Veritas event stream,
//! demo data, health checks, backups, exports). It knows nothing of Tauri; the app and the
//! `veritas-db` command-line tool are thin layers over [`Store`].
//!
//! ```no_run
//! # async fn demo() -> veritas_core::Result<()> {
//! use veritas_core::{ListRequest, Store};
//! let store = Store::open(std::path::Path::new("data")).await?;
//! let page = store.list("default", &ListRequest::default()).await?;
//! for audit in page.audits {
//!     println!("{} {} {:?}", audit.id, audit.url, audit.trust_score);
//! }
//! # Ok(()) }
//! ```

mod changes;
pub mod db;
pub mod demo;
mod error;
pub mod export;
pub mod ids;
pub mod ingest;
pub mod maintenance;
mod model;
mod query;
pub mod screenshots;
mod search;
mod store;
pub mod time;
mod watch;

pub use changes::{decode_embedding, encode_embedding};
pub use db::Database;
pub use error::{Error, ErrorKind, Result};
pub use model::*;
pub use query::{
    AuditFilter, AuditPage, AuditRowPage, Comparison, Direction, FacetCount, Facets, FindingChanges,
    ListRequest, PatternCount, SimilarFinding, SortKey,
};
pub use search::fts_query;
pub use store::{default_data_dir, Store, DB_FILE, SCREENSHOTS_DIR};
