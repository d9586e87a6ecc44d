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
    /// For `audit_start`: the audit it opens. For `audit_complete`/`audit_error`: the audit
    /// it names, if any.
    pub names_audit: Option<AuditId>,
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
pub fn finding(o: &Fields) -> Result<NewFinding, Rejection> {
    let pattern_type = required_str(o, "pattern_type")?.to_string();
    if pattern_type.trim().is_empty() {
        return Err(invalid("pattern_type", "is empty"));
    }
    let severity = required_str(o, "severity")?.to_lowercase();
    if !SEVERITIES.contains(&severity.as_str()) {
        return Err(Rejection::NotAllowed {
            field: "severity".into(),
            value: format!("{severity:?}"),
            why: format!("is not one of {}", SEVERITIES.join(", ")),
        });
    }
    let confidence = num_field(o, "confidence", 0.0..=1.0)?.ok_or_else(|| missing("confidence"))?;
    let key = match o.get("id") {
        None | Some(Value::Null) => format!("{pattern_type}{}", python_float(confidence)),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => return Err(wrong_type("finding id", "a string or number", other)),
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

fn audit_result(o: &Fields) -> Result<AuditResult, Rejection> {
    let status = match str_field(o, "status")? {
        None => None,
        Some(s) => Some(AuditStatus::parse(s).ok_or_else(|| Rejection::NotAllowed {
            field: "status".into(),
            value: format!("{:?}", crate::ids::quote_prefix(s)),
            why: "is not a known status".into(),
        })?),
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
                        return Err(Rejection::OutOfRange {
                            field: format!("signal score {}", crate::ids::quote_prefix(k)),
                            value: x.to_string(),
                            range: "0 to 100".into(),
                        });
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
                Value::Object(m) => finding(m).map_err(|e| Rejection::within(format!("findings[{i}]"), e)),
                other => Err(wrong_type(format!("findings[{i}]"), "an object", other)),
            })
            .collect::<Result<_, _>>()?,
        Some(other) => return Err(wrong_type("findings", "an array", other)),
    };
    Ok(AuditResult {
        url: str_field(o, "url")?.filter(|u| !u.is_empty()).map(str::to_string),
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

/// Parse one line. `Err` is the reason it is rejected.
pub fn parse_line(line: &str) -> Result<ParsedLine, Rejection> {
    if line.contains('\0') {
        return Err(Rejection::Nul);
    }
    let value: Value = serde_json::from_str(line).map_err(|e| Rejection::NotJson(e.to_string()))?;
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
    let mut names_audit = None;
    let mut pending = None;
    let effect = match event_type.as_str() {
        "audit_start" => {
            let id = match (&envelope_audit, str_field(&event, "audit_id")?) {
                (Some(env), Some(own)) if env.as_str() != own => {
                    return Err(Rejection::EnvelopeMismatch {
                        envelope: env.to_string(),
                        named: crate::ids::quote_prefix(own).to_string(),
                    })
                }
                (Some(env), _) => env.clone(),
                (None, Some(own)) => audit_id_field(own)?,
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
            Effect::Finding(finding(f)?)
        }
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
            if let Some(id) = str_field(&event, "audit_id")? {
                names_audit = Some(audit_id_field(id)?);
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
        parse_line(line).unwrap_err().to_string()
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
