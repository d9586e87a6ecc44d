//! The core's public surface: every capability of the app and of `veritas-db`, as a method
//! of [`Store`], one file per area. Each method is named as the Tauri command that calls
//! it; the `veritas-db` subcommand is named beside it. Read these files top to bottom to
//! know what the core can do; the modules they call hold how.
//!
//! | area | file | Tauri command | `veritas-db` |
//! | --- | --- | --- | --- |
//! | the audits | [`audits`] | `projects`, `list_audits`, `audit_facets`, `get_audit`, `audit_history`, `compare_audits`, `audit_changes`, `delete_audit` | `projects`, `list`, `show`, `history`, `compare`, `changes`, `similar`, `delete` |
//! | screenshots | [`screenshots`] | the `shot:` scheme, `screenshot_diff` | (in `show` and `export`) |
//! | exports | [`export`] | `export_audit` | `export` |
//! | ingest | [`ingest`] | | `ingest` |
//! | triage | [`triage`] | `triage_finding`, `audit_triage`, `triage_history` | `triage`, `triage --history`, `triage export`, `triage import` |
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
pub mod triage;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// The request in progress per caller, where a newer request makes the older one moot (the
/// sidebar's facets while a person types): beginning one stops the caller's previous one.
#[derive(Clone, Default)]
pub struct Superseding {
    current: Arc<Mutex<HashMap<String, Arc<AtomicBool>>>>,
}

/// Forgets a finished request (unless a newer one took its place).
pub struct Finished {
    superseding: Superseding,
    caller: String,
    flag: Arc<AtomicBool>,
}

impl Superseding {
    /// A cancel flag for `caller`'s new request; the previous one's flag is set.
    pub fn begin(&self, caller: &str) -> (Arc<AtomicBool>, Finished) {
        let flag = Arc::new(AtomicBool::new(false));
        let mut current = self.current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(old) = current.insert(caller.to_string(), flag.clone()) {
            old.store(true, Ordering::Relaxed);
        }
        let finished = Finished {
            superseding: self.clone(),
            caller: caller.to_string(),
            flag: flag.clone(),
        };
        (flag, finished)
    }
}

impl Drop for Finished {
    fn drop(&mut self) {
        let mut current = self.superseding.current.lock().unwrap_or_else(|p| p.into_inner());
        if current
            .get(&self.caller)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flag))
        {
            current.remove(&self.caller);
        }
    }
}
