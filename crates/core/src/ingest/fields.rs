//! Reading the fields of an event, each checked for its type and range; a field that fails
//! becomes a [`Rejection`] naming it.

use serde_json::{Map, Value};

use super::rejection::Rejection;
use crate::ids::{self, AuditId};

/// A JSON object of the stream.
pub(super) type Fields = Map<String, Value>;

pub(super) fn wrong_type(field: impl Into<String>, expected: &'static str, found: &Value) -> Rejection {
    Rejection::WrongType {
        field: field.into(),
        expected,
        found: kind(found).to_string(),
    }
}

pub(super) fn missing(field: &str) -> Rejection {
    Rejection::Missing {
        field: field.to_string(),
    }
}

pub(super) fn invalid(field: &str, why: &str) -> Rejection {
    Rejection::NotAllowed {
        field: field.to_string(),
        value: String::new(),
        why: why.to_string(),
    }
}

pub(super) fn str_field<'a>(o: &'a Fields, key: &str) -> Result<Option<&'a str>, Rejection> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(wrong_type(key, "a string", other)),
    }
}

pub(super) fn required_str<'a>(o: &'a Fields, key: &str) -> Result<&'a str, Rejection> {
    str_field(o, key)?.ok_or_else(|| missing(key))
}

pub(super) fn num_field(
    o: &Fields,
    key: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<Option<f64>, Rejection> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            let v = n.as_f64().unwrap_or(f64::NAN);
            if range.contains(&v) {
                Ok(Some(v))
            } else {
                Err(Rejection::OutOfRange {
                    field: key.to_string(),
                    value: v.to_string(),
                    range: format!("{} to {}", range.start(), range.end()),
                })
            }
        }
        Some(other) => Err(wrong_type(key, "a number", other)),
    }
}

pub(super) fn int_field(o: &Fields, key: &str, min: i64) -> Result<Option<i64>, Rejection> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(v) if v >= min => Ok(Some(v)),
            Some(v) => Err(Rejection::OutOfRange {
                field: key.to_string(),
                value: v.to_string(),
                range: format!("at least {min}"),
            }),
            None => Err(Rejection::WrongType {
                field: key.to_string(),
                expected: "a whole number",
                found: n.to_string(),
            }),
        },
        Some(other) => Err(wrong_type(key, "a whole number", other)),
    }
}

pub(super) fn object_field<'a>(o: &'a Fields, key: &str) -> Result<Option<&'a Fields>, Rejection> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(wrong_type(key, "an object", other)),
    }
}

pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An event's `audit_id`, checked once, here, into the type the rest of the core trusts.
pub(super) fn audit_id_field(s: &str) -> Result<AuditId, Rejection> {
    AuditId::parse(s).map_err(|_| not_plain("audit_id", s))
}

/// `s`, a name the core uses as a key or a JSON path (a risk level, a module), if plain.
pub(super) fn identifier<'a>(what: &str, s: &'a str) -> Result<&'a str, Rejection> {
    if ids::is_plain_identifier(s) {
        Ok(s)
    } else {
        Err(not_plain(what, s))
    }
}

fn not_plain(what: &str, s: &str) -> Rejection {
    Rejection::NotAllowed {
        field: what.to_string(),
        value: format!("{:?}", ids::quote_prefix(s)),
        why: "is not a plain identifier (letters, digits, '_' or '-')".into(),
    }
}
