//! Each subcommand: parse the arguments into a core call, print the result.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::io::{AsyncBufRead, BufReader};
use veritas_core::team::TeamStore;
use veritas_core::{
    AuditFilter, AuditStatus, Backend, Direction, EphemeralReason, Error, IngestNotice, IngestOptions,
    ListRequest, Location, ProjectName, Result, SortKey, Store,
};

use crate::args::{Cli, Command, ExportFormat, IngestArgs, ListArgs, SortArg, TriageArgs, TriageExchange};
use crate::output::{self, print};
use crate::Finish;

async fn open(cli: &Cli) -> Result<Store> {
    let location = Location::choose(cli.data_dir.clone(), cli.ephemeral)?;
    if let Location::Ephemeral(why) = &location {
        let because = match why {
            EphemeralReason::Asked => "--ephemeral",
            EphemeralReason::PersistenceOff => "USE_DB_PERSISTENCE is not true",
        };
        eprintln!(
            "veritas-db: ephemeral mode ({because}): using an in-memory database; \
             nothing is written to the data directory"
        );
    }
    let store = Store::open_at(&location).await?;
    if let Some(notice) = store.database_notice() {
        eprintln!("veritas-db: {}", output::field(notice));
    }
    if let Some(reason) = store.read_only() {
        eprintln!(
            "veritas-db: opened read-only because {}: reading works, writing is refused",
            output::field(reason)
        );
    }
    Ok(store)
}

pub async fn run(mut cli: Cli) -> Result<Finish> {
    // A named profile stands for the two URLs.
    if let Some(name) = &cli.profile {
        let profile = veritas_core::team::profiles::resolve(name)?;
        cli.database = Some(profile.database);
        cli.objects = Some(profile.objects);
    }
    // push reads the data directory whatever --database says: that is where it pushes.
    let team = match &cli.command {
        Command::Push { .. } | Command::Pull { .. } => None,
        _ => cli.database.as_ref(),
    };
    let backend = match (team, &cli.objects) {
        (Some(database), Some(objects)) => Backend::Team(TeamStore::open(database, objects).await?),
        (Some(_), None) => {
            return Err(Error::invalid(
                "--database",
                "needs --objects (or VERITAS_OBJECTS_URL) as well",
            ))
        }
        (None, _) => Backend::Local(open(&cli).await?),
    };
    let project = &cli.project;
    // What both engines do; the rest needs a local data folder for now.
    match cli.command {
        Command::List(args) => list(&backend, project, *args).await?,
        Command::Show { id, json } => {
            let detail = backend.get_audit(project, &id).await?;
            if json {
                output::json(&detail)?;
            } else {
                print(&output::audit_detail(&detail))?;
            }
        }
        Command::Triage(args) => triage(&backend, project, args).await?,
        Command::Ingest(args) => return ingest(&backend, project, args).await,
        Command::Doctor { repair, json, .. } if backend.team().is_some() => {
            let team = backend.team().expect("matched above");
            let report = team.doctor(repair).await?;
            if json {
                output::json(&report)?;
            } else {
                print(&team_doctor_text(&report))?;
            }
        }
        Command::Backup { dest } if backend.team().is_some() => {
            let r = backend.team().expect("matched above").backup_to(&dest).await?;
            print(&format!(
                "backed up {} audits of {} projects with {} screenshots and {} triage decisions to {} \
                 (a data folder: `veritas-db --data-dir {} push --all-projects --to URL` restores it)\n",
                r.audits,
                r.projects,
                r.screenshots,
                r.triage_added,
                dest.display(),
                dest.display()
            ))?;
            refused(&r.refused, "backed up")?;
        }
        Command::Compare { base, other, json } => {
            let c = backend.compare_audits(project, &base, &other).await?;
            if json {
                output::json(&c)?;
            } else {
                print(&output::comparison(&c))?;
            }
        }
        Command::Changes { id, json } => {
            let c = backend.audit_changes(project, &id).await?;
            if json {
                output::json(&c)?;
            } else {
                let detail = backend.get_audit(project, &id).await?;
                print(&output::changes(&c, &detail.findings))?;
            }
        }
        Command::Export {
            id,
            format,
            output: path,
            include_hidden,
        } => {
            use veritas_core::ExportFormat as Format;
            let format = match format {
                ExportFormat::Json => Format::Json,
                ExportFormat::Csv => Format::Csv,
                ExportFormat::Html => Format::Html,
            };
            let text = backend.export_audit(project, &id, format, include_hidden).await?;
            match path {
                Some(p) => std::fs::write(&p, text).map_err(|e| Error::io(&p, e))?,
                None => output::print_raw(&text)?,
            }
        }
        Command::Similar {
            finding_id,
            limit,
            json,
        } => {
            let found = backend.similar_findings(project, finding_id, limit).await?;
            if json {
                output::json(&found)?;
            } else {
                for s in found {
                    print(&format!(
                        "{:.3}  #{:<6} {:<22} {}  {}\n",
                        s.similarity, s.finding.id, s.finding.pattern_type, s.finding.audit_id, s.audit_url
                    ))?;
                }
            }
        }
        Command::History { url, json } => {
            let audits = backend.audit_history(project, &url).await?;
            if json {
                output::json(&audits)?;
            } else {
                print(&output::audit_table(&audits))?;
            }
        }
        Command::Delete { id } => {
            backend.delete_audit(project, &id).await?;
            print(&format!("deleted audit {id}\n"))?;
        }
        Command::Projects { json } => {
            let projects = backend.projects().await?;
            if json {
                output::json(&projects)?;
            } else {
                for p in projects {
                    print(&format!("{:<24} {} audits\n", p.name, p.audits))?;
                }
            }
        }
        command => {
            let store = backend.local(&format!("veritas-db {}", command.name()))?;
            return run_local(store, project, &cli.database, &cli.objects, command).await;
        }
    }
    Ok(Finish::Success)
}

/// The commands that work on a local data folder only (so far).
async fn run_local(
    store: &Store,
    project: &ProjectName,
    database: &Option<String>,
    objects: &Option<String>,
    command: Command,
) -> Result<Finish> {
    match command {
        Command::List(_)
        | Command::Show { .. }
        | Command::Projects { .. }
        | Command::Triage(_)
        | Command::Ingest(_)
        | Command::History { .. }
        | Command::Changes { .. }
        | Command::Similar { .. }
        | Command::Export { .. }
        | Command::Compare { .. }
        | Command::Delete { .. } => {
            unreachable!("run() answers these on either engine")
        }
        Command::Init => {
            let file = store
                .database_file()
                .map_or_else(|| "in memory".to_string(), |f| f.display().to_string());
            print(&format!("database ready: {file}\n"))?;
        }
        Command::Doctor {
            repair,
            stale_after,
            json,
        } => {
            let report = store
                .doctor(repair, Duration::from_secs(stale_after * 60))
                .await?;
            if json {
                output::json(&report)?;
            } else {
                print(&doctor_text(&report))?;
            }
        }
        Command::Backup { dest } => {
            let r = store.backup(&dest).await?;
            print(&format!(
                "backed up {} audits and {} screenshot files to {} ({} files were already missing)\n",
                r.audits,
                r.screenshots_copied,
                dest.display(),
                r.screenshots_missing
            ))?;
            for row in &r.skipped_rows {
                print(&format!("  not copied: {}\n", output::field(row)))?;
            }
        }
        Command::Push {
            all_projects,
            to,
            json,
        } => {
            let objects = objects.as_deref().ok_or_else(|| {
                Error::invalid(
                    "push",
                    "needs --objects (or VERITAS_OBJECTS_URL): where the screenshots go",
                )
            })?;
            let to = to.as_ref().or(database.as_ref()).ok_or_else(|| {
                Error::invalid(
                    "push",
                    "needs --to (or --database, or VERITAS_DATABASE_URL): the team database",
                )
            })?;
            let team = TeamStore::open(to, objects).await?;
            let r = store.push_to(&team, (!all_projects).then_some(project)).await?;
            if json {
                output::json(&r)?;
            } else {
                print(&push_text(&r))?;
            }
            if !r.refused.is_empty() {
                return Err(veritas_core::Error::new(
                    veritas_core::ErrorKind::InvalidInput,
                    format!(
                        "{} audits were not pushed (listed above); the rest were",
                        r.refused.len()
                    ),
                ));
            }
        }
        Command::Pull {
            all_projects,
            from,
            json,
        } => {
            let objects = objects.as_deref().ok_or_else(|| {
                Error::invalid(
                    "pull",
                    "needs --objects (or VERITAS_OBJECTS_URL): where the screenshots are",
                )
            })?;
            let from = from.as_ref().or(database.as_ref()).ok_or_else(|| {
                Error::invalid(
                    "pull",
                    "needs --from (or --database, or VERITAS_DATABASE_URL): the team database",
                )
            })?;
            let team = TeamStore::open(from, objects).await?;
            let r = store.pull_from(&team, (!all_projects).then_some(project)).await?;
            if json {
                output::json(&r)?;
            } else {
                print(&format!(
                    "pulled {} audits of {} projects from {} into {}: {} new, {} replaced (changed on the team), \
                     {} screenshots ({} recorded without their object); triage: {} decisions added, {} known\n",
                    r.audits,
                    r.projects,
                    r.database,
                    r.data_dir,
                    r.new_audits,
                    r.replaced_audits,
                    r.screenshots,
                    r.screenshots_missing,
                    r.triage_added,
                    r.triage_known
                ))?;
            }
            refused(&r.refused, "pulled")?;
        }
        Command::Demo { audits } => {
            let bar = progress_bar(audits as u64, "{bar:30} {pos}/{len} demo audits");
            let r = store
                .load_demo(project, audits, &mut |done, _| bar.set_position(done as u64))
                .await?;
            bar.finish_and_clear();
            print(&format!(
                "loaded {} demo audits ({} findings, {} screenshots) into project {project} at {}\n",
                r.audits,
                r.findings,
                r.screenshots,
                store.data_dir().display()
            ))?;
        }
    }
    Ok(Finish::Success)
}

/// Fail naming how many audits were left out (each already listed), the rest having been copied.
fn refused(refused: &[String], done: &str) -> Result<()> {
    for r in refused {
        eprintln!("veritas-db: not {done}: {}", output::field(r));
    }
    if refused.is_empty() {
        return Ok(());
    }
    Err(veritas_core::Error::new(
        veritas_core::ErrorKind::InvalidInput,
        format!(
            "{} audits were not {done} (listed above); the rest were",
            refused.len()
        ),
    ))
}

/// A progress bar on a terminal's standard error; hidden when it is not a terminal.
fn progress_bar(len: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

async fn ingest(store: &Backend, project: &ProjectName, args: IngestArgs) -> Result<Finish> {
    let (reader, size): (Box<dyn AsyncBufRead + Unpin + Send>, Option<u64>) = if args.input == "-" {
        (Box::new(BufReader::new(tokio::io::stdin())), None)
    } else {
        let path = std::path::Path::new(&args.input);
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| Error::io(path, e))?;
        let size = file.metadata().await.ok().map(|m| m.len());
        (Box::new(BufReader::with_capacity(1 << 20, file)), size)
    };
    // Progress only for large inputs, where a person would otherwise wonder.
    let bar = match size {
        Some(n) if n >= 4 << 20 => progress_bar(n, "{bar:30} {bytes}/{total_bytes} {msg}"),
        None if std::io::stdin().is_terminal() => ProgressBar::hidden(),
        None => {
            let bar = progress_bar(0, "{spinner} {bytes} read {msg}");
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        }
        Some(_) => ProgressBar::hidden(),
    };
    let options = IngestOptions {
        audit_id: args.audit_id,
        url: args.url,
    };
    let source = args.input.clone();
    let report = store
        .ingest(project, &options, reader, &mut |notice| match notice {
            IngestNotice::Rejected { line, reason } => {
                // The reason quotes the producer's text: escaped like any output for a person.
                let reason = reason.to_string();
                bar.suspend(|| {
                    eprintln!(
                        "veritas-db: {source}: line {line}: rejected: {}",
                        output::field(&reason)
                    )
                });
            }
            IngestNotice::Progress { bytes, lines } => {
                bar.set_position(bytes);
                bar.set_message(format!("{lines} lines"));
            }
        })
        .await?;
    bar.finish_and_clear();
    eprintln!(
        "ingested {} events ({} audits started, {} findings, {} screenshots); {} received before; \
         rejected {} lines",
        report.events,
        report.audits_started,
        report.findings,
        report.screenshots,
        report.duplicates,
        report.rejected
    );
    Ok(if report.rejected > 0 {
        Finish::Rejected
    } else {
        Finish::Success
    })
}

fn filter_from(args: &ListArgs) -> Result<AuditFilter> {
    let status = args
        .status
        .iter()
        .map(|s| {
            AuditStatus::parse(s).ok_or_else(|| {
                Error::invalid(
                    format!("--status {s:?}"),
                    "must be queued, running, completed, error or disconnected",
                )
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(AuditFilter {
        status,
        risk_level: args.risk.clone(),
        audit_tier: args.tier.clone(),
        site_type: args.site_type.clone(),
        severity: args.severity.clone(),
        pattern_type: Vec::new(),
        min_score: args.min_score,
        max_score: args.max_score,
        created_from: args.from.clone(),
        created_to: args.to.clone(),
        search: args.search.clone(),
        url_contains: args.url_contains.clone(),
        mitre: args.mitre.clone(),
        cwe: args.cwe.clone(),
        green_flags: args.green_flags,
        changes: args.changes.clone(),
        untriaged: args.untriaged,
        include_hidden: args.include_hidden,
    })
}

/// `veritas-db triage`: decide, show the history, or exchange decisions.
async fn triage(backend: &Backend, project: &ProjectName, args: TriageArgs) -> Result<()> {
    use veritas_core::{TriageRequest, TriageVerdict};
    match (args.exchange, args.finding_id) {
        (Some(TriageExchange::Export { file }), _) => {
            let text = serde_json::to_string_pretty(&backend.export_triage(project).await?)
                .map_err(|e| Error::encoding("the triage export", e))?
                + "\n";
            if file.as_os_str() == "-" {
                output::print_raw(&text)?;
            } else {
                std::fs::write(&file, text).map_err(|e| Error::io(&file, e))?;
            }
        }
        (Some(TriageExchange::Import { file, json }), _) => {
            let text = std::fs::read_to_string(&file).map_err(|e| Error::io(&file, e))?;
            let report = backend
                .import_triage(project, &text, &file.display().to_string())
                .await?;
            if json {
                output::json(&report)?;
            } else {
                print(&format!(
                    "{} decisions added, {} known already, {} conflicts\n",
                    report.added,
                    report.known,
                    report.conflicts.len()
                ))?;
                for c in &report.conflicts {
                    print(&format!("  conflict: {c}\n"))?;
                }
            }
        }
        (None, Some(finding_id)) if args.history => {
            let history = backend.triage_history(project, finding_id).await?;
            if args.json {
                output::json(&history)?;
            } else {
                for d in &history {
                    print(&output::decision(d))?;
                }
                if history.is_empty() {
                    print("no decisions\n")?;
                }
            }
        }
        (None, Some(finding_id)) => {
            let verdict = args.verdict.ok_or_else(|| {
                Error::invalid("triage", "give --verdict (or --history to see past decisions)")
            })?;
            let now = backend
                .triage_finding(
                    project,
                    TriageRequest {
                        finding_id,
                        verdict: TriageVerdict::parse(&verdict)?,
                        note: args.note,
                        author: args.author,
                        only_this_audit: args.this_audit_only,
                    },
                )
                .await?;
            if args.json {
                output::json(&now)?;
            } else if let Some(d) = &now.decision {
                print(&output::decision(d))?;
            }
        }
        (None, None) => {
            return Err(Error::invalid(
                "triage",
                "give a FINDING_ID, or export FILE / import FILE",
            ))
        }
    }
    Ok(())
}

async fn list(store: &Backend, project: &ProjectName, args: ListArgs) -> Result<()> {
    let req = ListRequest {
        filter: filter_from(&args)?,
        sort: match args.sort {
            SortArg::Created => SortKey::Created,
            SortArg::Score => SortKey::Score,
            SortArg::Url => SortKey::Url,
            SortArg::Status => SortKey::Status,
            SortArg::Risk => SortKey::RiskLevel,
            SortArg::Tier => SortKey::AuditTier,
            SortArg::SiteType => SortKey::SiteType,
            SortArg::Findings => SortKey::Findings,
            SortArg::Screenshots => SortKey::Screenshots,
        },
        direction: if args.asc { Direction::Asc } else { Direction::Desc },
        // With --all, the page size each round trip reads.
        limit: Some(args.limit),
        after: args.after.clone(),
    };
    // Page after page with --all, each printed as it comes: memory stays that of one page.
    let mut req = req;
    let mut first = true;
    let next = loop {
        let page = store.list_audits_full(project, &req).await?;
        if args.json_lines {
            let mut text = String::new();
            for a in &page.audits {
                text += &serde_json::to_string(a).map_err(|e| Error::encoding("an audit as JSON", e))?;
                text.push('\n');
            }
            output::print_raw(&text)?;
        } else if args.json {
            // One array across the pages, written as it goes.
            let mut text = String::from(if first { "[" } else { "" });
            for (i, a) in page.audits.iter().enumerate() {
                if !(first && i == 0) {
                    text.push(',');
                }
                text += "\n  ";
                text += &serde_json::to_string(a).map_err(|e| Error::encoding("an audit as JSON", e))?;
            }
            output::print_raw(&text)?;
        } else {
            let table = output::audit_table(&page.audits);
            // The header once.
            print(if first {
                &table
            } else {
                table.split_once('\n').map_or("", |(_, rows)| rows)
            })?;
        }
        first = false;
        match (args.all, page.next_cursor) {
            (true, Some(cursor)) => req.after = Some(cursor),
            (_, next) => break next,
        }
    };
    if args.json {
        output::print_raw("\n]\n")?;
    }
    if args.facets && !args.json && !args.json_lines {
        print(&output::facets(
            &store.audit_facets(project, &req.filter).await?,
            req.filter.include_hidden,
        ))?;
    }
    if let Some(cursor) = next {
        if args.json_lines {
            output::print_raw(&(serde_json::json!({ "next_cursor": cursor }).to_string() + "\n"))?;
        } else {
            eprintln!("more audits: --after {cursor}");
        }
    }
    Ok(())
}

fn push_text(r: &veritas_core::team::PushReport) -> String {
    let mut out = format!(
        "pushed {} audits ({} new to it) of {} projects to {}: {} findings, {} events, {} screenshots \
         ({} objects sent, {} already in {}, {} files missing here); triage: {} decisions added, {} known\n",
        r.audits,
        r.new_audits,
        r.projects,
        output::field(&r.database),
        r.findings,
        r.events,
        r.screenshots,
        r.objects_uploaded,
        r.objects_reused,
        output::field(&r.objects),
        r.screenshots_missing,
        r.triage_added,
        r.triage_known,
    );
    for refused in &r.refused {
        out.push_str(&format!("  not pushed: {}\n", output::field(refused)));
    }
    out
}

fn team_doctor_text(r: &veritas_core::team::TeamDoctorReport) -> String {
    let mut s = format!("team database     {} (schema {})\n", r.database, r.schema_version);
    s += &format!("object store      {}\n", r.objects);
    s += &format!("audits            {}\n", r.audits);
    s += &format!(
        "orphan objects    {} (no row refers to them; kept)\n",
        r.orphan_objects.len()
    );
    s += &format!("missing objects   {}\n", r.missing_objects.len());
    for m in &r.missing_objects {
        s += &format!("  {}\n", output::field(m));
    }
    s += &format!(
        "facet counts      {}\n",
        if r.facet_mismatches.is_empty() {
            "ok".to_string()
        } else {
            r.facet_mismatches.join("; ")
        }
    );
    for done in &r.repaired {
        s += &format!("repaired          {done}\n");
    }
    s += if r.healthy() { "healthy\n" } else { "NOT healthy\n" };
    s
}

fn doctor_text(r: &veritas_core::DoctorReport) -> String {
    let mut s = format!("integrity check   {}\n", r.integrity.join("; "));
    s += &format!("foreign keys      {} violations\n", r.foreign_key_violations);
    s += &format!(
        "search index      {}\n",
        if r.not_checked.iter().any(|c| c.starts_with("search index")) {
            "not checked"
        } else if r.search_index_ok {
            "ok"
        } else {
            "OUT OF DATE"
        }
    );
    s += &format!("missing files     {}\n", r.missing_files.len());
    for m in &r.missing_files {
        s += &format!(
            "  audit {} screenshot #{}: {}\n",
            output::field(&m.audit_id),
            m.screenshot_id,
            output::field(&m.file_path)
        );
    }
    s += &format!("orphan files      {}\n", r.orphan_files.len());
    for o in &r.orphan_files {
        s += &format!("  {}\n", output::field(o));
    }
    s += &format!("stale counters    {}\n", r.counter_mismatches.len());
    for c in &r.counter_mismatches {
        s += &format!(
            "  audit {}: screenshots_count {} but {} rows\n",
            c.audit_id,
            c.recorded.map(|n| n.to_string()).unwrap_or_else(|| "NULL".into()),
            c.rows
        );
    }
    s += &format!(
        "facet counts      {}\n",
        if r.facet_mismatches.is_empty() {
            "ok"
        } else {
            "OUT OF DATE"
        }
    );
    for m in &r.facet_mismatches {
        s += &format!(
            "  {}: {} rows differ from the audits and findings\n",
            m.table, m.rows
        );
    }
    s += &format!("not ours          {}\n", r.foreign_objects.len());
    for o in &r.foreign_objects {
        s += &format!(
            "  {} (created by another program; it runs inside writes: drop it if unknown)\n",
            output::field(o)
        );
    }
    s += &format!("temporary files   {}\n", r.stale_temporary_files.len());
    for f in &r.stale_temporary_files {
        s += &format!("  {}\n", output::field(f));
    }
    for c in &r.not_checked {
        s += &format!("not checked       {}\n", output::field(c));
    }
    s += &format!("abandoned running {}\n", r.stale_running.len());
    for id in &r.stale_running {
        s += &format!("  audit {}\n", output::field(id));
    }
    for fix in &r.repaired {
        s += &format!("repaired: {fix}\n");
    }
    s += if r.healthy() {
        "healthy\n"
    } else {
        "problems found\n"
    };
    s
}
