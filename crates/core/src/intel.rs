//! What the current backend reports beyond score, signals and narrative, as typed data:
//! the dual verdict, threat intelligence (MITRE ATT&CK, indicators, OSINT, attribution,
//! darknet), CVSS and CWE, security modules, domain facts, the exploration of the site and
//! the knowledge graph. Derived here from one run's events and the audit's
//! `security_results`, so no caller reads event JSON itself.
//!
//! Everything read is producer data: each value is taken only in the type it should have,
//! text is cut to a bounded length and lists to a bounded count. The runner's placeholders
//! (`cvss_metrics` with values `CALCULATING`, the fixed `mitre_technique_mapped` list it
//! sends before any analysis) are never taken as results.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::model::AuditEvent;

/// The longest text kept of any one producer value.
const MAX_TEXT: usize = 4000;
/// The most items kept of any one list (graph nodes and edges included).
const MAX_ITEMS: usize = 2000;

/// A fact as a key and its value as text (the properties of a graph node, OSINT data).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fact {
    pub key: String,
    pub value: String,
}

/// One side of the dual verdict.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Verdict {
    pub risk_level: Option<String>,
    pub trust_score: Option<f64>,
    pub summary: Option<String>,
    /// Recommendations (technical) or actionable advice (plain language).
    pub recommendations: Vec<String>,
}

/// A MITRE ATT&CK technique the audit mapped.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MitreTechnique {
    /// `T1566` or `T1566.001`.
    pub id: String,
    pub name: Option<String>,
    pub tactic: Option<String>,
    pub confidence: Option<f64>,
    /// The technique's public page (only for a well-formed id).
    pub url: Option<String>,
}

/// An indicator of compromise.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Indicator {
    pub kind: Option<String>,
    pub value: String,
    pub source: Option<String>,
    pub confidence: Option<f64>,
}

/// One OSINT source's answer.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OsintSource {
    pub source: String,
    pub confidence: Option<f64>,
    pub facts: Vec<Fact>,
}

/// A darknet or marketplace threat.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DarknetThreat {
    /// The marketplace or source it concerns.
    pub source: String,
    /// `exit_scam`, `tor2web exposure`, a threat level...
    pub status: Option<String>,
    pub detail: Option<String>,
    pub confidence: Option<f64>,
}

/// The CVSS assessment.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cvss {
    pub base_score: Option<f64>,
    /// The metrics as a CVSS 3.1 vector (`AV:N/AC:L/...`) where they are the standard ones.
    pub vector: Option<String>,
    pub metrics: Vec<Fact>,
}

/// A weakness (CWE) named by the audit, and where.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Weakness {
    /// `CWE-79`.
    pub id: String,
    pub name: Option<String>,
    /// What named it: `verdict`, `finding`, or a security module's name.
    pub named_by: String,
}

/// One finding of a security module.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModuleFinding {
    pub title: String,
    pub severity: Option<String>,
    pub cwe_id: Option<String>,
}

/// One security module's result (OWASP, headers, cookies, GDPR, PCI DSS, darknet...).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SecurityModule {
    pub name: String,
    /// `owasp` for the `owasp_*` modules, else the name (as the runner groups them).
    pub category: String,
    /// As given, else the highest of its findings' (as the runner infers it).
    pub severity: String,
    pub score: Option<f64>,
    pub findings: Vec<ModuleFinding>,
    pub recommendations: Vec<String>,
}

/// What is known of the domain.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DomainInfo {
    pub age_days: Option<f64>,
    pub registrar: Option<String>,
    pub ip: Option<String>,
    pub ssl_issuer: Option<String>,
    pub country: Option<String>,
    pub inconsistencies: Vec<String>,
    pub entity_verified: Option<bool>,
}

/// A page the audit visited, in order.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageVisit {
    pub url: String,
    pub title: Option<String>,
    pub navigation_ms: Option<f64>,
}

/// A form found on a page.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FormFound {
    /// The page it was on (the page visited last before it was reported).
    pub page: Option<String>,
    pub id: Option<String>,
    pub action: Option<String>,
    pub method: Option<String>,
    pub inputs: Option<i64>,
    pub has_password: bool,
}

/// A CAPTCHA met on a page.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Captcha {
    pub page: Option<String>,
    pub kind: Option<String>,
    pub confidence: Option<f64>,
}

/// How the audit explored the site.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exploration {
    pub pages: Vec<PageVisit>,
    pub forms: Vec<FormFound>,
    pub captchas: Vec<Captcha>,
}

/// A node of the knowledge graph.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphNode {
    pub id: String,
    pub kind: Option<String>,
    pub label: String,
    pub facts: Vec<Fact>,
}

/// An edge of the knowledge graph (between nodes that exist).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GraphEdge {
    pub source: String,
    pub target: String,
    pub relationship: Option<String>,
}

/// The knowledge graph the audit built.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct KnowledgeGraph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

/// Everything the audit reports beyond score, signals and narrative. Empty parts are
/// empty (or `None`): an audit of the older backend has only its security modules.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Intelligence {
    pub technical_verdict: Option<Verdict>,
    pub plain_verdict: Option<Verdict>,
    pub green_flags: Vec<String>,
    pub mitre: Vec<MitreTechnique>,
    pub indicators: Vec<Indicator>,
    pub osint: Vec<OsintSource>,
    pub attribution: Vec<Fact>,
    pub darknet: Vec<DarknetThreat>,
    pub cvss: Option<Cvss>,
    pub weaknesses: Vec<Weakness>,
    pub security_modules: Vec<SecurityModule>,
    pub domain: Option<DomainInfo>,
    pub exploration: Exploration,
    pub graph: Option<KnowledgeGraph>,
}

fn cut(s: &str) -> String {
    match s.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_string(),
    }
}

/// A text field (strings only; numbers as their text).
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(cut(s.trim())),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn num(v: Option<&Value>) -> Option<f64> {
    v?.as_f64().filter(|x| x.is_finite())
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_object()?.get(key)
}

/// The items of a list field (bounded).
fn items(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    v.and_then(Value::as_array).into_iter().flatten().take(MAX_ITEMS)
}

/// A list of strings, or of objects whose `keys` hold the text.
fn texts(v: Option<&Value>, keys: &[&str]) -> Vec<String> {
    items(v)
        .filter_map(|item| match item {
            Value::Object(_) => keys.iter().find_map(|k| text(get(item, k))),
            other => text(Some(other)),
        })
        .collect()
}

/// An object's scalar fields as facts (nested values as compact JSON, cut).
fn facts(v: Option<&Value>) -> Vec<Fact> {
    let Some(Value::Object(m)) = v else {
        return Vec::new();
    };
    m.iter()
        .take(MAX_ITEMS)
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| Fact {
            key: cut(k),
            value: match v {
                Value::String(s) => cut(s),
                other => cut(&other.to_string()),
            },
        })
        .collect()
}

/// `T1566` / `T1566.001`, checked, and its page on attack.mitre.org.
pub fn mitre_technique_url(id: &str) -> Option<String> {
    let b = id.as_bytes();
    let main = b.len() >= 5 && b[0] == b'T' && b[1..5].iter().all(u8::is_ascii_digit);
    let sub = match b.len() {
        5 => Some(None),
        9 if b[5] == b'.' && b[6..9].iter().all(u8::is_ascii_digit) => Some(Some(&id[6..9])),
        _ => None,
    };
    match (main, sub) {
        (true, Some(None)) => Some(format!("https://attack.mitre.org/techniques/{id}/")),
        (true, Some(Some(s))) => Some(format!("https://attack.mitre.org/techniques/{}/{s}/", &id[..5])),
        _ => None,
    }
}

/// A CWE id field, as `CWE-<n>`.
fn cwe(v: Option<&Value>) -> Option<String> {
    crate::vocabulary::cwe_id(&text(v)?)
}

fn verdict(v: &Value, advice_key: &str) -> Option<Verdict> {
    let out = Verdict {
        risk_level: text(get(v, "risk_level")),
        trust_score: num(get(v, "trust_score")),
        summary: text(get(v, "summary")),
        recommendations: texts(get(v, advice_key), &["text", "recommendation", "title"]),
    };
    (out != Verdict::default()).then_some(out)
}

fn technique(v: &Value) -> Option<MitreTechnique> {
    let id = text(get(v, "technique_id")).or_else(|| text(get(v, "id")))?;
    Some(MitreTechnique {
        url: mitre_technique_url(&id),
        name: text(get(v, "name")),
        tactic: text(get(v, "tactic")),
        confidence: num(get(v, "confidence")),
        id,
    })
}

/// The standard CVSS 3.1 abbreviations of the runner's metric names.
const CVSS_KEYS: [(&str, &str); 8] = [
    ("attack_vector", "AV"),
    ("attack_complexity", "AC"),
    ("privileges_required", "PR"),
    ("user_interaction", "UI"),
    ("scope", "S"),
    ("confidentiality", "C"),
    ("integrity", "I"),
    ("availability", "A"),
];

fn cvss(e: &Value) -> Option<Cvss> {
    let metrics: Vec<Fact> = items(get(e, "metrics"))
        .filter_map(|m| {
            Some(Fact {
                key: text(get(m, "name"))?,
                value: text(get(m, "value"))?,
            })
        })
        .collect();
    // The runner's placeholder, sent before any analysis.
    if metrics
        .iter()
        .any(|m| m.value.eq_ignore_ascii_case("CALCULATING"))
    {
        return None;
    }
    let abbreviated: Option<Vec<String>> = CVSS_KEYS
        .iter()
        .map(|(name, short)| {
            let value = &metrics.iter().find(|m| m.key == *name)?.value;
            let first = value.chars().next()?.to_ascii_uppercase();
            Some(format!("{short}:{first}"))
        })
        .collect();
    Some(Cvss {
        base_score: num(get(e, "base_score")).filter(|s| (0.0..=10.0).contains(s)),
        vector: abbreviated.map(|parts| format!("CVSS:3.1/{}", parts.join("/"))),
        metrics,
    })
}

fn module_severity(m: &Value, findings: &[ModuleFinding]) -> String {
    if let Some(s) = text(get(m, "severity")) {
        return s.to_lowercase();
    }
    if get(m, "is_phishing").and_then(Value::as_bool) == Some(true) {
        return "critical".into();
    }
    if get(m, "tor2web_exposure").and_then(Value::as_bool) == Some(true) {
        return "high".into();
    }
    let rank = |s: &str| crate::vocabulary::SEVERITIES.iter().position(|x| *x == s);
    findings
        .iter()
        .filter_map(|f| f.severity.as_deref())
        .max_by_key(|s| rank(s))
        .unwrap_or("low")
        .to_string()
}

/// The modules of a `security_results` object (the audit's column).
fn security_modules(results: Option<&Value>) -> Vec<SecurityModule> {
    let Some(Value::Object(modules)) = results else {
        return Vec::new();
    };
    let mut modules: Vec<(&String, &Value)> = modules.iter().collect();
    modules.sort_by(|a, b| a.0.cmp(b.0));
    modules
        .into_iter()
        .filter(|(name, _)| !name.starts_with('_'))
        .take(MAX_ITEMS)
        .map(|(name, m)| {
            let findings: Vec<ModuleFinding> = items(get(m, "findings"))
                .filter_map(|f| {
                    let title = ["title", "description", "message", "name", "issue"]
                        .iter()
                        .find_map(|k| text(get(f, k)))
                        .or_else(|| text(Some(f)))?;
                    Some(ModuleFinding {
                        title,
                        severity: text(get(f, "severity")).map(|s| s.to_lowercase()),
                        cwe_id: cwe(get(f, "cwe_id")),
                    })
                })
                .collect();
            SecurityModule {
                category: if name.starts_with("owasp_") {
                    "owasp".into()
                } else {
                    cut(name)
                },
                severity: module_severity(m, &findings),
                score: ["score", "overall_score", "risk_score"]
                    .iter()
                    .find_map(|k| num(get(m, k))),
                recommendations: texts(get(m, "recommendations"), &["text", "recommendation", "title"]),
                name: cut(name),
                findings,
            }
        })
        .collect()
}

fn domain(v: &Value) -> Option<DomainInfo> {
    let out = DomainInfo {
        age_days: num(get(v, "age_days")),
        registrar: text(get(v, "registrar")),
        ip: text(get(v, "ip")),
        ssl_issuer: text(get(v, "ssl_issuer")),
        country: text(get(v, "country")),
        inconsistencies: texts(get(v, "inconsistencies"), &["explanation", "description"]),
        entity_verified: get(v, "entity_verified").and_then(Value::as_bool),
    };
    (out != DomainInfo::default()).then_some(out)
}

fn graph(v: &Value) -> Option<KnowledgeGraph> {
    let nodes: Vec<GraphNode> = items(get(v, "nodes"))
        .filter_map(|n| {
            let id = text(get(n, "id"))?;
            Some(GraphNode {
                label: text(get(n, "label")).unwrap_or_else(|| id.clone()),
                kind: text(get(n, "type")),
                facts: facts(get(n, "properties")),
                id,
            })
        })
        .collect();
    let known = |id: &str| nodes.iter().any(|n| n.id == id);
    let edges: Vec<GraphEdge> = items(get(v, "edges"))
        .filter_map(|e| {
            let (source, target) = (text(get(e, "source"))?, text(get(e, "target"))?);
            (known(&source) && known(&target)).then(|| GraphEdge {
                relationship: text(get(e, "relationship")),
                source,
                target,
            })
        })
        .collect();
    (!nodes.is_empty()).then_some(KnowledgeGraph { nodes, edges })
}

fn push_unique<T: PartialEq>(list: &mut Vec<T>, item: T, same: impl Fn(&T, &T) -> bool) {
    if list.len() < MAX_ITEMS && !list.iter().any(|x| same(x, &item)) {
        list.push(item);
    }
}

/// The event types [`event_facts`] can find facts in (anything else gives none).
pub(crate) const FACT_EVENT_TYPES: [&str; 5] = [
    "mitre_technique_mapped",
    "cve_detected",
    "green_flags",
    "verdict_nontechnical",
    "audit_result",
];

/// The facts of one event the list filters by (`audit_facts`): the MITRE techniques it
/// maps (not the runner's preliminary list, which comes as `techniques`), the CWE it
/// names, whether it brings green flags.
pub fn event_facts(event_type: &str, data: &Value) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    let flags = |v: Option<&Value>| !texts(v, &["flag", "text", "title", "name"]).is_empty();
    match event_type {
        "mitre_technique_mapped" => {
            if let Some(t) = get(data, "technique").and_then(technique) {
                out.push(("mitre", t.id));
            }
        }
        "cve_detected" => {
            if let Some(id) = get(data, "cve").and_then(|c| cwe(get(c, "cwe_id"))) {
                out.push(("cwe", id));
            }
        }
        "green_flags" if flags(get(data, "green_flags")) || flags(get(data, "flags")) => {
            out.push(("green_flags", "yes".into()));
        }
        "verdict_nontechnical" if flags(get(data, "verdict").and_then(|v| get(v, "green_flags"))) => {
            out.push(("green_flags", "yes".into()));
        }
        "audit_result" if flags(get(data, "result").and_then(|r| get(r, "green_flags"))) => {
            out.push(("green_flags", "yes".into()));
        }
        _ => {}
    }
    out
}

/// The intelligence of one run: its `events` (in order) and the audit's
/// `security_results`.
pub fn intelligence(events: &[AuditEvent], security_results: Option<&Value>) -> Intelligence {
    let mut out = Intelligence {
        security_modules: security_modules(security_results),
        ..Intelligence::default()
    };
    let empty = Value::Object(Map::new());
    let mut analysed = false;
    let mut page: Option<String> = None;
    for e in events {
        let d = e.data.as_ref().unwrap_or(&empty);
        match e.event_type.as_str() {
            "phase_complete" => analysed = true,
            "verdict_technical" => {
                out.technical_verdict = get(d, "verdict").and_then(|v| verdict(v, "recommendations"))
            }
            "verdict_nontechnical" => {
                if let Some(v) = get(d, "verdict") {
                    out.plain_verdict = verdict(v, "actionable_advice");
                    for flag in texts(get(v, "green_flags"), &["flag", "text", "title", "name"]) {
                        push_unique(&mut out.green_flags, flag, |a, b| a == b);
                    }
                }
            }
            "green_flags" => {
                for flag in texts(
                    get(d, "green_flags").or_else(|| get(d, "flags")),
                    &["flag", "text", "title", "name"],
                ) {
                    push_unique(&mut out.green_flags, flag, |a, b| a == b);
                }
            }
            "mitre_technique_mapped" => {
                let list: Vec<&Value> = match get(d, "technique") {
                    Some(t) => vec![t],
                    // The fixed list the runner sends before any analysis is no result.
                    None if !analysed => Vec::new(),
                    None => items(get(d, "techniques")).collect(),
                };
                for t in list.into_iter().filter_map(technique) {
                    push_unique(&mut out.mitre, t, |a, b| a.id == b.id);
                }
            }
            "ioc_indicator" => {
                if let Some(i) = get(d, "indicator") {
                    let value = text(get(i, "value"))
                        .or_else(|| text(get(i, "indicator")))
                        .or_else(|| text(Some(i)));
                    if let Some(value) = value {
                        push_unique(
                            &mut out.indicators,
                            Indicator {
                                kind: text(get(i, "type")).or_else(|| text(get(i, "kind"))),
                                source: text(get(i, "source")),
                                confidence: num(get(i, "confidence")),
                                value,
                            },
                            |a, b| a.value == b.value && a.kind == b.kind,
                        );
                    }
                }
            }
            "osint_result" => {
                if let Some(r) = get(d, "result") {
                    if let Some(source) = text(get(r, "source")) {
                        let mut f = facts(get(r, "data"));
                        if f.is_empty() {
                            f = facts(Some(r));
                            f.retain(|x| !matches!(x.key.as_str(), "source" | "confidence_score"));
                        }
                        push_unique(
                            &mut out.osint,
                            OsintSource {
                                source,
                                confidence: num(get(r, "confidence_score")),
                                facts: f,
                            },
                            |a, b| a.source == b.source,
                        );
                    }
                }
            }
            "threat_attribution" => out.attribution = facts(get(d, "attribution")),
            "darknet_threat" => {
                if let Some(t) = get(d, "threat") {
                    out.darknet.push(DarknetThreat {
                        source: text(get(t, "source")).unwrap_or_else(|| "darknet".into()),
                        status: None,
                        detail: get(t, "data").map(|v| cut(&v.to_string())),
                        confidence: num(get(t, "confidence")),
                    });
                }
            }
            "marketplace_threat" => {
                if let Some(t) = get(d, "threat") {
                    out.darknet.push(DarknetThreat {
                        source: text(get(t, "marketplace")).unwrap_or_else(|| "marketplace".into()),
                        status: text(get(t, "status")),
                        detail: text(get(t, "threat_level")).map(|l| format!("threat level {l}")),
                        confidence: num(get(t, "confidence")),
                    });
                }
            }
            "tor2web_anonymous_breach" => {
                if let Some(t) = get(d, "threat") {
                    out.darknet.push(DarknetThreat {
                        source: "tor2web".into(),
                        status: text(get(t, "anonymity_breach")),
                        detail: text(get(t, "recommendation")),
                        confidence: None,
                    });
                }
            }
            "cvss_metrics" => {
                if let Some(c) = cvss(d) {
                    out.cvss = Some(c);
                }
            }
            "cve_detected" => {
                if let Some(c) = get(d, "cve") {
                    if let Some(id) = cwe(get(c, "cwe_id")) {
                        push_unique(
                            &mut out.weaknesses,
                            Weakness {
                                id,
                                name: text(get(c, "name")),
                                named_by: "verdict".into(),
                            },
                            |a, b| a.id == b.id && a.named_by == b.named_by,
                        );
                    }
                }
            }
            "page_scanned" => {
                if let Some(url) = text(get(d, "url")) {
                    page = Some(url.clone());
                    out.exploration.pages.push(PageVisit {
                        url,
                        title: text(get(d, "page_title")),
                        navigation_ms: num(get(d, "navigation_time_ms")),
                    });
                }
            }
            "navigation_start" => page = text(get(d, "url")).or(page),
            "form_detected" => {
                for f in items(get(d, "forms")) {
                    out.exploration.forms.push(FormFound {
                        page: page.clone(),
                        id: text(get(f, "id")),
                        action: text(get(f, "action")),
                        method: text(get(f, "method")),
                        inputs: get(f, "inputs").and_then(Value::as_i64),
                        has_password: get(f, "has_password").and_then(Value::as_bool).unwrap_or(false),
                    });
                }
            }
            "captcha_detected" => out.exploration.captchas.push(Captcha {
                page: page.clone(),
                kind: text(get(d, "captcha_type")),
                confidence: num(get(d, "confidence")),
            }),
            "knowledge_graph" => {
                if let Some(g) = get(d, "graph").and_then(graph) {
                    out.graph = Some(g);
                }
            }
            "audit_result" => {
                let r = get(d, "result").unwrap_or(&empty);
                if let Some(info) = get(r, "domain_info").and_then(domain) {
                    out.domain = Some(info);
                }
                for flag in texts(get(r, "green_flags"), &["flag", "text", "title", "name"]) {
                    push_unique(&mut out.green_flags, flag, |a, b| a == b);
                }
                if let Some(dual) = get(r, "dual_verdict") {
                    let t = get(dual, "verdict_technical").or_else(|| get(dual, "technical"));
                    let p = get(dual, "verdict_nontechnical").or_else(|| get(dual, "non_technical"));
                    if out.technical_verdict.is_none() {
                        out.technical_verdict = t.and_then(|v| verdict(v, "recommendations"));
                    }
                    if out.plain_verdict.is_none() {
                        out.plain_verdict = p.and_then(|v| verdict(v, "actionable_advice"));
                    }
                }
                if out.technical_verdict.is_none() {
                    let recommendations = texts(get(r, "recommendations"), &["text", "recommendation"]);
                    if !recommendations.is_empty() {
                        out.technical_verdict = Some(Verdict {
                            recommendations,
                            ..Verdict::default()
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for m in &out.security_modules {
        for f in &m.findings {
            if let Some(id) = &f.cwe_id {
                push_unique(
                    &mut out.weaknesses,
                    Weakness {
                        id: id.clone(),
                        name: Some(f.title.clone()),
                        named_by: m.name.clone(),
                    },
                    |a, b| a.id == b.id && a.named_by == b.named_by,
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ev(id: i64, data: Value) -> AuditEvent {
        AuditEvent {
            id,
            event_type: data["type"].as_str().unwrap().to_string(),
            data: Some(data),
            timestamp: None,
            run: 1,
        }
    }

    #[test]
    fn the_runners_placeholders_are_not_results() {
        let events = [
            ev(
                1,
                json!({"type": "cvss_metrics", "base_score": 0.0, "metrics": [{"name": "attack_vector", "value": "CALCULATING"}]}),
            ),
            ev(
                2,
                json!({"type": "mitre_technique_mapped", "techniques": [{"id": "T1592", "name": "Gather Victim Host Information"}]}),
            ),
            ev(3, json!({"type": "phase_start", "phase": "scout"})),
        ];
        let i = intelligence(&events, None);
        assert_eq!((i.cvss, i.mitre.len()), (None, 0));

        let mut later = events.to_vec();
        later.push(ev(4, json!({"type": "phase_complete", "phase": "judge"})));
        later.push(ev(5, json!({"type": "mitre_technique_mapped", "technique": {"technique_id": "T1566.001", "name": "Spearphishing Attachment", "tactic": "Initial Access"}})));
        later.push(ev(
            6,
            json!({"type": "cvss_metrics", "base_score": 6.1, "metrics": [
            {"name": "attack_vector", "value": "N"}, {"name": "attack_complexity", "value": "L"},
            {"name": "privileges_required", "value": "N"}, {"name": "user_interaction", "value": "R"},
            {"name": "scope", "value": "U"}, {"name": "confidentiality", "value": "L"},
            {"name": "integrity", "value": "L"}, {"name": "availability", "value": "N"}]}),
        ));
        let i = intelligence(&later, None);
        assert_eq!(i.mitre.len(), 1);
        assert_eq!(
            i.mitre[0].url.as_deref(),
            Some("https://attack.mitre.org/techniques/T1566/001/")
        );
        let cvss = i.cvss.unwrap();
        assert_eq!(
            cvss.vector.as_deref(),
            Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:U/C:L/I:L/A:N")
        );
        assert_eq!(cvss.base_score, Some(6.1));
    }

    #[test]
    fn only_well_formed_technique_ids_get_a_link() {
        assert_eq!(
            mitre_technique_url("T1566").as_deref(),
            Some("https://attack.mitre.org/techniques/T1566/")
        );
        for bad in ["T15", "T1566/../x", "javascript:alert(1)", "T1566.1", "t1566"] {
            assert_eq!(mitre_technique_url(bad), None, "{bad}");
        }
    }

    #[test]
    fn modules_infer_severity_and_collect_weaknesses() {
        let results = json!({
            "security_headers": {"findings": [{"title": "CSP missing", "severity": "HIGH", "cwe_id": 693}, {"title": "XFO", "severity": "medium"}]},
            "phishing_db": {"is_phishing": true, "findings": []},
            "_meta": {"x": 1}
        });
        let i = intelligence(&[], Some(&results));
        let names: Vec<_> = i
            .security_modules
            .iter()
            .map(|m| (m.name.as_str(), m.severity.as_str()))
            .collect();
        assert_eq!(names, [("phishing_db", "critical"), ("security_headers", "high")]);
        assert_eq!(i.weaknesses[0].id, "CWE-693");
        assert_eq!(i.weaknesses[0].named_by, "security_headers");
    }

    #[test]
    fn graph_edges_need_both_ends_and_text_is_bounded() {
        let long = "x".repeat(MAX_TEXT * 2);
        let events = [ev(
            1,
            json!({"type": "knowledge_graph", "graph": {
            "nodes": [{"id": "a", "label": long, "type": "domain", "properties": {"age": 4}}, {"id": "b"}],
            "edges": [{"source": "a", "target": "b", "relationship": "r"}, {"source": "a", "target": "zzz"}]}}),
        )];
        let g = intelligence(&events, None).graph.unwrap();
        assert_eq!((g.nodes.len(), g.edges.len()), (2, 1));
        assert!(g.nodes[0].label.chars().count() <= MAX_TEXT + 1);
        assert_eq!(
            g.nodes[0].facts,
            vec![Fact {
                key: "age".into(),
                value: "4".into()
            }]
        );
        assert_eq!(g.nodes[1].label, "b");
    }
}
