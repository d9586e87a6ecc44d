//! Writing results: JSON for scripts, aligned text for people.

use std::io::Write;

use veritas_core::{
    Audit, AuditChanges, AuditDetail, Comparison, Error, Facets, Finding, FindingChangeKind, Intelligence,
    Result,
};

/// Write `text`, made for a person, to standard output, its control characters escaped
/// (see [`terminal_safe`]).
pub fn print(text: &str) -> Result<()> {
    print_raw(&terminal_safe(text, true))
}

/// Write `text` to standard output as it is: JSON (which escapes control characters itself)
/// and exports, which are data for a file or a script.
pub fn print_raw(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|_| out.flush())
        .map_err(|e| Error::io_of("writing standard output", e))
}

/// Whether `c` would act on a terminal rather than show: C0 and C1 controls (ESC starts the
/// sequences that retitle the terminal or write its clipboard, CR overwrites a row) and the
/// bidirectional overrides that reorder what is shown.
fn acts_on_terminal(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that acts on a terminal written as an escape (`\u{1b}`);
/// newlines and tabs kept when `lines` (a whole report), escaped too when not (one field of
/// a row, which must not start a row of its own). Producer text (urls, findings,
/// narratives) is untrusted.
pub fn terminal_safe(text: &str, lines: bool) -> std::borrow::Cow<'_, str> {
    let acts = |c: char| acts_on_terminal(c) && !(lines && matches!(c, '\n' | '\t'));
    if !text.chars().any(acts) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if acts(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// One field of a row: see [`terminal_safe`].
pub fn field(text: &str) -> std::borrow::Cow<'_, str> {
    terminal_safe(text, false)
}

/// Whether `e` is standard output closed by its reader (output piped into `head`), found
/// by the I/O error's kind.
pub fn is_broken_pipe(e: &Error) -> bool {
    e.io_kind() == Some(std::io::ErrorKind::BrokenPipe)
}

/// Pretty JSON of anything serialisable, with a final newline.
pub fn json<T: serde::Serialize>(value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| Error::encoding("the output as JSON", e))?;
    print_raw(&(text + "\n"))
}

fn score(s: Option<f64>) -> String {
    s.map(|v| format!("{v:.1}")).unwrap_or_else(|| "-".into())
}

/// An audit's trust score, or `unreadable` where another program stored one that is no
/// number (never shown as a number it is not).
fn trust(a: &Audit) -> String {
    if a.unreadable.iter().any(|c| c == "trust_score") {
        "unreadable".into()
    } else {
        score(a.fields.trust_score)
    }
}

fn day(t: &Option<String>) -> String {
    t.as_deref()
        .map(|t| t.replace('T', " ").chars().take(16).collect())
        .unwrap_or_else(|| "-".into())
}

/// The audit list as a table.
pub fn audit_table(audits: &[Audit]) -> String {
    let mut s = format!(
        "{:<14} {:<12} {:>6} {:<17} {:>8} {:>5} {:<16} {}\n",
        "ID", "STATUS", "SCORE", "RISK", "FINDINGS", "SHOTS", "CREATED", "URL"
    );
    for a in audits {
        s.push_str(&format!(
            "{:<14} {:<12} {:>6} {:<17} {:>8} {:>5} {:<16} {}\n",
            a.id,
            field(&a.status),
            trust(a),
            field(a.fields.risk_level.as_deref().unwrap_or("-")),
            a.findings_count,
            a.screenshots_count,
            field(&day(&a.fields.created_at)),
            field(&a.url)
        ));
    }
    s
}

/// The facet counts; `include_hidden`: whether they count the findings triaged away.
pub fn facets(f: &Facets, include_hidden: bool) -> String {
    let mut s = format!("\n{} audits match\n", f.total);
    for (name, counts) in [
        ("status", &f.status),
        ("risk level", &f.risk_level),
        ("tier", &f.audit_tier),
        ("site type", &f.site_type),
        ("severity", &f.severity),
        ("pattern type", &f.pattern_type),
        ("MITRE", &f.mitre),
        ("CWE", &f.cwe),
        ("green flags", &f.green_flags),
        ("changes", &f.changes),
    ] {
        let parts: Vec<String> = counts
            .iter()
            .map(|c| format!("{} {}", field(&c.value), c.count))
            .collect();
        s.push_str(&format!("  {name:<13} {}\n", parts.join(", ")));
    }
    if f.hidden_findings > 0 {
        let n = format!(
            "{} finding{}",
            f.hidden_findings,
            if f.hidden_findings == 1 { "" } else { "s" }
        );
        s.push_str(&if include_hidden {
            format!("  (severity and pattern count {n} triaged away as false positive or accepted risk)\n")
        } else {
            format!("  (severity and pattern leave out {n} triaged away; --include-hidden counts them)\n")
        });
    }
    s
}

/// One audit for a person.
pub fn audit_detail(d: &AuditDetail) -> String {
    let a = &d.audit;
    let mut s = format!("{}  {}\n", a.id, field(&a.url));
    let line = |k: &str, v: String| format!("  {k:<14} {}\n", field(&v));
    s += &line("status", a.status.clone());
    s += &line(
        "trust score",
        format!("{} ({})", trust(a), a.fields.risk_level.as_deref().unwrap_or("-")),
    );
    s += &line(
        "tier",
        format!(
            "{} / {}",
            a.fields.audit_tier.as_deref().unwrap_or("-"),
            a.fields.verdict_mode.as_deref().unwrap_or("-")
        ),
    );
    s += &line(
        "site type",
        format!(
            "{} ({})",
            a.fields.site_type.as_deref().unwrap_or("-"),
            score(a.fields.site_type_confidence.map(|c| c * 100.0))
        ),
    );
    s += &line(
        "pages",
        a.fields
            .pages_scanned
            .map(|p| p.to_string())
            .unwrap_or_else(|| "-".into()),
    );
    s += &line(
        "elapsed",
        a.fields
            .elapsed_seconds
            .map(|e| format!("{e:.1} s"))
            .unwrap_or_else(|| "-".into()),
    );
    s += &line("started", day(&a.fields.started_at));
    s += &line("completed", day(&a.fields.completed_at));
    if let Some(err) = &a.fields.error_message {
        s += &line("error", err.clone());
    }
    if let Some(sig) = a.fields.signal_scores.as_ref().and_then(|v| v.as_object()) {
        let parts: Vec<String> = sig
            .iter()
            .map(|(k, v)| format!("{k} {}", score(v.as_f64())))
            .collect();
        s += &line("signals", parts.join(", "));
    }
    // Like the app: the last run, the others named.
    let run = d.last_run();
    if d.runs.len() > 1 {
        s += &line(
            "runs",
            format!(
                "{} (the producer ran it again; shown: run {run}, the last)",
                d.runs.len()
            ),
        );
    }
    let findings: Vec<_> = d.findings.iter().filter(|f| f.run == run).collect();
    s += &format!("\nFindings ({})\n", findings.len());
    for f in findings {
        let what = if f.pattern_unrecorded {
            "(pattern not recorded by the producer)".to_string()
        } else {
            format!("{:<22} {}", field(&f.pattern_type), field(&f.description))
        };
        let cwe = f.cwe_id.as_deref().map(|c| format!(" [{c}]")).unwrap_or_default();
        s += &format!(
            "  #{:<5} {:<9} {:.2}  {what}{cwe}\n",
            f.id, f.severity, f.confidence
        );
    }
    s += &intelligence(&d.intelligence);
    let screenshots: Vec<_> = d.screenshots.iter().filter(|sh| sh.run == run).collect();
    s += &format!("\nScreenshots ({})\n", screenshots.len());
    for sh in screenshots {
        let state = if sh.exists {
            format!(
                "{} {}x{}",
                sh.format.as_deref().unwrap_or("?"),
                sh.width.unwrap_or(0),
                sh.height.unwrap_or(0)
            )
        } else {
            "MISSING".to_string()
        };
        s += &format!(
            "  #{:<5} {:<9} {:<16} {}\n",
            sh.id,
            field(&sh.label),
            state,
            field(&sh.file_path)
        );
    }
    s += &format!("\nEvents ({})\n", d.events.len());
    for e in &d.events {
        s += &format!("  {}  {}\n", field(&day(&e.timestamp)), field(&e.event_type));
    }
    if let Some(n) = &a.fields.narrative {
        s += &format!("\nNarrative\n{n}\n");
    }
    s
}

/// The parts of the audit's intelligence a person reads first (`--json` has all of it).
fn intelligence(i: &Intelligence) -> String {
    let mut s = String::new();
    let line = |k: &str, v: String| format!("  {k:<14} {v}\n");
    for (name, v) in [("technical", &i.technical_verdict), ("plain", &i.plain_verdict)] {
        if let Some(summary) = v.as_ref().and_then(|v| v.summary.clone()) {
            s += &line(&format!("{name} verdict"), summary);
        }
    }
    if !i.green_flags.is_empty() {
        s += &line("green flags", i.green_flags.join("; "));
    }
    if !i.mitre.is_empty() {
        let t: Vec<String> = i
            .mitre
            .iter()
            .map(|t| {
                format!("{} {}", t.id, t.name.as_deref().unwrap_or(""))
                    .trim()
                    .to_string()
            })
            .collect();
        s += &line("MITRE ATT&CK", t.join(", "));
    }
    if let Some(c) = &i.cvss {
        let score = c.base_score.map_or("-".to_string(), |b| b.to_string());
        s += &line(
            "CVSS",
            format!("{score} {}", c.vector.as_deref().unwrap_or(""))
                .trim()
                .to_string(),
        );
    }
    if !i.weaknesses.is_empty() {
        let mut ids: Vec<&str> = i.weaknesses.iter().map(|w| w.id.as_str()).collect();
        ids.dedup();
        s += &line("CWE", ids.join(", "));
    }
    if !i.security_modules.is_empty() {
        let m: Vec<String> = i
            .security_modules
            .iter()
            .map(|m| format!("{} {}", m.name, m.severity))
            .collect();
        s += &line("modules", m.join(", "));
    }
    if let Some(d) = &i.domain {
        let age = d.age_days.map_or("-".to_string(), |a| format!("{a} days"));
        s += &line(
            "domain",
            format!("{age}, {}", d.registrar.as_deref().unwrap_or("-")),
        );
    }
    if !i.exploration.pages.is_empty() {
        s += &line("pages visited", i.exploration.pages.len().to_string());
    }
    if s.is_empty() {
        return s;
    }
    format!("\nIntelligence\n{s}")
}

/// One triage decision on a line.
pub fn decision(d: &veritas_core::TriageDecision) -> String {
    format!(
        "{}  {:<15} {:<12} {}{}{}\n",
        field(&d.decided_at),
        d.verdict.as_str(),
        field(&d.author),
        d.audit_id
            .as_deref()
            .map(|a| format!("[audit {} only] ", field(a)))
            .unwrap_or_default(),
        field(&d.note),
        d.imported_from
            .as_deref()
            .map(|f| format!("  (imported from {})", field(f)))
            .unwrap_or_default()
    )
}

/// An audit's findings against the previous audit of its site.
pub fn changes(c: &AuditChanges, findings: &[Finding]) -> String {
    let mut s = match &c.previous_audit_id {
        Some(prev) => format!("{} against the previous audit of its site, {prev}\n", c.audit_id),
        None => format!(
            "{}: the first audit of its site, every finding is new\n",
            c.audit_id
        ),
    };
    for fc in &c.findings {
        let f = findings.iter().find(|f| f.id == fc.finding_id);
        let word = match fc.change {
            FindingChangeKind::New => "new",
            FindingChangeKind::Persisting => "persisting",
            FindingChangeKind::Regressed => "regressed",
        };
        s += &format!(
            "  {word:<10} #{:<6} {:<24} {}\n",
            fc.finding_id,
            field(f.map_or("", |f| f.pattern_type.as_str())),
            field(&fc.fingerprint)
        );
    }
    for f in &c.fixed {
        s += &format!(
            "  {:<10} #{:<6} {:<24} {}\n",
            "fixed",
            f.id,
            field(&f.pattern_type),
            field(f.fingerprint.as_deref().unwrap_or(""))
        );
    }
    s
}

pub fn comparison(c: &Comparison) -> String {
    let mut s = format!(
        "{} ({}) -> {} ({})\n  trust score    {} -> {} ({})\n",
        c.base.id,
        day(&c.base.fields.created_at),
        c.other.id,
        day(&c.other.fields.created_at),
        score(c.base.fields.trust_score),
        score(c.other.fields.trust_score),
        c.score_delta
            .map(|d| format!("{d:+.1}"))
            .unwrap_or_else(|| "-".into())
    );
    for (k, d) in &c.signal_deltas {
        s += &format!(
            "  {k:<14} {}\n",
            d.map(|d| format!("{d:+.1}")).unwrap_or_else(|| "-".into())
        );
    }
    for (name, list) in [
        ("new", &c.by_fingerprint.new),
        ("fixed", &c.by_fingerprint.fixed),
        ("kept", &c.by_fingerprint.kept),
    ] {
        let parts: Vec<String> = list
            .iter()
            .map(|f| format!("#{} {}", f.id, field(&f.pattern_type)))
            .collect();
        s += &format!(
            "  problems {name:<9} {}\n",
            if parts.is_empty() {
                "-".into()
            } else {
                parts.join(", ")
            }
        );
    }
    for (name, list) in [
        ("new", &c.findings.new),
        ("resolved", &c.findings.resolved),
        ("kept", &c.findings.kept),
    ] {
        let parts: Vec<String> = list.iter().map(|p| field(&p.pattern_type).into_owned()).collect();
        s += &format!(
            "  findings {name:<9} {}\n",
            if parts.is_empty() {
                "-".into()
            } else {
                parts.join(", ")
            }
        );
    }
    s
}
