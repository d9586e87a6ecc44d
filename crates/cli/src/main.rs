//! `veritas-db`: the Veritas audit database from the command line. A thin layer over
//! `veritas_core::Store`; see `veritas-db --help`.
//!
//! Exit status: 0 success, 1 an ingest rejected some lines, 2 any other error.

mod args;
mod commands;
mod output;

use std::process::ExitCode;

use clap::Parser;

/// How a run ended, short of an error.
pub enum Finish {
    Success,
    /// Ingest stored what it could but rejected some lines.
    Rejected,
}

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("veritas-db: error: cannot start: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(Finish::Success) => ExitCode::SUCCESS,
        Ok(Finish::Rejected) => ExitCode::from(1),
        // Output piped into `head` that closed early is not a failure.
        Err(e) if output::is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veritas-db: error: {}", output::field(&e.to_string()));
            ExitCode::from(2)
        }
    }
}
