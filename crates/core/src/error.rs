//! The one error type of the core. It crosses every edge (CLI, Tauri IPC) as
//! `{ code, message }`, where `message` names the offending input and the reason.

use serde::Serialize;

/// What went wrong, coarsely enough that a caller can branch on it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The input was malformed or out of range (an id, a filter, an event, image bytes).
    InvalidInput,
    /// The audit, finding, screenshot or project asked for does not exist (in this project).
    NotFound,
    /// The request conflicts with what is stored (an audit id that already exists).
    Conflict,
    /// The database was written by a newer Veritas Viewer; it is refused, never rewritten.
    SchemaTooNew,
    /// The database reported an error.
    Database,
    /// Reading or writing a file failed.
    Io,
}

impl ErrorKind {
    /// The stable code the UI and scripts see.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::SchemaTooNew => "schema_too_new",
            ErrorKind::Database => "database",
            ErrorKind::Io => "io",
        }
    }
}

/// An error with its kind and a message for a person.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct Error {
    /// Serialised as `code`: the snake_case name, the same as [`ErrorKind::code`].
    #[serde(rename = "code")]
    pub kind: ErrorKind,
    pub message: String,
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    /// Bad input: `what` names the input, `why` says what is wrong with it.
    pub fn invalid(what: impl std::fmt::Display, why: impl std::fmt::Display) -> Self {
        Error::new(ErrorKind::InvalidInput, format!("{what}: {why}"))
    }

    pub fn not_found(what: impl std::fmt::Display) -> Self {
        Error::new(ErrorKind::NotFound, format!("{what} not found"))
    }

    /// An I/O error about `path`.
    pub fn io(path: &std::path::Path, err: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("{}: {err}", path.display()))
    }

    /// Prefix the message with context, keeping the kind.
    pub fn context(mut self, ctx: impl std::fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::RowNotFound => Error::new(ErrorKind::NotFound, "row not found"),
            other => Error::new(ErrorKind::Database, format!("database error: {other}")),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::new(ErrorKind::InvalidInput, format!("invalid JSON: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serialises_as_code_and_message() {
        let err = Error::invalid("audit id \"../x\"", "not a plain identifier");
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"code": "invalid_input", "message": "audit id \"../x\": not a plain identifier"}),
            "the UI branches on `code` and shows `message`; the shape is a contract"
        );
    }
}
