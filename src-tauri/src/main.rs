//! `veritas-viewer [--data-dir DIR]`: the desktop app.

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
}

fn main() -> ExitCode {
    let args = Args::parse();
    match veritas_viewer::run(args.data_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veritas-viewer: error: {e}");
            ExitCode::from(2)
        }
    }
}
