//! The one error type of the core. It crosses every edge (CLI, Tauri IPC) as
//! `{ code, message }`, where `message` names the offending input and the reason; the cause
//! (an I/O, database or encoding error) travels with it for callers that branch on it,
//! such as a broken pipe, and for the chain a person reads.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// What went wrong, coarsely enough that a caller can branch on it. Codes grow only when a
/// caller really branches on one.
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
    /// The data folder or its database cannot be written (a read-only folder, file or
    /// file system): it was opened for reading only, and this write was refused.
    ReadOnly,
    /// The database reported an error.
    Database,
    /// Reading or writing a file (or a stream: standard output, the event stream) failed.
    Io,
    /// The request was superseded by a newer one and stopped before it finished.
    Cancelled,
    /// Something of ours failed that is no input's fault and no file's: encoding a result
    /// as JSON or CSV, a background task, the window.
    Internal,
}

impl ErrorKind {
    /// The stable code the UI and scripts see (the same as the serialised kind).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Conflict => "conflict",
            ErrorKind::SchemaTooNew => "schema_too_new",
            ErrorKind::ReadOnly => "read_only",
            ErrorKind::Database => "database",
            ErrorKind::Io => "io",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// The cause of an error, kept for [`std::error::Error::source`] and for branching on
/// ([`Error::io_kind`]); shared, so that errors stay cheap to clone.
type Cause = Arc<dyn std::error::Error + Send + Sync>;

/// An error with its kind, the input it is about, a message for a person that names that
/// input and the reason, and its cause where there is one (after ripgrep's globset
/// `Error`, which carries the glob it is about).
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export))]
#[derive(Clone, Serialize)]
pub struct Error {
    /// Serialised as `code`: the snake_case name, the same as [`ErrorKind::code`].
    #[serde(rename = "code")]
    pub kind: ErrorKind,
    pub message: String,
    /// The input the error is about, as the message names it (`audit id "../x"`, a path,
    /// a flag and its value); `None` where it is about no one input.
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    input: Option<String>,
    #[serde(skip)]
    #[cfg_attr(feature = "ts", ts(skip))]
    cause: Option<Cause>,
}

/// The core's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            input: None,
            cause: None,
        }
    }

    /// An error of `kind` about `what`, caused by `cause`: the message is "`what`: `cause`".
    pub fn caused(
        kind: ErrorKind,
        what: impl fmt::Display,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        let what = what.to_string();
        Error {
            kind,
            message: format!("{what}: {cause}"),
            input: Some(what),
            cause: Some(Arc::new(cause)),
        }
    }

    /// Bad input: `what` names the input, `why` says what is wrong with it.
    pub fn invalid(what: impl fmt::Display, why: impl fmt::Display) -> Self {
        let what = what.to_string();
        Error {
            input: Some(what.clone()),
            ..Error::new(ErrorKind::InvalidInput, format!("{what}: {why}"))
        }
    }

    /// `what` does not exist in `place` (which may say what is there instead).
    pub fn not_found_in(what: impl fmt::Display, place: impl fmt::Display) -> Self {
        let what = what.to_string();
        Error {
            input: Some(what.clone()),
            ..Error::new(ErrorKind::NotFound, format!("{what} not found in {place}"))
        }
    }

    /// `what` (naming the thing asked for and where it was looked for) does not exist.
    pub fn not_found(what: impl fmt::Display) -> Self {
        let what = what.to_string();
        Error {
            input: Some(what.clone()),
            ..Error::new(ErrorKind::NotFound, format!("{what} not found"))
        }
    }

    /// A write refused because the data folder was opened read-only, for `reason` (as
    /// [`crate::Store::open`] found it: which folder or file cannot be written, and why).
    pub fn read_only(reason: &str) -> Self {
        Error::new(
            ErrorKind::ReadOnly,
            format!(
                "the data folder is open read-only because {reason}; nothing can be written to \
                 it, and nothing was changed"
            ),
        )
    }

    /// An I/O error about `path`.
    pub fn io(path: &std::path::Path, err: std::io::Error) -> Self {
        Error::caused(ErrorKind::Io, path.display(), err)
    }

    /// An I/O error about a stream that is no file: `what` names it ("standard output",
    /// "the event stream").
    pub fn io_of(what: impl fmt::Display, err: std::io::Error) -> Self {
        Error::caused(ErrorKind::Io, what, err)
    }

    /// Encoding `what` failed (JSON, CSV, an image we made).
    pub fn encoding(what: impl fmt::Display, err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::caused(ErrorKind::Internal, format!("encoding {what}"), err)
    }

    /// Prefix the message with context, keeping the kind and the cause.
    pub fn context(mut self, ctx: impl fmt::Display) -> Self {
        self.message = format!("{ctx}: {}", self.message);
        self
    }

    /// The input the error is about, as its message names it, where it is about one.
    pub fn input(&self) -> Option<&str> {
        self.input.as_deref()
    }

    /// The kind of the I/O error that caused this one, if one did: how a caller tells a
    /// broken pipe or a full disk from other failures without reading the message.
    pub fn io_kind(&self) -> Option<std::io::ErrorKind> {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self.cause.as_deref().map(|c| c as _);
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                return Some(io.kind());
            }
            cause = c.source();
        }
        None
    }

    /// Whether the error is SQLite's "database is locked" (SQLITE_BUSY or SQLITE_LOCKED):
    /// another connection held the lock past the busy timeout.
    pub fn is_busy(&self) -> bool {
        self.sqlite_code().is_some_and(|c| matches!(c & 0xff, 5 | 6))
    }

    /// The SQLite result code of a database error, if that is what this is.
    fn sqlite_code(&self) -> Option<i32> {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self.cause.as_deref().map(|c| c as _);
        while let Some(c) = cause {
            if let Some(sqlx::Error::Database(db)) = c.downcast_ref::<sqlx::Error>() {
                return db.code().and_then(|c| c.parse::<i32>().ok());
            }
            cause = c.source();
        }
        None
    }

    /// Whether the error is a write refused for want of permission to write: ours (a store
    /// opened read-only), SQLite's SQLITE_READONLY (a file that became read-only after it was
    /// opened), or the file system's EROFS. Like a full disk, every next write fails the same.
    pub fn is_read_only(&self) -> bool {
        if self.kind == ErrorKind::ReadOnly {
            return true;
        }
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self.cause.as_deref().map(|c| c as _);
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::ReadOnlyFilesystem || io.raw_os_error() == Some(30) {
                    return true;
                }
            }
            cause = c.source();
        }
        self.sqlite_code().is_some_and(|c| c & 0xff == 8)
    }

    /// Whether the error is a full disk (or an exhausted quota), from the file system
    /// (ENOSPC, EDQUOT) or from SQLite (SQLITE_FULL): no input's fault, and no reason to read
    /// on, since every next write fails the same way.
    pub fn is_storage_full(&self) -> bool {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = self.cause.as_deref().map(|c| c as _);
        while let Some(c) = cause {
            if let Some(io) = c.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::StorageFull || matches!(io.raw_os_error(), Some(28 | 122))
                {
                    return true;
                }
            }
            cause = c.source();
        }
        // The primary code is the low byte of an extended one.
        self.sqlite_code().is_some_and(|c| c & 0xff == 13)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind).field("message", &self.message);
        if let Some(input) = &self.input {
            d.field("input", input);
        }
        if let Some(c) = &self.cause {
            d.field("cause", c);
        }
        d.finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause.as_deref().map(|c| c as _)
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        match err {
            // Queries that may find nothing ask with fetch_optional and name what they
            // looked for; this is the fallback for one that did not.
            sqlx::Error::RowNotFound => Error::new(ErrorKind::NotFound, "the row asked for was not found"),
            // Only our progress handler interrupts (db/time_limit.rs).
            sqlx::Error::Database(ref db) if db.code().as_deref() == Some("9") => Error::caused(
                ErrorKind::Database,
                format!(
                    "a database statement ran past its time limit and was stopped (a view or \
                     trigger in the file that does not end? `veritas-db doctor` lists those this \
                     program did not create; {} sets the limit in seconds)",
                    crate::db::time_limit::TIME_LIMIT_VARIABLE
                ),
                err,
            ),
            other => Error::caused(ErrorKind::Database, "database error", other),
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Error::caused(ErrorKind::InvalidInput, "invalid JSON", err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_lock_held_elsewhere_is_known_as_busy_and_a_full_disk_as_full() {
        use sqlx::{ConnectOptions, Connection};
        let tmp = tempfile::tempdir().unwrap();
        let opts = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(tmp.path().join("x.db"))
            .create_if_missing(true)
            .busy_timeout(std::time::Duration::ZERO);
        let mut holder = opts.connect().await.unwrap();
        sqlx::query("CREATE TABLE t (x)")
            .execute(&mut holder)
            .await
            .unwrap();
        let mut other = opts.connect().await.unwrap();
        let mut tx = holder.begin_with("BEGIN IMMEDIATE").await.unwrap();
        sqlx::query("INSERT INTO t VALUES (1)")
            .execute(&mut *tx)
            .await
            .unwrap();
        let e: Error = sqlx::query("INSERT INTO t VALUES (2)")
            .execute(&mut other)
            .await
            .unwrap_err()
            .into();
        assert!(e.is_busy() && !e.is_storage_full(), "{e}");
        let full = Error::io(std::path::Path::new("/x"), std::io::Error::from_raw_os_error(28));
        assert!(full.is_storage_full() && !full.is_busy());
        assert!(!Error::invalid("x", "y").is_busy());
    }

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

    #[test]
    fn an_error_carries_the_input_it_names() {
        let err = Error::invalid("audit id \"../x\"", "not a plain identifier");
        assert_eq!(err.input(), Some("audit id \"../x\""));
        assert_eq!(
            Error::not_found("audit vrts_1 in project default").input(),
            Some("audit vrts_1 in project default")
        );
        let io = Error::io(
            std::path::Path::new("/data/a.png"),
            std::io::Error::from(std::io::ErrorKind::NotFound),
        );
        assert_eq!(io.input(), Some("/data/a.png"));
        assert_eq!(Error::new(ErrorKind::Internal, "x").input(), None);
        assert_eq!(
            crate::ids::AuditId::parse("a/b").unwrap_err().input(),
            Some("audit id \"a/b\""),
            "a refused id names itself, quoted"
        );
    }

    #[test]
    fn the_code_is_the_serialised_kind() {
        for kind in [
            ErrorKind::InvalidInput,
            ErrorKind::NotFound,
            ErrorKind::Conflict,
            ErrorKind::SchemaTooNew,
            ErrorKind::ReadOnly,
            ErrorKind::Database,
            ErrorKind::Io,
            ErrorKind::Internal,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.code(), "{kind:?}");
        }
    }

    #[test]
    fn an_io_error_keeps_its_cause_and_names_its_path() {
        let err = Error::io(
            std::path::Path::new("/data/x.png"),
            std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        );
        assert_eq!(err.io_kind(), Some(std::io::ErrorKind::BrokenPipe));
        assert!(err.message.starts_with("/data/x.png: "), "{err}");
        assert!(std::error::Error::source(&err).is_some());
        let wrapped = Error::caused(ErrorKind::Database, "batch", err.clone());
        assert_eq!(
            wrapped.io_kind(),
            Some(std::io::ErrorKind::BrokenPipe),
            "found through the chain"
        );
        assert_eq!(Error::invalid("x", "y").io_kind(), None);
    }
}
