//! How a change's statements are made all-or-nothing: in a transaction of its own, or in a
//! savepoint of the writer's transaction, which other changes share.

/// How a change's statements are made all-or-nothing. The writer picks it; the change
/// sends the statements that begin and end it, inside its own batch where it has one (a
/// round trip to SQLite's worker thread costs more than SQLite's work on an audit's rows).
/// A change that fails leaves what it began open: the writer rolls it back
/// ([`Framing::undo`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// A transaction of the change's own (`BEGIN IMMEDIATE` … `COMMIT`).
    Transaction,
    /// A savepoint inside the writer's transaction, shared with other changes.
    Savepoint,
}

impl Framing {
    pub(super) fn begin(self) -> &'static str {
        match self {
            Framing::Transaction => "BEGIN IMMEDIATE;\n",
            Framing::Savepoint => "SAVEPOINT change;\n",
        }
    }

    pub(super) fn end(self) -> &'static str {
        match self {
            Framing::Transaction => "COMMIT;",
            Framing::Savepoint => "RELEASE change;",
        }
    }

    /// The statements that undo a change that failed part way, leaving the connection as it
    /// was before [`super::apply`]. They fail where SQLite has already rolled back the whole
    /// transaction itself (a full disk, for one).
    pub(crate) fn undo(self) -> &'static str {
        match self {
            Framing::Transaction => "ROLLBACK",
            Framing::Savepoint => "ROLLBACK TO change; RELEASE change",
        }
    }
}
