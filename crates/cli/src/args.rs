//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use veritas_core::{AuditId, ProjectName};

/// The Veritas audit database from the command line: ingest event streams, browse, compare,
/// export, check and back up audits. Shares the database with the Veritas Viewer app and the
/// Veritas backend; all may run at once.
#[derive(Debug, Parser)]
#[command(name = "veritas-db", version, about, max_term_width = 100)]
pub struct Cli {
    /// The data directory (holds veritas_audits.db and screenshots/). Default: the
    /// platform's data directory, e.g. ~/.local/share/veritas-viewer.
    #[arg(long, global = true, env = "VERITAS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// The project to work in; every command sees only this project's audits.
    #[arg(long, global = true, default_value = "default", value_name = "NAME")]
    pub project: ProjectName,

    /// Use an in-memory database and a temporary screenshot folder: nothing is written to
    /// the data directory. Also on when USE_DB_PERSISTENCE is set to anything but "true"
    /// (the Veritas backend's own flag).
    #[arg(long, global = true)]
    pub ephemeral: bool,

    /// Work on a team database instead of the data directory: postgres://user@host/database
    /// (team mode: `ingest`, `projects`, `list`, `show`, `history`, `compare`, `delete`, `triage` and `doctor` so far). `push` always reads the
    /// data directory (this is where it pushes to, as --to).
    #[arg(
        long,
        global = true,
        env = "VERITAS_DATABASE_URL",
        value_name = "URL",
        requires = "objects"
    )]
    pub database: Option<String>,

    /// With --database: the team's screenshot store, s3://bucket/prefix or file:///folder
    /// (default: VERITAS_OBJECTS_URL).
    #[arg(long, global = true, value_name = "URL", env = "VERITAS_OBJECTS_URL")]
    pub objects: Option<String>,

    /// A team profile by name, instead of --database and --objects: from
    /// ~/.config/veritas-viewer/profiles.json (or the file VERITAS_PROFILES names).
    #[arg(
        long,
        global = true,
        env = "VERITAS_PROFILE",
        value_name = "NAME",
        conflicts_with_all = ["database", "objects"]
    )]
    pub profile: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create (or upgrade) the database and the screenshot folder.
    Init,
    /// Read a Veritas event stream (NDJSON, one event a line) from FILE, or - for stdin.
    Ingest(IngestArgs),
    /// List audits, newest first.
    List(Box<ListArgs>),
    /// Show one audit with its findings, screenshots and events.
    Show {
        id: AuditId,
        #[arg(long)]
        json: bool,
    },
    /// The audits of one URL, oldest first.
    History {
        url: String,
        #[arg(long)]
        json: bool,
    },
    /// Compare audit OTHER with audit BASE (deltas are OTHER - BASE).
    Compare {
        base: AuditId,
        other: AuditId,
        #[arg(long)]
        json: bool,
    },
    /// An audit's findings against the previous audit of its site: new, persisting or
    /// regressed, and the previous audit's findings that are fixed.
    Changes {
        id: AuditId,
        #[arg(long)]
        json: bool,
    },
    /// Findings similar to FINDING_ID, by embedding (same model and version).
    Similar {
        finding_id: i64,
        #[arg(long, default_value_t = 10)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// The projects in the database, with their audit counts.
    Projects {
        #[arg(long)]
        json: bool,
    },
    /// Delete an audit with its findings, screenshots (files too) and events.
    Delete { id: AuditId },
    /// Export one audit.
    Export {
        id: AuditId,
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Write to this file instead of standard output.
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Keep the findings triaged as false positives or accepted risks (left out, and
        /// counted in the export, by default).
        #[arg(long)]
        include_hidden: bool,
    },
    /// Triage a finding: a verdict and a note on its problem, carried to every audit of
    /// its site; or its history; or exchange decisions with another analyst.
    Triage(TriageArgs),
    /// Check the database and the screenshot folder: integrity, search index, missing and
    /// orphan files, counters that disagree, running audits whose producer is gone.
    Doctor {
        /// Fix what can be fixed safely (files are never deleted).
        #[arg(long)]
        repair: bool,
        /// A running audit not updated for this many minutes counts as abandoned.
        #[arg(long, default_value_t = 30, value_name = "MINUTES")]
        stale_after: u64,
        #[arg(long)]
        json: bool,
    },
    /// Copy the database and its screenshots to DEST (a new or empty folder), consistently,
    /// while other processes keep writing. On a team database: every project into DEST as a
    /// data folder, which `push --all-projects` restores.
    Backup { dest: PathBuf },
    /// Copy the project (its audits, findings, events, screenshots and triage) into a team
    /// database, and its screenshots into the team's store (--objects: s3://bucket/prefix,
    /// endpoint and credentials from the usual AWS_* variables, or file:///folder); pushing
    /// again changes nothing.
    Push {
        /// Every project of the data folder, not only --project.
        #[arg(long)]
        all_projects: bool,
        /// The team database: postgres://user[:password]@host[:port]/database (default:
        /// --database, or VERITAS_DATABASE_URL).
        #[arg(long = "to", value_name = "URL")]
        to: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Copy the project (its audits, findings, events, screenshots and triage) of a team
    /// database into this data folder, for work offline; pulling again changes nothing, and
    /// an audit that changed on the team since replaces the folder's copy.
    Pull {
        /// Every project of the team database, not only --project.
        #[arg(long)]
        all_projects: bool,
        /// The team database: postgres://user[:password]@host[:port]/database (default:
        /// --database, or VERITAS_DATABASE_URL).
        #[arg(long = "from", value_name = "URL")]
        from: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Load realistic sample audits with real screenshots.
    Demo {
        #[arg(long, default_value_t = 16)]
        audits: usize,
    },
}

impl Command {
    /// The subcommand's name, as typed.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Init => "init",
            Command::Ingest(_) => "ingest",
            Command::List(_) => "list",
            Command::Show { .. } => "show",
            Command::History { .. } => "history",
            Command::Compare { .. } => "compare",
            Command::Changes { .. } => "changes",
            Command::Similar { .. } => "similar",
            Command::Projects { .. } => "projects",
            Command::Delete { .. } => "delete",
            Command::Export { .. } => "export",
            Command::Triage(_) => "triage",
            Command::Doctor { .. } => "doctor",
            Command::Backup { .. } => "backup",
            Command::Push { .. } => "push",
            Command::Pull { .. } => "pull",
            Command::Demo { .. } => "demo",
        }
    }
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The event stream: a file, or - for standard input.
    pub input: String,
    /// For a recording of one audit without an audit_start line: its id.
    #[arg(long, requires = "url")]
    pub audit_id: Option<AuditId>,
    /// For a recording of one audit without an audit_start line: its URL.
    #[arg(long)]
    pub url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only audits with this status (repeatable).
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<String>,
    /// Only audits with this risk level (repeatable).
    #[arg(long = "risk", value_name = "LEVEL")]
    pub risk: Vec<String>,
    /// Only audits of this tier (repeatable).
    #[arg(long = "tier", value_name = "TIER")]
    pub tier: Vec<String>,
    /// Only audits of this site type (repeatable).
    #[arg(long, value_name = "TYPE")]
    pub site_type: Vec<String>,
    /// Only audits with a finding of this severity (repeatable).
    #[arg(long, value_name = "SEVERITY")]
    pub severity: Vec<String>,
    #[arg(long, value_name = "SCORE")]
    pub min_score: Option<f64>,
    #[arg(long, value_name = "SCORE")]
    pub max_score: Option<f64>,
    /// Created on or after this date or time.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Created before this time, or on or before this date.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Full-text search over URL, narrative and findings (plain words; "quoted phrases").
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// Only audits whose URL contains this text.
    #[arg(long, value_name = "TEXT")]
    pub url_contains: Option<String>,
    /// Only audits that mapped this MITRE ATT&CK technique, e.g. T1566 (repeatable).
    #[arg(long, value_name = "TECHNIQUE")]
    pub mitre: Vec<String>,
    /// Only audits that name this weakness, e.g. CWE-79 or 79 (repeatable).
    #[arg(long, value_name = "CWE")]
    pub cwe: Vec<String>,
    /// Only audits with a finding nobody has triaged.
    #[arg(long)]
    pub untriaged: bool,
    /// Count and filter severities and patterns with the findings triaged away too (false
    /// positives and accepted risks, left out by default).
    #[arg(long)]
    pub include_hidden: bool,
    /// Only audits with (yes) or without (no) green flags.
    #[arg(long, value_name = "YES|NO", value_parser = clap::builder::BoolishValueParser::new())]
    pub green_flags: Option<bool>,
    /// Only audits with a finding new on their site (new) or back after an absence
    /// (regressed), against the site's earlier audits (repeatable).
    #[arg(long, value_name = "new|regressed")]
    pub changes: Vec<String>,
    #[arg(long, value_enum, default_value_t = SortArg::Created)]
    pub sort: SortArg,
    /// Ascending order (default: descending).
    #[arg(long)]
    pub asc: bool,
    #[arg(long, default_value_t = 50)]
    pub limit: u32,
    /// Continue after this cursor (printed at the end of the previous page).
    #[arg(long, value_name = "CURSOR")]
    pub after: Option<String>,
    /// Also print facet counts (human output only).
    #[arg(long)]
    pub facets: bool,
    /// Every audit that matches, page after page of --limit (no cap; memory stays that of
    /// one page).
    #[arg(long)]
    pub all: bool,
    /// A JSON array of the audits.
    #[arg(long, conflicts_with = "json_lines")]
    pub json: bool,
    /// One JSON object per audit per line, then (when more audits follow the page) a last
    /// line `{"next_cursor": "..."}` for `--after`.
    #[arg(long)]
    pub json_lines: bool,
}

/// `veritas-db triage`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TriageArgs {
    #[command(subcommand)]
    pub exchange: Option<TriageExchange>,
    /// The finding (its id, as `show` prints it).
    #[arg(value_name = "FINDING_ID")]
    pub finding_id: Option<i64>,
    /// confirmed, false_positive, accepted_risk or needs_review.
    #[arg(long, value_name = "VERDICT")]
    pub verdict: Option<String>,
    /// Why.
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub note: String,
    /// Who decides (default: the OS user).
    #[arg(long, value_name = "NAME")]
    pub author: Option<String>,
    /// For this finding's audit alone, overriding the site's verdict there.
    #[arg(long)]
    pub this_audit_only: bool,
    /// Print every decision about the finding's problem on its site, newest first.
    #[arg(long, conflicts_with = "verdict")]
    pub history: bool,
    #[arg(long)]
    pub json: bool,
}

/// Exchanging triage decisions between analysts.
#[derive(Debug, Subcommand)]
pub enum TriageExchange {
    /// Write every decision of the project as JSON to FILE (- for standard output).
    Export { file: PathBuf },
    /// Merge the decisions of FILE (another analyst's export) by site and fingerprint;
    /// disagreements are kept as conflicts and listed.
    Import {
        file: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    Created,
    Score,
    Url,
    Status,
    Risk,
    Tier,
    SiteType,
    Findings,
    Screenshots,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// The whole audit.
    Json,
    /// Its findings, one row each.
    Csv,
    /// A self-contained report with its screenshots.
    Html,
}
