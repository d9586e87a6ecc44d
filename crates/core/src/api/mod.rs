//! The core's public surface: every capability of the app and of `veritas-db`, as a method
//! of [`Store`], one file per area. Each method is named as the Tauri command that calls
//! it; the `veritas-db` subcommand is named beside it. Read these files top to bottom to
//! know what the core can do; the modules they call hold how.
//!
//! | area | file | Tauri command | `veritas-db` |
//! | --- | --- | --- | --- |
//! | the audits | [`audits`] | `projects`, `list_audits`, `audit_facets`, `get_audit`, `audit_history`, `compare_audits`, `delete_audit` | `projects`, `list`, `show`, `history`, `compare`, `similar`, `delete` |
//! | screenshots | [`screenshots`] | the `shot:` scheme | (in `show` and `export`) |
//! | exports | [`export`] | `export_audit` | `export` |
//! | ingest | [`ingest`] | | `ingest` |
//! | upkeep | [`maintenance`] | | `doctor`, `backup` |
//! | demo data | [`demo`] | `load_demo` | `demo` |
//! | live updates | [`live`] | (the `veritas://changed` event) | |
//!
//! [`Store`]: crate::Store

pub mod audits;
pub mod demo;
pub mod export;
pub mod ingest;
pub mod live;
pub mod maintenance;
pub mod screenshots;
