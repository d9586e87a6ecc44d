//! The storage acceptance contract: every test runs on its own temporary, file-based
//! database (WAL needs a file), removed when the test ends.

mod audits;
mod backend_compat;
mod common;
mod concurrency;
mod current_backend;
mod export;
mod facet_counts;
mod fingerprints;
mod ingest;
mod isolation;
mod links;
mod list;
mod maintenance;
mod persistence;
mod search;
mod triage;
