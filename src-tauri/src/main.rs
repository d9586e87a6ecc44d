//! `veritas-viewer [--data-dir DIR] [--ephemeral]`: the desktop app.

// No console window on Windows release builds.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Veritas Viewer: browse, search, compare and review website audits.
#[derive(Debug, Parser)]
#[command(name = "veritas-viewer", version, about)]
struct Args {
    /// The data directory (holds veritas_audits.db and screenshots/), e.g. a Veritas
    /// backend's data/ folder. Default: the platform's data directory.
    #[arg(long, env = "VERITAS_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Use an in-memory database and a temporary screenshot folder: nothing is kept. Also
    /// on when USE_DB_PERSISTENCE is set to anything but "true" (the Veritas backend's flag).
    #[arg(long)]
    ephemeral: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match veritas_viewer::run(args.data_dir, args.ephemeral) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veritas-viewer: error: {e}");
            ExitCode::from(2)
        }
    }
}
