//! Cross-process acceptance tests: several `veritas-db` processes on one database file,
//! a writer killed with SIGKILL mid-transaction, persistence across processes, and the
//! command line as scripts use it; team mode (`push` into PostgreSQL and an S3 store).

mod cli;
mod common;
mod crash;
mod current_backend;
mod full_disk;
mod hostile_database;
mod multi_writer;
mod read_only;
mod soak;
mod team;
mod team_sidebar;
