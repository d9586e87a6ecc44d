//! Validating one line of the event stream (docs/EVENT_STREAM.md) into what it does.
//! Everything here is untrusted: every field is checked for type and range, and a line
//! that fails is rejected with a reason that names the field.

use serde_json::{Map, Value};

use crate::changes::{AuditResult, Effect};
use crate::ids;
use crate::model::{AuditStatus, NewFinding, SEVERITIES};

/// A line, understood.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedLine {
    /// The audit named by an envelope (`{"audit_id", "event"}`); `None` for a bare event.
    pub envelope_audit: Option<String>,
    /// The event's `type`.
    pub event_type: String,
    /// What it does to its audit. Screenshots come as [`Pending::Screenshot`] instead,
    /// because their bytes must be stored first.
    pub effect: Effect,
    pub pending: Option<Pending>,
    /// For `audit_start`: the audit it opens. For `audit_complete`/`audit_error`: the audit
    /// it names, if any.
    pub names_audit: Option<String>,
    /// The event as it will be kept in the timeline (screenshot bytes left out).
    pub data: Value,
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

type Fields = Map<String, Value>;

fn str_field<'a>(o: &'a Fields, key: &str) -> Result<Option<&'a str>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{key} must be a string, not {}", kind(other))),
    }
}

fn required_str<'a>(o: &'a Fields, key: &str) -> Result<&'a str, String> {
    str_field(o, key)?.ok_or_else(|| format!("{key} is missing"))
}

fn num_field(o: &Fields, key: &str, range: std::ops::RangeInclusive<f64>) -> Result<Option<f64>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let v = n.as_f64().unwrap_or(f64::NAN);
            if range.contains(&v) {
                Ok(Some(v))
            } else {
                Err(format!(
                    "{key} {v} is out of range ({} to {})",
                    range.start(),
                    range.end()
                ))
            }
        }
        Some(other) => Err(format!("{key} must be a number, not {}", kind(other))),
    }
}

fn int_field(o: &Fields, key: &str, min: i64) -> Result<Option<i64>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v >= min => Ok(Some(v)),
            Some(v) => Err(format!("{key} {v} is out of range (at least {min})")),
            None => Err(format!("{key} must be a whole number, not {n}")),
        },
        Some(other) => Err(format!("{key} must be a whole number, not {}", kind(other))),
    }
}

fn object_field<'a>(o: &'a Fields, key: &str) -> Result<Option<&'a Fields>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(format!("{key} must be an object, not {}", kind(other))),
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn identifier<'a>(what: &str, s: &'a str) -> Result<&'a str, String> {
    if ids::is_plain_identifier(s) {
        Ok(s)
    } else {
        Err(format!(
            "{what} {s:?} is not a plain identifier (letters, digits, '_' or '-')"
        ))
    }
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

/// Validate a finding object (of a `finding` event or an `audit_result`).
pub fn finding(o: &Fields) -> Result<NewFinding, String> {
    let pattern_type = required_str(o, "pattern_type")?.to_string();
    if pattern_type.trim().is_empty() {
        return Err("pattern_type is empty".into());
    }
    let severity = required_str(o, "severity")?.to_lowercase();
    if !SEVERITIES.contains(&severity.as_str()) {
        return Err(format!(
            "severity {severity:?} is not one of {}",
            SEVERITIES.join(", ")
        ));
    }
    let confidence = num_field(o, "confidence", 0.0..=1.0)?.ok_or("confidence is missing")?;
    let key = match o.get("id") {
        None | Some(Value::Null) => format!("{pattern_type}{}", python_float(confidence)),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(format!(
                "finding id must be a string or number, not {}",
                kind(other)
            ))
        }
    };
    Ok(NewFinding {
        key: Some(key),
        category: str_field(o, "category")?.map(str::to_string),
        description: str_field(o, "description")?.unwrap_or_default().to_string(),
        plain_english: str_field(o, "plain_english")?.map(str::to_string),
        screenshot_index: int_field(o, "screenshot_index", -1)?.filter(|i| *i >= 0),
        pattern_type,
        severity,
        confidence,
        ..NewFinding::default()
    })
}

fn audit_result(o: &Fields) -> Result<AuditResult, String> {
    let status = match str_field(o, "status")? {
        None => None,
        Some(s) => Some(AuditStatus::parse(s).ok_or_else(|| format!("status {s:?} is not a known status"))?),
    };
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
                        return Err(format!("signal score {k} {x} is out of range (0 to 100)"));
                    }
                }
            }
            Some(Value::Object(m.clone()))
        }
    };
    let findings = match o.get("findings") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, f)| match f {
                Value::Object(m) => finding(m).map_err(|e| format!("findings[{i}]: {e}")),
                other => Err(format!("findings[{i}] must be an object, not {}", kind(other))),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(format!("findings must be an array, not {}", kind(other))),
    };
    Ok(AuditResult {
        url: str_field(o, "url")?.filter(|u| !u.is_empty()).map(str::to_string),
        status,
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
        screenshots_count: int_field(o, "screenshots_count", 0)?,
        elapsed_seconds: num_field(o, "elapsed_seconds", 0.0..=f64::MAX)?,
        errors: o.get("errors").filter(|v| !v.is_null()).cloned(),
        findings,
    })
}

/// Parse one line. `Err` is the reason it is rejected.
pub fn parse_line(line: &str) -> Result<ParsedLine, String> {
    if line.contains('\0') {
        return Err("contains a NUL byte".into());
    }
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON ({e})"))?;
    let Value::Object(outer) = value else {
        return Err(format!("must be a JSON object, not {}", kind(&value)));
    };
    let (envelope_audit, mut event) = match outer.get("event") {
        Some(Value::Object(inner)) => {
            let id = required_str(&outer, "audit_id").map_err(|e| format!("envelope: {e}"))?;
            (Some(identifier("audit_id", id)?.to_string()), inner.clone())
        }
        Some(other) => return Err(format!("event must be an object, not {}", kind(other))),
        None => (None, outer),
    };
    let event_type = required_str(&event, "type")?.to_string();
    if event_type.is_empty() || event_type.len() > 100 || event_type.chars().any(char::is_control) {
        return Err(format!("type {event_type:?} is not an event type"));
    }
    let mut names_audit = None;
    let mut pending = None;
    let effect = match event_type.as_str() {
        "audit_start" => {
            let id = match (&envelope_audit, str_field(&event, "audit_id")?) {
                (Some(env), Some(own)) if env != own => {
                    return Err(format!("audit_start names {own} inside the envelope of {env}"))
                }
                (Some(env), _) => env.clone(),
                (None, Some(own)) => identifier("audit_id", own)?.to_string(),
                (None, None) => return Err("audit_id is missing".into()),
            };
            names_audit = Some(id);
            let url = required_str(&event, "url")?;
            if url.trim().is_empty() || url.len() > 8192 || url.chars().any(char::is_control) {
                return Err("url must be a non-empty line of text".into());
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
            let index = int_field(&event, "index", 0)?.ok_or("index is missing")?;
            let label = str_field(&event, "label")?
                .map(str::to_string)
                .unwrap_or_else(|| format!("screenshot_{index}"));
            let producer_path = str_field(&event, "url")?.unwrap_or("").to_string();
            match str_field(&event, "data")? {
                Some(data) => {
                    let bytes = crate::screenshots::decode_base64(data).map_err(|e| e.message)?;
                    crate::screenshots::inspect(&bytes).map_err(|e| e.message)?;
                    pending = Some(Pending::Screenshot { bytes, label, index });
                    // The timeline keeps the event without its bytes.
                    event.insert("data".into(), Value::Null);
                    Effect::None
                }
                None if producer_path.is_empty() => return Err("screenshot has neither data nor url".into()),
                None => Effect::Screenshot(crate::model::NewScreenshot {
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
            let f = object_field(&event, "finding")?.ok_or("finding is missing")?;
            Effect::Finding(finding(f)?)
        }
        "stats_update" => {
            let s = object_field(&event, "stats")?.ok_or("stats is missing")?;
            Effect::Stats {
                pages_scanned: int_field(s, "pages_scanned", 0)?,
                screenshots: int_field(s, "screenshots", 0)?,
                elapsed_seconds: num_field(s, "elapsed_seconds", 0.0..=f64::MAX)?,
            }
        }
        "audit_result" => {
            let r = object_field(&event, "result")?.ok_or("result is missing")?;
            Effect::Result(Box::new(audit_result(r).map_err(|e| format!("result: {e}"))?))
        }
        "audit_complete" | "audit_error" => {
            if let Some(id) = str_field(&event, "audit_id")? {
                names_audit = Some(identifier("audit_id", id)?.to_string());
            }
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
        data: Value::Object(event),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(line: &str) -> String {
        parse_line(line).unwrap_err()
    }

    #[test]
    fn a_finding_without_id_gets_the_backends_derived_id() {
        let p = parse_line(r#"{"type":"finding","finding":{"pattern_type":"countdown_timer","severity":"HIGH","confidence":1,"description":"d"}}"#).unwrap();
        match p.effect {
            Effect::Finding(f) => {
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
        assert!(reason(r#"{"type":"audit_result","result":{"trust_score":250}}"#)
            .contains("trust_score 250 is out of range"));
        assert!(
            reason(r#"{"audit_id":"../x","event":{"type":"log_entry"}}"#).contains("not a plain identifier")
        );
        assert!(reason(r#"{"type":"phase_start","pct":"half"}"#).contains("pct must be a number"));
        assert!(reason(
            r#"{"type":"finding","finding":{"pattern_type":"x","severity":"extreme","confidence":0.5}}"#
        )
        .contains("severity"));
        assert!(reason(r#"{"type":"log_en"#).contains("not valid JSON"));
        assert!(reason("{\"type\":\"log_entry\",\"message\":\"a\0b\"}").contains("NUL"));
        assert!(reason(r#"[1,2]"#).contains("must be a JSON object"));
        assert!(reason(r#"{"type":"screenshot","index":0,"data":"%%%"}"#).contains("base64"));
        assert!(reason(r#"{"type":"screenshot","index":0,"data":"aGVsbG8gd29ybGQ="}"#).contains("not a PNG"));
    }

    #[test]
    fn unknown_types_are_kept() {
        let p = parse_line(r#"{"type":"brand_new_thing","x":1}"#).unwrap();
        assert_eq!(
            (p.event_type.as_str(), &p.effect),
            ("brand_new_thing", &Effect::None)
        );
    }
}
