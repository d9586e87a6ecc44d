//! Exporting one audit: JSON (everything), CSV (its findings, one row each, with the
//! audit's key facts on every row so the file stands alone in a spreadsheet).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::model::AuditDetail;
use crate::Backend;

/// The export formats.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    /// The whole audit, as `show --json` prints it.
    Json,
    /// Its findings, one row each.
    Csv,
    /// A self-contained report with its screenshots.
    Html,
}

impl ExportFormat {
    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Html => "html",
        }
    }
}

/// The findings an export left out because triage put them out of the way (false positives
/// and accepted risks), so that the export can say so.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HiddenByTriage {
    pub false_positive: usize,
    pub accepted_risk: usize,
    pub finding_ids: Vec<i64>,
}

impl HiddenByTriage {
    /// One sentence for a reader, or `None` when nothing was hidden.
    pub fn sentence(&self) -> Option<String> {
        (!self.finding_ids.is_empty()).then(|| {
            format!(
                "{} findings hidden by triage ({} false positive, {} accepted risk); export with hidden findings shown to include them",
                self.finding_ids.len(),
                self.false_positive,
                self.accepted_risk
            )
        })
    }
}

/// Audit `id` of `project` rendered in `format`; findings triaged out of the way are left
/// out (and counted in the export) unless `include_hidden`.
pub(crate) async fn render(
    store: &Backend,
    project: &ProjectName,
    id: &AuditId,
    format: ExportFormat,
    include_hidden: bool,
) -> Result<String> {
    let mut detail = store.get_audit(project, id).await?;
    let mut hidden = HiddenByTriage::default();
    if !include_hidden {
        for t in store
            .audit_triage(project, id)
            .await?
            .findings
            .iter()
            .filter(|t| t.hidden)
        {
            match t.verdict {
                Some(crate::triage::TriageVerdict::FalsePositive) => hidden.false_positive += 1,
                _ => hidden.accepted_risk += 1,
            }
            hidden.finding_ids.push(t.finding_id);
        }
        detail.findings.retain(|f| !hidden.finding_ids.contains(&f.id));
    }
    // JSON keeps every run (each row says its run); the report and the CSV are of the
    // last run, as the app shows it.
    let detail = match format {
        ExportFormat::Json => detail,
        _ => detail.of_last_run(),
    };
    match format {
        ExportFormat::Json => Ok(to_json(&detail, &hidden)? + "\n"),
        ExportFormat::Csv => to_csv(&detail, &hidden),
        ExportFormat::Html => {
            let mut images = Vec::new();
            for s in detail.screenshots.iter().filter(|s| s.exists) {
                let (path, info) = store.screenshot_file(project, id, s.id).await?;
                let bytes = tokio::fs::read(&path).await.map_err(|e| Error::io(&path, e))?;
                images.push(EmbeddedImage {
                    screenshot_id: s.id,
                    mime: info.format.mime(),
                    bytes,
                });
            }
            let previous = since_previous(store, project, id, &detail).await?;
            Ok(to_html(&detail, &images, &hidden, previous.as_ref()))
        }
    }
}

/// What the HTML report says about the site's previous audit.
pub struct SincePrevious {
    pub audit_id: String,
    pub created_at: Option<String>,
    pub new: Vec<crate::model::Finding>,
    pub fixed: Vec<crate::model::Finding>,
    /// Per screenshot label both audits have: the share of the page that changed, and the
    /// heat map of the change as a JPEG 480 pixels wide.
    pub screenshots: Vec<(String, f64, Vec<u8>)>,
}

/// The comparison with the site's previous audit, if it has one.
async fn since_previous(
    store: &Backend,
    project: &ProjectName,
    id: &AuditId,
    detail: &AuditDetail,
) -> Result<Option<SincePrevious>> {
    let changes = store.audit_changes(project, id).await?;
    let Some(prev) = changes.previous_audit_id.as_deref() else {
        return Ok(None);
    };
    let prev_id = AuditId::parse(prev)?;
    let before = store.get_audit(project, &prev_id).await?.of_last_run();
    let new_ids: Vec<i64> = changes
        .findings
        .iter()
        .filter(|c| c.change != crate::query::Change::Persisting)
        .map(|c| c.finding_id)
        .collect();
    let mut screenshots = Vec::new();
    for s in detail.screenshots.iter().filter(|s| s.exists) {
        if let Some(b) = before.screenshots.iter().find(|b| b.exists && b.label == s.label) {
            let (summary, heat) = store.screenshot_diff(project, &prev_id, b.id, id, s.id).await?;
            let small = crate::blocking(move || crate::screenshots::make_thumbnail(&heat, 480)).await??;
            screenshots.push((s.label.clone(), summary.changed_share, small));
        }
    }
    Ok(Some(SincePrevious {
        audit_id: prev.to_string(),
        created_at: before.audit.fields.created_at.clone(),
        new: detail
            .findings
            .iter()
            .filter(|f| new_ids.contains(&f.id))
            .cloned()
            .collect(),
        fixed: changes.fixed,
        screenshots,
    }))
}

/// The audit as pretty JSON: the shape of `show --json`, plus `hidden_by_triage` when
/// findings were left out.
pub fn to_json(detail: &AuditDetail, hidden: &HiddenByTriage) -> Result<String> {
    let fail = |e| Error::encoding(format!("audit {} as JSON", detail.audit.id), e);
    let mut value = serde_json::to_value(detail).map_err(fail)?;
    if let (Some(o), Some(_)) = (value.as_object_mut(), hidden.sentence()) {
        o.insert(
            "hidden_by_triage".into(),
            serde_json::to_value(hidden).map_err(fail)?,
        );
    }
    serde_json::to_string_pretty(&value).map_err(fail)
}

/// The audit's findings as CSV; findings hidden by triage are named in a last `#` line
/// (a comment to pandas, R and most spreadsheet imports).
pub fn to_csv(detail: &AuditDetail, hidden: &HiddenByTriage) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail =
        |e: csv::Error| Error::encoding(format!("the findings of audit {} as CSV", detail.audit.id), e);
    w.write_record([
        "audit_id",
        "url",
        "status",
        "trust_score",
        "risk_level",
        "finding_id",
        "pattern_type",
        "category",
        "severity",
        "confidence",
        "description",
        "plain_english",
        "screenshot_index",
    ])
    .map_err(fail)?;
    let a = &detail.audit;
    let opt = |v: Option<String>| v.unwrap_or_default();
    for f in &detail.findings {
        w.write_record([
            a.id.clone(),
            a.url.clone(),
            a.status.clone(),
            opt(a.fields.trust_score.map(|s| s.to_string())),
            opt(a.fields.risk_level.clone()),
            f.id.to_string(),
            f.pattern_type.clone(),
            opt(f.category.clone()),
            f.severity.clone(),
            f.confidence.to_string(),
            f.description.clone(),
            opt(f.plain_english.clone()),
            opt(f.screenshot_index.map(|i| i.to_string())),
        ])
        .map_err(fail)?;
    }
    let what = || format!("the findings of audit {} as CSV", detail.audit.id);
    let bytes = w
        .into_inner()
        .map_err(|e| Error::encoding(what(), e.into_error()))?;
    let mut text = String::from_utf8(bytes).map_err(|e| Error::encoding(what(), e))?;
    if let Some(s) = hidden.sentence() {
        text += &format!("# {s}\n");
    }
    Ok(text)
}

/// A screenshot to embed in the HTML report.
pub struct EmbeddedImage {
    pub screenshot_id: i64,
    pub mime: &'static str,
    pub bytes: Vec<u8>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Markdown from the database rendered to HTML, then sanitised: narratives are written by
/// a language model and may hold `<script>` or event handlers; none of it survives.
pub fn markdown_to_safe_html(markdown: &str) -> String {
    let mut html = String::new();
    pulldown_cmark::html::push_html(&mut html, pulldown_cmark::Parser::new(markdown));
    ammonia::clean(&html)
}

/// The report's part for what the audit reports beyond its score: verdicts, MITRE, CVSS and
/// CWE, domain, modules (every value escaped; nothing when the audit has none of it).
fn intelligence_html(i: &crate::intel::Intelligence) -> String {
    let list =
        |items: &[String]| -> String { items.iter().map(|x| format!("<li>{}</li>", esc(x))).collect() };
    let mut s = String::new();
    for (title, v) in [
        ("Technical verdict", &i.technical_verdict),
        ("In plain language", &i.plain_verdict),
    ] {
        if let Some(v) = v {
            s += &format!(
                "<h3>{title}</h3><p>{}</p><ul>{}</ul>",
                esc(v.summary.as_deref().unwrap_or("")),
                list(&v.recommendations)
            );
        }
    }
    if !i.green_flags.is_empty() {
        s += &format!("<h3>Green flags</h3><ul>{}</ul>", list(&i.green_flags));
    }
    if !i.mitre.is_empty() {
        s += "<h3>MITRE ATT&amp;CK</h3><table><tr><th>Technique</th><th>Name</th><th>Tactic</th></tr>";
        for t in &i.mitre {
            s += &format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.id),
                esc(t.name.as_deref().unwrap_or("")),
                esc(t.tactic.as_deref().unwrap_or(""))
            );
        }
        s += "</table>";
    }
    if let Some(c) = &i.cvss {
        s += &format!(
            "<h3>CVSS</h3><p>{} {}</p>",
            c.base_score.map(|b| format!("{b:.1}")).unwrap_or_default(),
            esc(c.vector.as_deref().unwrap_or(""))
        );
    }
    if !i.weaknesses.is_empty() {
        let ids: Vec<String> = i.weaknesses.iter().map(|w| w.id.clone()).collect();
        s += &format!("<h3>Weaknesses</h3><p>{}</p>", esc(&ids.join(", ")));
    }
    if !i.security_modules.is_empty() {
        let m: Vec<String> = i
            .security_modules
            .iter()
            .map(|m| format!("{}: {}", m.name, m.severity))
            .collect();
        s += &format!("<h3>Security modules</h3><ul>{}</ul>", list(&m));
    }
    if let Some(d) = &i.domain {
        let facts = [
            d.age_days.map(|a| format!("age {a} days")),
            d.registrar.as_ref().map(|r| format!("registrar {r}")),
            d.country.as_ref().map(|c| format!("country {c}")),
        ];
        let mut items: Vec<String> = facts.into_iter().flatten().collect();
        items.extend(d.inconsistencies.iter().cloned());
        s += &format!("<h3>Domain</h3><ul>{}</ul>", list(&items));
    }
    if s.is_empty() {
        return s;
    }
    format!("<h2>Intelligence</h2>{s}")
}

/// A self-contained HTML report of one audit: no script, no remote resource, its
/// screenshots inlined as data URLs, so it opens anywhere, offline.
pub fn to_html(
    detail: &AuditDetail,
    images: &[EmbeddedImage],
    hidden: &HiddenByTriage,
    previous: Option<&SincePrevious>,
) -> String {
    use base64::Engine;
    let a = &detail.audit;
    let score = a
        .fields
        .trust_score
        .map(|s| format!("{s:.1}"))
        .unwrap_or_else(|| "–".into());
    let mut body = format!(
        "<h1>{}</h1><p class=\"meta\">Audit {} · {} · {} · trust score <b>{score}</b> ({})</p>",
        esc(&a.url),
        esc(&a.id),
        esc(&a.status),
        esc(a.fields.created_at.as_deref().unwrap_or("")),
        esc(a.fields.risk_level.as_deref().unwrap_or("unknown"))
    );
    if let Some(sig) = a.fields.signal_scores.as_ref().and_then(|v| v.as_object()) {
        body += "<h2>Signals</h2><table>";
        for (k, v) in sig {
            body += &format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(k),
                v.as_f64().map(|x| format!("{x:.1}")).unwrap_or_default()
            );
        }
        body += "</table>";
    }
    if let Some(n) = &a.fields.narrative {
        body += &format!(
            "<h2>Narrative</h2><div class=\"narrative\">{}</div>",
            markdown_to_safe_html(n)
        );
    }
    body += &intelligence_html(&detail.intelligence);
    body += &format!("<h2>Findings ({})</h2><table><tr><th>Severity</th><th>Pattern</th><th>Confidence</th><th>Description</th></tr>", detail.findings.len());
    for f in &detail.findings {
        body += &format!(
            "<tr><td>{}</td><td>{}</td><td>{:.0}%</td><td>{}<br><small>{}</small></td></tr>",
            esc(&f.severity),
            esc(&f.pattern_type),
            f.confidence * 100.0,
            esc(&f.description),
            esc(f.plain_english.as_deref().unwrap_or(""))
        );
    }
    body += "</table>";
    if let Some(s) = hidden.sentence() {
        body += &format!("<p class=\"meta\" id=\"hidden-by-triage\">{}</p>", esc(&s));
    }
    if let Some(p) = previous {
        let names = |v: &[crate::model::Finding]| {
            if v.is_empty() {
                "none".to_string()
            } else {
                v.iter()
                    .map(|f| esc(&f.pattern_type))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        body += &format!(
            "<h2 id=\"since-previous\">Since the previous audit of the site</h2><p class=\"meta\">{} ({})</p>\
             <p><b>New or back:</b> {}</p><p><b>Fixed:</b> {}</p>",
            esc(&p.audit_id),
            esc(p.created_at.as_deref().unwrap_or("")),
            names(&p.new),
            names(&p.fixed)
        );
        for (label, share, heat) in &p.screenshots {
            body += &format!(
                "<figure><img alt=\"what changed in {}, in red\" src=\"data:image/jpeg;base64,{}\">\
                 <figcaption>{}: {:.1}% of the page changed (in red)</figcaption></figure>",
                esc(label),
                base64::engine::general_purpose::STANDARD.encode(heat),
                esc(label),
                share * 100.0
            );
        }
    }
    body += "<h2>Screenshots</h2>";
    for s in &detail.screenshots {
        match images.iter().find(|i| i.screenshot_id == s.id) {
            Some(img) => {
                let data = base64::engine::general_purpose::STANDARD.encode(&img.bytes);
                body += &format!("<figure><img alt=\"{}\" src=\"data:{};base64,{data}\"><figcaption>{} (#{})</figcaption></figure>", esc(&s.label), img.mime, esc(&s.label), s.index);
            }
            None => body += &format!("<p>Screenshot {} (#{}): file missing</p>", esc(&s.label), s.index),
        }
    }
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">\
         <title>Veritas audit {}</title><style>body{{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#1e293b}}\
         table{{border-collapse:collapse;width:100%}}td,th{{border-bottom:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}}\
         img{{max-width:100%;border:1px solid #cbd5e1}}.meta{{color:#475569}}</style></head><body>{body}</body></html>\n",
        esc(&a.id)
    )
}
