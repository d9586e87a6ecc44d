//! The storage acceptance contract: every test runs on its own temporary, file-based
//! database (WAL needs a file), removed when the test ends.

mod backend_compat;
mod common;
mod concurrency;
mod ingest;
mod isolation;
mod persistence;
mod queries;
