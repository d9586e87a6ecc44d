//! Validating one line of the event stream (docs/EVENT_STREAM.md) into what it does.
//! Everything here is untrusted: every field is checked for type and range, and a line
//! that fails is rejected with a reason that names the field.

use serde_json::Value;

use super::fields::{
    audit_id_field, identifier, int_field, invalid, missing, num_field, object_field, required_str,
    str_field, wrong_type, Fields,
};
use super::rejection::Rejection;
use crate::ids::AuditId;
use crate::model::{AuditFields, AuditStatus, NewFinding, SEVERITIES};
use crate::write::{AuditResult, Effect};

/// A line, understood.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    /// The audit named by an envelope (`{"audit_id", "event"}`); `None` for a bare event.
    pub envelope_audit: Option<AuditId>,
    /// The event's `type`.
    pub event_type: String,
    /// What it does to its audit. Screenshots come as [`Pending::Screenshot`] instead,
    /// because their bytes must be stored first.
    pub effect: Effect,
    pub pending: Option<Pending>,
    /// The audit the event names in its own `audit_id` field, if any (for `audit_start`,
    /// the audit it opens; the current backend names it in every event).
    pub names_audit: Option<AuditId>,
    /// How the producer identifies the event: its `event_id`, else its `sequence` (the
    /// backend's `event_id` is `<audit>:<sequence>`), with a hash of the whole event.
    pub identity: Option<EventIdentity>,
    /// The audited site's url, where the event tells it (an audit created by its first
    /// event has `''` until one does).
    pub url_hint: Option<String>,
    /// The event as it will be kept in the timeline (screenshot bytes left out).
    pub data: Value,
}

/// What makes an event the same event when it is received again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventIdentity {
    /// The producer's id, or `None` to make it `<audit>:<sequence>` once the audit is known.
    pub event_id: Option<String>,
    pub sequence: Option<i64>,
    /// Hex SHA-256 prefix of the event as received (bytes of screenshots included).
    pub hash: String,
}

impl EventIdentity {
    /// The event's id within `audit`.
    pub fn id_in(&self, audit: &AuditId) -> Option<String> {
        match (&self.event_id, self.sequence) {
            (Some(id), _) => Some(id.clone()),
            (None, Some(seq)) => Some(format!("{audit}:{seq}")),
            (None, None) => None,
        }
    }
}

/// Work to do before the effect can be written.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    /// Store these image bytes (already decoded and checked) as screenshot `index`.
    Screenshot {
        bytes: Vec<u8>,
        label: String,
        index: i64,
    },
}

/// Python's `str(float)` for the values producers send (`0.85`, `1.0`): the backend derives
/// a finding's id as `pattern_type + str(confidence)`, and so must this.
fn python_float(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e16 {
        format!("{v:.1}")
    } else {
        format!("{v}")
    }
}

/// How strictly a finding object is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `finding` and `audit_result.findings`: pattern type, severity and confidence given.
    Strict,
    /// The judge's summary and the vision passes (`pattern` / `evidence` keys, severity or
    /// confidence left out): the backend's own defaults fill them in as it stores them
    /// (`backend/routes/audit.py`: medium, 0.5).
    Lenient,
}

/// The first of `keys` that holds a string.
fn first_str<'a>(o: &'a Fields, keys: &[&str]) -> Result<Option<&'a str>, Rejection> {
    for key in keys {
        if let Some(v) = str_field(o, key)? {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// A CWE id as `CWE-<n>`, from `79`, `"79"` or `"CWE-79"`.
fn cwe_field(o: &Fields) -> Result<Option<String>, Rejection> {
    let raw = match o.get("cwe_id") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(other) => return Err(wrong_type("cwe_id", "a string or number", other)),
    };
    crate::vocabulary::cwe_id(&raw)
        .map(Some)
        .ok_or_else(|| Rejection::NotAllowed {
            field: "cwe_id".into(),
            value: format!("{:?}", crate::ids::quote_prefix(&raw)),
            why: "is not a CWE id (CWE-<number>)".into(),
        })
}

/// Validate a finding object (of a finding event, a vision pass or an `audit_result`).
pub fn finding(o: &Fields, shape: Shape) -> Result<NewFinding, Rejection> {
    let pattern_type = match (first_str(o, &["pattern_type", "pattern", "sub_type"])?, shape) {
        (Some(p), _) if !p.trim().is_empty() => p.to_string(),
        (Some(_), _) => return Err(invalid("pattern_type", "is empty")),
        (None, Shape::Lenient) => "unknown".to_string(),
        (None, Shape::Strict) => return Err(missing("pattern_type")),
    };
    let severity = match (str_field(o, "severity")?, shape) {
        (Some(s), _) => s.to_lowercase(),
        (None, Shape::Lenient) => "medium".to_string(),
        (None, Shape::Strict) => return Err(missing("severity")),
    };
    if !SEVERITIES.contains(&severity.as_str()) {
        return Err(Rejection::NotAllowed {
            field: "severity".into(),
            value: format!("{:?}", crate::ids::quote_prefix(&severity)),
            why: format!("is not one of {}", SEVERITIES.join(", ")),
        });
    }
    let confidence = match (num_field(o, "confidence", 0.0..=1.0)?, shape) {
        (Some(c), _) => c,
        (None, Shape::Lenient) => 0.5,
        (None, Shape::Strict) => return Err(missing("confidence")),
    };
    let key = match o.get("id") {
        None | Some(Value::Null) => format!("{pattern_type}{}", python_float(confidence)),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(wrong_type("finding id", "a string or number", other)),
    };
    Ok(NewFinding {
        created_at: None,
        run: None,
        key: Some(key),
        category: str_field(o, "category")?.map(str::to_string),
        description: first_str(o, &["description", "evidence"])?
            .unwrap_or_default()
            .to_string(),
        plain_english: str_field(o, "plain_english")?.map(str::to_string),
        screenshot_index: int_field(o, "screenshot_index", -1)?.filter(|i| *i >= 0),
        cwe_id: cwe_field(o)?,
        cvss_score: num_field(o, "cvss_score", 0.0..=10.0)?,
        pattern_type,
        severity,
        confidence,
        ..NewFinding::default()
    })
}

/// The most findings one list of one event may carry. Its findings are stored in one
/// transaction, which holds the database's write lock: 5,000 keep that well under a
/// second on this machine (a million held it 54 s, and another producer gave up waiting).
pub const MAX_FINDINGS_PER_EVENT: usize = 5_000;

/// The finding objects of array `items` (named `field` in reasons).
fn findings_of(field: &str, items: &Value, shape: Shape) -> Result<Vec<NewFinding>, Rejection> {
    match items {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) if items.len() > MAX_FINDINGS_PER_EVENT => Err(Rejection::NotAllowed {
            field: field.to_string(),
            value: String::new(),
            why: format!(
                "holds {} findings, more than the {MAX_FINDINGS_PER_EVENT} one event may carry",
                items.len()
            ),
        }),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, f)| match f {
                Value::Object(m) => {
                    finding(m, shape).map_err(|e| Rejection::within(format!("{field}[{i}]"), e))
                }
                other => Err(wrong_type(format!("{field}[{i}]"), "an object", other)),
            })
            .collect(),
        other => Err(wrong_type(field, "an array", other)),
    }
}

fn audit_result(o: &Fields) -> Result<AuditResult, Rejection> {
    // The current backend sends the orchestrator's own status here ("unknown" among
    // them); `audit_complete` / `audit_error` set the audit's, so one it does not know
    // is kept in the event and changes nothing.
    let status = str_field(o, "status")?.and_then(AuditStatus::parse);
    let risk_level = match str_field(o, "risk_level")? {
        None => None,
        Some(r) => Some(identifier("risk_level", r)?.to_lowercase()),
    };
    let signal_scores = match object_field(o, "signal_scores")? {
        None => None,
        Some(m) => {
            for (k, v) in m {
                if let Some(x) = v.as_f64() {
                    if !(0.0..=100.0).contains(&x) {
                        return Err(Rejection::OutOfRange {
                            field: format!("signal score {}", crate::ids::quote_prefix(k)),
                            value: x.to_string(),
                            range: "0 to 100".into(),
                        });
                    }
                } else if !v.is_null() {
                    // A score that is no number would be shown (and compared) as one.
                    return Err(wrong_type(
                        format!("signal score {:?}", crate::ids::quote_prefix(k)),
                        "a number",
                        v,
                    ));
                }
            }
            Some(Value::Object(m.clone()))
        }
    };
    let mut findings = match o.get("findings") {
        None => Vec::new(),
        Some(items) => findings_of("findings", items, Shape::Strict)?,
    };
    // The current backend: the judge's summary, in its own shape (or a bare list).
    match o.get("dark_pattern_summary") {
        None | Some(Value::Null) => {}
        Some(Value::Object(summary)) => {
            if let Some(items) = summary.get("findings") {
                findings.extend(findings_of(
                    "dark_pattern_summary.findings",
                    items,
                    Shape::Lenient,
                )?);
            }
        }
        Some(items @ Value::Array(_)) => {
            findings.extend(findings_of("dark_pattern_summary", items, Shape::Lenient)?)
        }
        Some(other) => return Err(wrong_type("dark_pattern_summary", "an object", other)),
    }
    let url = str_field(o, "url")?.filter(|u| !u.is_empty());
    // The same rule as audit_start's url: one line of text (a url with ESC or CR in it
    // reached the terminal through `list`).
    if url.is_some_and(|u| u.len() > 8192 || u.chars().any(char::is_control)) {
        return Err(invalid("url", "must be a line of text (no control characters)"));
    }
    Ok(AuditResult {
        url: url.map(str::to_string),
        status,
        fields: AuditFields {
            audit_tier: str_field(o, "audit_tier")?.map(str::to_string),
            verdict_mode: str_field(o, "verdict_mode")?.map(str::to_string),
            trust_score: num_field(o, "trust_score", 0.0..=100.0)?,
            risk_level,
            signal_scores,
            narrative: str_field(o, "narrative")?.map(str::to_string),
            site_type: str_field(o, "site_type")?.map(str::to_string),
            site_type_confidence: num_field(o, "site_type_confidence", 0.0..=1.0)?,
            security_results: object_field(o, "security_results")?.map(|m| Value::Object(m.clone())),
            pages_scanned: int_field(o, "pages_scanned", 0)?,
            elapsed_seconds: num_field(o, "elapsed_seconds", 0.0..=f64::MAX)?,
            errors: o.get("errors").filter(|v| !v.is_null()).cloned(),
            ..AuditFields::default()
        },
        screenshots_count: int_field(o, "screenshots_count", 0)?,
        findings,
    })
}

/// Where in `v` a string or a key holds a NUL character (`""` for `v` itself): JSON's
/// `\u0000` escape decodes to one, so a line without a raw NUL byte can still carry it into
/// TEXT columns and exports. The path is built only for the one found.
fn nul_inside(v: &Value) -> Option<String> {
    // `head` then the rest of the path below it.
    let join = |head: String, rest: String| match rest.chars().next() {
        None => head,
        Some('[') => head + &rest,
        Some(_) => format!("{head}.{rest}"),
    };
    let key = |k: &str| k.chars().take(60).collect::<String>().replace('\0', "\\u0000");
    match v {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_inside(item).map(|rest| join(format!("[{i}]"), rest))),
        Value::Object(o) => o.iter().find_map(|(k, item)| {
            if k.contains('\0') {
                Some(key(k))
            } else {
                nul_inside(item).map(|rest| join(key(k), rest))
            }
        }),
        _ => None,
    }
}

/// Parse one line. `Err` is the reason it is rejected.
pub fn parse_line(line: &str) -> Result<ParsedLine, Rejection> {
    if line.contains('\0') {
        return Err(Rejection::Nul);
    }
    let value: Value = serde_json::from_str(line).map_err(|e| Rejection::NotJson(e.to_string()))?;
    if let Some(field) = nul_inside(&value) {
        return Err(Rejection::NotAllowed {
            field: if field.is_empty() {
                "the line".into()
            } else {
                field
            },
            value: String::new(),
            why: "holds a NUL character (\\u0000), which no text of an audit may carry".into(),
        });
    }
    let Value::Object(outer) = value else {
        return Err(wrong_type("", "a JSON object", &value));
    };
    let (envelope_audit, mut event) = match outer.get("event") {
        Some(Value::Object(inner)) => {
            let id = required_str(&outer, "audit_id").map_err(|e| Rejection::within("envelope", e))?;
            (Some(audit_id_field(id)?), inner.clone())
        }
        Some(other) => return Err(wrong_type("event", "an object", other)),
        None => (None, outer),
    };
    let event_type = required_str(&event, "type")?.to_string();
    if event_type.is_empty() || event_type.len() > 100 || event_type.chars().any(char::is_control) {
        return Err(Rejection::NotAllowed {
            field: "type".into(),
            value: format!("{:?}", crate::ids::quote_prefix(&event_type)),
            why: "is not an event type".into(),
        });
    }
    let identity = event_identity(&event)?;
    let mut names_audit = match (&envelope_audit, str_field(&event, "audit_id")?) {
        (Some(env), Some(own)) if env.as_str() != own => {
            return Err(Rejection::EnvelopeMismatch {
                envelope: env.to_string(),
                named: crate::ids::quote_prefix(own).to_string(),
            })
        }
        (_, Some(own)) => Some(audit_id_field(own)?),
        (_, None) => None,
    };
    let url_hint = url_hint(&event_type, &event);
    let mut pending = None;
    let effect = match event_type.as_str() {
        "audit_start" => {
            let id = match (&envelope_audit, &names_audit) {
                (Some(env), _) => env.clone(),
                (None, Some(own)) => own.clone(),
                (None, None) => return Err(missing("audit_id")),
            };
            names_audit = Some(id);
            let url = required_str(&event, "url")?;
            if url.trim().is_empty() || url.len() > 8192 || url.chars().any(char::is_control) {
                return Err(invalid("url", "must be a non-empty line of text"));
            }
            Effect::Create {
                url: url.to_string(),
                audit_tier: str_field(&event, "tier")?.map(str::to_string),
                verdict_mode: str_field(&event, "verdict_mode")?.map(str::to_string),
            }
        }
        "phase_start" | "phase_complete" | "phase_error" | "log_entry" => {
            str_field(&event, "phase")?;
            str_field(&event, "message")?;
            num_field(&event, "pct", 0.0..=100.0)?;
            Effect::None
        }
        "screenshot" => {
            let index = int_field(&event, "index", 0)?.ok_or_else(|| missing("index"))?;
            let label = str_field(&event, "label")?
                .map(str::to_string)
                .unwrap_or_else(|| format!("screenshot_{index}"));
            let producer_path = str_field(&event, "url")?.unwrap_or("").to_string();
            match str_field(&event, "data")? {
                Some(data) => {
                    let bytes =
                        super::base64::decode_base64(data).map_err(|e| Rejection::Screenshot(e.message))?;
                    crate::screenshots::inspect(&bytes).map_err(|e| Rejection::Screenshot(e.message))?;
                    pending = Some(Pending::Screenshot { bytes, label, index });
                    // The timeline keeps the event without its bytes.
                    event.insert("data".into(), Value::Null);
                    Effect::None
                }
                None if producer_path.is_empty() => {
                    return Err(invalid("screenshot", "has neither data nor url"))
                }
                None => Effect::Screenshot(crate::model::NewScreenshot {
                    created_at: None,
                    run: None,
                    file_path: producer_path,
                    label,
                    index,
                    file_size_bytes: None,
                }),
            }
        }
        "site_type" => Effect::SiteType {
            site_type: required_str(&event, "site_type")?.to_string(),
            confidence: num_field(&event, "confidence", 0.0..=1.0)?,
        },
        "security_result" => Effect::Security {
            module: identifier("module", required_str(&event, "module")?)?.to_string(),
            result: event.get("result").cloned().unwrap_or(Value::Null),
        },
        "finding" => {
            let f = object_field(&event, "finding")?.ok_or_else(|| missing("finding"))?;
            Effect::Findings(vec![finding(f, Shape::Strict)?])
        }
        // The current runner sends each finding again in these; the writer knows them as
        // the same finding and keeps one row with the richest text.
        "dark_pattern_finding" => {
            let f = object_field(&event, "finding")?.ok_or_else(|| missing("finding"))?;
            Effect::Findings(vec![finding(f, Shape::Lenient)?])
        }
        "vision_pass_findings" => Effect::Findings(findings_of(
            "findings",
            event.get("findings").unwrap_or(&Value::Null),
            Shape::Lenient,
        )?),
        "stats_update" => {
            let s = object_field(&event, "stats")?.ok_or_else(|| missing("stats"))?;
            Effect::Stats {
                pages_scanned: int_field(s, "pages_scanned", 0)?,
                screenshots: int_field(s, "screenshots", 0)?,
                elapsed_seconds: num_field(s, "elapsed_seconds", 0.0..=f64::MAX)?,
            }
        }
        "audit_result" => {
            let r = object_field(&event, "result")?.ok_or_else(|| missing("result"))?;
            Effect::Result(Box::new(
                audit_result(r).map_err(|e| Rejection::within("result", e))?,
            ))
        }
        "audit_complete" | "audit_error" => {
            if event_type == "audit_complete" {
                Effect::Complete
            } else {
                let message = match event.get("error") {
                    None | Some(Value::Null) => None,
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                };
                Effect::Failed { message }
            }
        }
        // The stream will grow: unknown types are kept in the timeline, never rejected.
        _ => Effect::None,
    };
    Ok(ParsedLine {
        envelope_audit,
        event_type,
        effect,
        pending,
        names_audit,
        identity,
        url_hint,
        data: Value::Object(event),
    })
}

/// The event's identity, if the producer gave it one (`event_id` or `sequence`).
fn event_identity(event: &Fields) -> Result<Option<EventIdentity>, Rejection> {
    let event_id = match str_field(event, "event_id")? {
        Some(id) if id.is_empty() || id.len() > 200 || id.chars().any(char::is_control) => {
            return Err(invalid("event_id", "must be a short line of text"))
        }
        id => id.map(str::to_string),
    };
    let sequence = int_field(event, "sequence", 0)?;
    if event_id.is_none() && sequence.is_none() {
        return Ok(None);
    }
    use sha2::Digest;
    let digest = sha2::Sha256::digest(Value::Object(event.clone()).to_string().as_bytes());
    let hash = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    Ok(Some(EventIdentity {
        event_id,
        sequence,
        hash,
    }))
}

/// The audited site's url, from the events that tell it: the result, and the first page
/// the scout navigated to (`scout_results[0].url`, the audit's own url).
fn url_hint(event_type: &str, event: &Fields) -> Option<String> {
    let url = match event_type {
        "audit_result" => event.get("result")?.get("url")?.as_str()?,
        "navigation_start" | "page_scanned" => event.get("url")?.as_str()?,
        "exploration_path" => event.get("base_url")?.as_str()?,
        _ => return None,
    };
    let plausible = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() <= 8192
        && !url.chars().any(char::is_control);
    plausible.then(|| url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(line: &str) -> String {
        parse_line(line).unwrap_err().to_string()
    }

    #[test]
    fn a_finding_without_id_gets_the_backends_derived_id() {
        let p = parse_line(r#"{"type":"finding","finding":{"pattern_type":"countdown_timer","severity":"HIGH","confidence":1,"description":"d"}}"#).unwrap();
        match p.effect {
            Effect::Findings(mut f) if f.len() == 1 => {
                let f = f.remove(0);
                assert_eq!(
                    f.key.as_deref(),
                    Some("countdown_timer1.0"),
                    "str(1.0) in Python is '1.0'"
                );
                assert_eq!(f.severity, "high");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_fields_are_named_in_the_reason() {
        // Every case is checked before any is reported, so one failure hides no other.
        let cases = [
            (
                r#"{"type":"audit_result","result":{"trust_score":250}}"#,
                "trust_score 250 is out of range",
            ),
            (
                r#"{"audit_id":"../x","event":{"type":"log_entry"}}"#,
                "not a plain identifier",
            ),
            (r#"{"type":"phase_start","pct":"half"}"#, "pct must be a number"),
            (
                r#"{"type":"finding","finding":{"pattern_type":"x","severity":"extreme","confidence":0.5}}"#,
                "severity \"extreme\" is not one of",
            ),
            (r#"{"type":"log_en"#, "not valid JSON"),
            ("{\"type\":\"log_entry\",\"message\":\"a\0b\"}", "NUL"),
            // The escape decodes to the same NUL: refused too, naming where it is.
            (
                r#"{"type":"finding","finding":{"pattern_type":"x\u0000y","severity":"low","confidence":0.5,"description":"d"}}"#,
                "finding.pattern_type holds a NUL character",
            ),
            (
                r#"{"type":"audit_result","result":{"findings":[{"pattern_type":"x","severity":"low","confidence":0.5,"description":"a\u0000"}]}}"#,
                "result.findings[0].description holds a NUL character",
            ),
            // Issue 16, bug 3: the result's url is one line of text, as audit_start's is.
            (
                r#"{"type":"audit_result","result":{"url":"https://x\u001b]0;pwned\u0007/\rvrts_fake"}}"#,
                "result: url must be a line of text",
            ),
            (
                r#"{"type":"audit_result","result":{"signal_scores":{"visual":{"a":1}}}}"#,
                "result: signal score \"visual\" must be a number, not an object",
            ),
            (
                r#"{"type":"audit_result","result":{"signal_scores":"high"}}"#,
                "result: signal_scores must be an object, not a string",
            ),
            (r#"[1,2]"#, "must be a JSON object"),
            (r#"{"type":"screenshot","index":0,"data":"%%%"}"#, "base64"),
            (
                r#"{"type":"screenshot","index":0,"data":"aGVsbG8gd29ybGQ="}"#,
                "not a PNG",
            ),
            (
                r#"{"type":"audit_result","result":{"findings":[{"pattern_type":"x","severity":"low"}]}}"#,
                "result: findings[0]: confidence is missing",
            ),
        ];
        let wrong: Vec<String> = cases
            .iter()
            .filter_map(|(line, says)| {
                let got = reason(line);
                (!got.contains(says)).then(|| format!("{line}: said {got:?}, not {says:?}"))
            })
            .collect();
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_hostile_value_is_quoted_short() {
        let long = "x".repeat(10_000);
        let got = reason(&format!(r#"{{"type":"{long}/"}}"#));
        assert!(got.len() < 200, "quoted {} bytes: {got}", got.len());
        assert!(got.starts_with("type \"xxx") && got.contains('…'), "{got}");
        // Issue 16, bug 4: a 10,000-character id, and a long severity, quoted short too.
        for line in [
            format!(r#"{{"type":"log_entry","audit_id":"{long}"}}"#),
            format!(
                r#"{{"type":"finding","finding":{{"pattern_type":"p","severity":"{long}","confidence":0.5}}}}"#
            ),
        ] {
            let got = reason(&line);
            assert!(
                got.len() < 200 && got.contains('…'),
                "quoted {} bytes: {got}",
                got.len()
            );
        }
    }

    #[test]
    fn unknown_types_are_kept() {
        let p = parse_line(r#"{"type":"brand_new_thing","x":1}"#).unwrap();
        assert_eq!(
            (p.event_type.as_str(), &p.effect),
            ("brand_new_thing", &Effect::None)
        );
    }

    proptest::proptest! {
        /// Issue 16's fuzzing: no line makes the parser panic, and a rejection quotes at
        /// most a short piece of what it was given.
        #[test]
        fn fuzz_parse_line_never_panics_and_quotes_short(line in crate::fuzzing::stream_line()) {
            if let Err(e) = parse_line(&line) {
                let said = e.to_string();
                proptest::prop_assert!(said.len() <= 600, "a {}-byte reason for a {}-byte line: {said}", said.len(), line.len());
            }
        }
    }
}
