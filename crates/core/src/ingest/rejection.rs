//! Why a line of the event stream was rejected: one variant per kind of reason, each
//! naming the field or the audit it is about. Nothing of a rejected line is stored.

use std::fmt;

use crate::error::Error;

/// Why a line was rejected.
#[derive(Debug, Clone)]
pub enum Rejection {
    /// The line is not UTF-8 text.
    NotUtf8(std::str::Utf8Error),
    /// The line holds a NUL byte (which no JSON text may carry raw).
    Nul,
    /// The line is not JSON; the message is serde_json's.
    NotJson(String),
    /// A field (or the line itself, `field` empty) is of the wrong JSON type.
    WrongType {
        field: String,
        expected: &'static str,
        found: String,
    },
    /// A field that is required is absent.
    Missing { field: String },
    /// A number outside its range.
    OutOfRange {
        field: String,
        value: String,
        range: String,
    },
    /// A value that is none of those allowed (`value` quoted, or empty where the field's
    /// name says enough): `why` says what is allowed.
    NotAllowed {
        field: String,
        value: String,
        why: String,
    },
    /// The screenshot's bytes: bad base64, no image, or over the limits.
    Screenshot(String),
    /// An `audit_start` inside the envelope of another audit.
    EnvelopeMismatch { envelope: String, named: String },
    /// A bare event with no audit open for it.
    NoOpenAudit,
    /// A bare event of an audit whose `audit_start` was rejected.
    StartRejected { audit_id: String, line: u64 },
    /// A bare event that names another audit than the open one.
    OtherAudit {
        event_type: String,
        named: String,
        open: String,
    },
    /// The line was fine, but storing it failed (an existing audit, another project's).
    Store(Error),
    /// A rejection inside a part of the event (`result`, `findings[2]`, `envelope`).
    Within { part: String, inner: Box<Rejection> },
}

impl Rejection {
    /// `inner`, said of the part `part` of the event.
    pub(crate) fn within(part: impl Into<String>, inner: Rejection) -> Rejection {
        Rejection::Within {
            part: part.into(),
            inner: Box::new(inner),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::NotUtf8(e) => write!(f, "not UTF-8 text ({e})"),
            Rejection::Nul => f.write_str("contains a NUL byte"),
            Rejection::NotJson(e) => write!(f, "not valid JSON ({e})"),
            Rejection::WrongType {
                field,
                expected,
                found,
            } if field.is_empty() => write!(f, "must be {expected}, not {found}"),
            Rejection::WrongType {
                field,
                expected,
                found,
            } => write!(f, "{field} must be {expected}, not {found}"),
            Rejection::Missing { field } => write!(f, "{field} is missing"),
            Rejection::OutOfRange { field, value, range } => {
                write!(f, "{field} {value} is out of range ({range})")
            }
            Rejection::NotAllowed { field, value, why } if value.is_empty() => write!(f, "{field} {why}"),
            Rejection::NotAllowed { field, value, why } => write!(f, "{field} {value} {why}"),
            Rejection::Screenshot(why) => f.write_str(why),
            Rejection::EnvelopeMismatch { envelope, named } => {
                write!(f, "audit_start names {named} inside the envelope of {envelope}")
            }
            Rejection::NoOpenAudit => f.write_str(
                "no audit is open for this event: put an audit_start line before it, \
                 use the envelope form, or pass --audit-id and --url",
            ),
            Rejection::StartRejected { audit_id, line } => write!(
                f,
                "belongs to audit {audit_id}, whose audit_start on line {line} was rejected"
            ),
            Rejection::OtherAudit {
                event_type,
                named,
                open,
            } => write!(
                f,
                "{event_type} names audit {named}, but the open audit is {open}"
            ),
            Rejection::Store(e) => f.write_str(&e.message),
            Rejection::Within { part, inner } => write!(f, "{part}: {inner}"),
        }
    }
}

impl std::error::Error for Rejection {}
