//! `veritas-viewer [--data-dir DIR] [--ephemeral] [--database URL --objects URL | --profile NAME]`:
//! the desktop app. Without any of these it opens what was chosen last in the app (see
//! `veritas_core::storage`), else the default data folder.

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

    /// Open a team's database instead of a data directory (team mode):
    /// postgres://user[:password]@host/database.
    #[arg(long, env = "VERITAS_DATABASE_URL", value_name = "URL", requires = "objects")]
    database: Option<String>,

    /// With --database: the team's screenshot store, s3://bucket/prefix (endpoint and
    /// credentials from the usual AWS_* variables) or file:///folder.
    #[arg(long, env = "VERITAS_OBJECTS_URL", value_name = "URL")]
    objects: Option<String>,

    /// A team profile by name instead of --database and --objects: from
    /// ~/.config/veritas-viewer/profiles.json (or the file VERITAS_PROFILES names).
    #[arg(long, env = "VERITAS_PROFILE", value_name = "NAME", conflicts_with_all = ["database", "objects"])]
    profile: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let options = veritas_core::storage::StartOptions {
        data_dir: args.data_dir,
        ephemeral: args.ephemeral,
        profile: args.profile,
        team_urls: args.database.zip(args.objects),
    };
    match veritas_viewer::run(options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("veritas-viewer: error: {e}");
            ExitCode::from(2)
        }
    }
}
