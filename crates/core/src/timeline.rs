//! An audit's timeline as a person reads it: its phases with start, end and duration, and
//! every event as a log line attributed to the phase it happened in. Computed here, once,
//! from the events as stored, so that the app and any other caller read the same story.

use serde::Serialize;
use serde_json::Value;

use crate::model::AuditEvent;

/// How a phase stands.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PhaseStatus {
    /// Started, not ended (or the audit stopped during it).
    Running,
    Done,
    /// A `phase_error` came, even if the phase later completed.
    Error,
}

/// One phase of an audit.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Phase {
    /// The backend's name (`init`, `scout`, ...).
    pub phase: String,
    /// When it first started (ISO), if a `phase_start` came.
    pub start: Option<String>,
    /// When it last completed or failed (ISO).
    pub end: Option<String>,
    /// From start to end, where both are known times.
    pub seconds: Option<f64>,
    pub status: PhaseStatus,
    /// What its `phase_error` said.
    pub error: Option<String>,
}

/// One event as a line of the log.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogEntry {
    pub at: Option<String>,
    /// The phase it names, else the phase it happened in.
    pub phase: Option<String>,
    /// Its own `level`, else `error` for errors and `info` for the rest.
    pub level: String,
    pub agent: Option<String>,
    /// Its own message or error, else a description of what it is.
    pub message: String,
    /// The event's type.
    pub event_type: String,
    /// What sort of event it is, for filtering a long log: `phase`, `log`, `agent`,
    /// `navigation`, `vision`, `finding`, `security`, `intel`, `verdict`, `screenshot`,
    /// `progress`, `audit`, or `other`.
    pub kind: String,
}

/// The sort of an event type (see [`LogEntry::kind`]).
pub fn event_kind(event_type: &str) -> &'static str {
    match event_type {
        "phase_start" | "phase_complete" | "phase_error" => "phase",
        "log_entry" => "log",
        "agent_personality" | "agent_performance" => "agent",
        "navigation_start"
        | "navigation_complete"
        | "page_scanned"
        | "exploration_path"
        | "form_detected"
        | "captcha_detected"
        | "site_type" => "navigation",
        "vision_pass_start"
        | "vision_pass_findings"
        | "vision_pass_complete"
        | "vision_start"
        | "vision_complete"
        | "temporal_finding" => "vision",
        "finding" | "dark_pattern_finding" => "finding",
        "security_result"
        | "security_module_result"
        | "owasp_module_result"
        | "cvss_metrics"
        | "cve_detected"
        | "darknet_analysis_result" => "security",
        "osint_result"
        | "darknet_threat"
        | "ioc_indicator"
        | "ioc_detection_complete"
        | "marketplace_threat"
        | "exit_scam_detected"
        | "tor2web_anonymous_breach"
        | "mitre_technique_mapped"
        | "threat_attribution"
        | "verification_result"
        | "graph_inconsistency"
        | "knowledge_graph"
        | "graph_analysis"
        | "domain_intel" => "intel",
        "verdict_technical" | "verdict_nontechnical" | "dual_verdict_complete" | "green_flags" => "verdict",
        "screenshot" => "screenshot",
        "stats_update" => "progress",
        "audit_start" | "audit_result" | "audit_complete" | "audit_error" => "audit",
        _ => "other",
    }
}

/// The phases and the log of an audit.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timeline {
    /// In the order they started.
    pub phases: Vec<Phase>,
    pub log: Vec<LogEntry>,
}

/// The timeline of `events` (in the order they were received).
pub fn timeline(events: &[AuditEvent]) -> Timeline {
    Timeline {
        phases: phases(events),
        log: log(events),
    }
}

fn field<'a>(data: Option<&'a Value>, key: &str) -> Option<&'a Value> {
    data?.as_object()?.get(key)
}

/// A field as text: strings as they are, other values as JSON, null as nothing.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

fn phases(events: &[AuditEvent]) -> Vec<Phase> {
    let mut out: Vec<Phase> = Vec::new();
    for e in events {
        if !matches!(
            e.event_type.as_str(),
            "phase_start" | "phase_complete" | "phase_error"
        ) {
            continue;
        }
        let Some(name) = text(field(e.data.as_ref(), "phase")).filter(|n| !n.is_empty()) else {
            continue;
        };
        let at = match out.iter().position(|p| p.phase == name) {
            Some(i) => i,
            None => {
                out.push(Phase {
                    phase: name,
                    start: None,
                    end: None,
                    seconds: None,
                    status: PhaseStatus::Running,
                    error: None,
                });
                out.len() - 1
            }
        };
        let p = &mut out[at];
        match e.event_type.as_str() {
            "phase_start" => {
                p.start = p.start.take().or_else(|| e.timestamp.clone());
            }
            kind => {
                p.end = e.timestamp.clone();
                if kind == "phase_error" {
                    p.status = PhaseStatus::Error;
                    p.error = text(field(e.data.as_ref(), "error"))
                        .or_else(|| text(field(e.data.as_ref(), "message")));
                } else if p.status != PhaseStatus::Error {
                    p.status = PhaseStatus::Done;
                }
            }
        }
    }
    for p in &mut out {
        let at = |t: &Option<String>| t.as_deref().and_then(crate::time::parse);
        if let (Some(start), Some(end)) = (at(&p.start), at(&p.end)) {
            p.seconds = Some((end - start).num_milliseconds() as f64 / 1000.0);
        }
    }
    out
}

/// A line of text for an event that carries no message of its own.
fn describe(e: &AuditEvent) -> String {
    let d = e.data.as_ref();
    match e.event_type.as_str() {
        "screenshot" => format!(
            "{} #{}",
            text(field(d, "label")).unwrap_or_else(|| "screenshot".into()),
            text(field(d, "index")).unwrap_or_else(|| "?".into())
        ),
        "site_type" => format!(
            "classified as {}",
            text(field(d, "site_type")).unwrap_or_else(|| "?".into())
        ),
        "finding" => {
            let f = field(d, "finding");
            format!(
                "{} {}",
                text(field(f, "severity")).unwrap_or_default(),
                text(field(f, "pattern_type")).unwrap_or_else(|| "finding".into())
            )
            .trim()
            .to_string()
        }
        "security_result" => format!(
            "{} result",
            text(field(d, "module")).unwrap_or_else(|| "security".into())
        ),
        "stats_update" => "counters updated".into(),
        "navigation_start" => format!("navigating to {}", text(field(d, "url")).unwrap_or_default()),
        "navigation_complete" => format!(
            "loaded {} in {} ms",
            text(field(d, "url")).unwrap_or_default(),
            text(field(d, "duration_ms")).unwrap_or_else(|| "?".into())
        ),
        "page_scanned" => format!(
            "page {} ({})",
            text(field(d, "page_title")).map_or_else(|| "scanned".into(), |t| format!("{t:?}")),
            text(field(d, "url")).unwrap_or_default()
        ),
        "form_detected" => format!(
            "{} form(s) found",
            text(field(d, "count")).unwrap_or_else(|| "?".into())
        ),
        "agent_personality" => format!(
            "{} {}",
            text(field(d, "agent")).unwrap_or_else(|| "agent".into()),
            text(field(d, "context")).unwrap_or_default()
        )
        .trim()
        .to_string(),
        "vision_pass_start" => format!(
            "vision pass {}: {}",
            text(field(d, "pass")).unwrap_or_else(|| "?".into()),
            text(field(d, "description")).unwrap_or_else(|| "started".into())
        ),
        "vision_pass_findings" => format!(
            "vision pass {}: {} finding(s)",
            text(field(d, "pass")).unwrap_or_else(|| "?".into()),
            field(d, "findings").and_then(Value::as_array).map_or(0, Vec::len)
        ),
        "vision_pass_complete" => format!(
            "vision pass {} complete: {} finding(s)",
            text(field(d, "pass")).unwrap_or_else(|| "?".into()),
            text(field(d, "findings_count")).unwrap_or_else(|| "?".into())
        ),
        "dark_pattern_finding" => {
            let f = field(d, "finding");
            format!(
                "dark pattern: {}",
                text(field(f, "pattern_type")).unwrap_or_else(|| "unknown".into())
            )
        }
        "mitre_technique_mapped" => match field(d, "technique") {
            Some(t) => format!(
                "MITRE {} {}",
                text(field(Some(t), "technique_id"))
                    .or_else(|| text(field(Some(t), "id")))
                    .unwrap_or_default(),
                text(field(Some(t), "name")).unwrap_or_default()
            )
            .trim()
            .to_string(),
            None => "MITRE techniques (preliminary list)".into(),
        },
        "cvss_metrics" => match text(field(d, "base_score")) {
            Some(score) if score != "0.0" && score != "0" => format!("CVSS base score {score}"),
            _ => "CVSS being calculated".into(),
        },
        other => other.replace('_', " "),
    }
}

fn log(events: &[AuditEvent]) -> Vec<LogEntry> {
    let mut current: Option<String> = None;
    events
        .iter()
        .map(|e| {
            let d = e.data.as_ref();
            let phase = text(field(d, "phase"));
            if e.event_type == "phase_start" && phase.is_some() {
                current = phase.clone();
            }
            let level = text(field(d, "level")).unwrap_or_else(|| {
                if matches!(e.event_type.as_str(), "phase_error" | "audit_error") {
                    "error".into()
                } else {
                    "info".into()
                }
            });
            LogEntry {
                at: e.timestamp.clone(),
                phase: phase.or_else(|| current.clone()),
                level,
                agent: text(field(d, "agent")),
                message: text(field(d, "message"))
                    .or_else(|| text(field(d, "error")))
                    .unwrap_or_else(|| describe(e)),
                event_type: e.event_type.clone(),
                kind: event_kind(&e.event_type).to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ev(id: i64, event_type: &str, data: Value, at: &str) -> AuditEvent {
        let mut data = data;
        data["type"] = json!(event_type);
        AuditEvent {
            id,
            event_type: event_type.into(),
            data: Some(data),
            timestamp: Some(at.into()),
            run: 1,
        }
    }

    fn events() -> Vec<AuditEvent> {
        vec![
            ev(
                1,
                "phase_start",
                json!({"phase": "init", "pct": 0}),
                "2026-02-23T10:00:00Z",
            ),
            ev(
                2,
                "log_entry",
                json!({"agent": "init", "message": "hello", "level": "info"}),
                "2026-02-23T10:00:01Z",
            ),
            ev(
                3,
                "phase_complete",
                json!({"phase": "init", "pct": 10}),
                "2026-02-23T10:00:04Z",
            ),
            ev(
                4,
                "phase_start",
                json!({"phase": "graph"}),
                "2026-02-23T10:00:05Z",
            ),
            ev(
                5,
                "phase_error",
                json!({"phase": "graph", "error": "WHOIS timeout"}),
                "2026-02-23T10:00:35Z",
            ),
            ev(
                6,
                "phase_start",
                json!({"phase": "judge"}),
                "2026-02-23T10:00:40Z",
            ),
        ]
    }

    #[test]
    fn phases_have_durations_errors_marked_and_unfinished_ones_running() {
        let p = phases(&events());
        let got: Vec<_> = p
            .iter()
            .map(|x| (x.phase.as_str(), x.status, x.seconds))
            .collect();
        assert_eq!(
            got,
            [
                ("init", PhaseStatus::Done, Some(4.0)),
                ("graph", PhaseStatus::Error, Some(30.0)),
                ("judge", PhaseStatus::Running, None),
            ]
        );
        assert_eq!(p[1].error.as_deref(), Some("WHOIS timeout"));
    }

    #[test]
    fn an_error_marks_its_phase_even_if_it_later_completed() {
        let mut e = events();
        e.push(ev(
            7,
            "phase_complete",
            json!({"phase": "graph"}),
            "2026-02-23T10:00:39Z",
        ));
        let graph = phases(&e).into_iter().find(|p| p.phase == "graph").unwrap();
        assert_eq!((graph.status, graph.seconds), (PhaseStatus::Error, Some(34.0)));
    }

    #[test]
    fn events_without_a_message_are_described() {
        let log = log(&[
            ev(
                1,
                "screenshot",
                json!({"label": "fullpage", "index": 2, "data": null}),
                "2026-02-23T10:00:00Z",
            ),
            ev(
                2,
                "finding",
                json!({"finding": {"pattern_type": "countdown_timer", "severity": "high"}}),
                "2026-02-23T10:00:01Z",
            ),
            ev(3, "brand_new_thing", json!({}), "2026-02-23T10:00:02Z"),
        ]);
        let messages: Vec<_> = log.iter().map(|l| l.message.as_str()).collect();
        assert_eq!(
            messages,
            ["fullpage #2", "high countdown_timer", "brand new thing"]
        );
    }

    #[test]
    fn log_entries_are_attributed_to_the_phase_they_happened_in() {
        let log = log(&events());
        let line = |i: usize| {
            let l = &log[i];
            (l.phase.as_deref(), l.level.as_str(), l.message.as_str())
        };
        assert_eq!(line(1), (Some("init"), "info", "hello"));
        assert_eq!(log[1].agent.as_deref(), Some("init"));
        assert_eq!(line(4), (Some("graph"), "error", "WHOIS timeout"));
    }

    #[test]
    fn the_current_runners_events_are_all_known_and_described() {
        let recording = include_str!("../../../tests/fixtures/elliot_stream.ndjson");
        let events: Vec<AuditEvent> = recording
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let data: Value = serde_json::from_str(line).unwrap();
                let kind = data["type"].as_str().unwrap().to_string();
                ev(i as i64, &kind, data, "2026-02-23T10:00:00Z")
            })
            .collect();
        let log = timeline(&events).log;
        let unknown: Vec<_> = log
            .iter()
            .filter(|l| l.kind == "other")
            .map(|l| &l.event_type)
            .collect();
        assert!(unknown.is_empty(), "not given a kind: {unknown:?}");
        let line = |t: &str| log.iter().find(|l| l.event_type == t).unwrap().message.clone();
        assert_eq!(line("navigation_start"), "navigating to https://shop.example.com");
        assert_eq!(line("vision_pass_findings"), "vision pass 1: 1 finding(s)");
        assert_eq!(
            line("mitre_technique_mapped"),
            "MITRE techniques (preliminary list)"
        );
        assert_eq!(line("cvss_metrics"), "CVSS being calculated");
    }
}
