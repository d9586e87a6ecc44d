//! Every write the core makes, as data ([`Change`]), and how the writer applies one. The
//! writer applies each change inside its own transaction or savepoint ([`Framing`]), so a
//! change is all-or-nothing whatever else shares its transaction.
//!
//! - [`framing`]: beginning, ending and undoing a change;
//! - [`rows`]: the INSERTs of an audit and its children (the only `INSERT INTO audits`);
//! - [`audit`]: writing and deleting a whole audit;
//! - [`event`]: what a received event does to its audit ([`Effect`]);
//! - [`runs`]: which run of its audit an event belongs to, and replays;
//! - [`findings`]: one row per finding however often it is received;
//! - [`triage`]: verdicts made here and imported;
//! - [`upkeep`]: repairs, search-index checks, embeddings, abandoned audits.

mod audit;
mod event;
pub(crate) mod findings;
mod framing;
pub(crate) mod rows;
pub(crate) mod runs;
mod triage;
mod upkeep;

use sqlx::SqliteConnection;

pub(crate) use event::{Arrival, AuditResult, Effect, MAX_SECURITY_MODULES};
pub(crate) use framing::Framing;
pub(crate) use triage::decision_from_row;
pub use triage::NewDecision;

use crate::error::Result;
use crate::model::{AuditRecord, NewEvent};

/// A write to make.
// Each change is moved once, into the writer's queue; boxing the larger variants would
// only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Change {
    /// Left in place of a change the writer has taken; applying it does nothing.
    Nothing,
    /// A whole audit with its children.
    InsertAudit {
        project: String,
        record: Box<AuditRecord>,
    },
    /// One received event: its effect on the audit and its row in the timeline, together.
    Event {
        project: String,
        audit_id: String,
        effect: Effect,
        event: NewEvent,
        /// How the event arrived: its identity, what it tells of the url, whether it may
        /// create its audit.
        arrival: Arrival,
    },
    /// Delete an audit and its rows (files are removed by the caller after commit).
    Delete { project: String, audit_id: String },
    /// Running audits not updated since `idle_since` (stored form) become disconnected.
    MarkDisconnected { project: String, idle_since: String },
    /// Attach an embedding to a finding.
    SetEmbedding {
        project: String,
        finding_id: i64,
        vector: Vec<f32>,
        model: String,
        version: String,
    },
    /// Set `screenshots_count` to the number of screenshot rows where they disagree.
    RepairCounters,
    /// Rebuild both full-text indexes from the tables.
    RebuildSearchIndex,
    /// Put the findings' per-audit facts right and rebuild the maintained facet counts
    /// from the rows (migration 7).
    RebuildFacetCounts,
    /// Record a triage decision on a finding (it replaces the decisions current for its key).
    Triage { project: String, decision: NewDecision },
    /// Add decisions from another analyst's export (checked already); known ones are kept.
    ImportTriage {
        project: String,
        decisions: Vec<crate::triage::TriageDecision>,
        from: String,
    },
    /// Fail unless both full-text indexes agree with their tables (FTS5's check is
    /// written as an INSERT, so it goes through the writer; it changes nothing).
    CheckSearchIndex,
}

impl Change {
    /// Whether the change rebuilds or checks whole tables (doctor's repairs), and so may
    /// take as long as the database is large: the writer's time limit is not for these.
    pub(crate) fn is_maintenance(&self) -> bool {
        matches!(
            self,
            Change::RepairCounters
                | Change::RebuildSearchIndex
                | Change::RebuildFacetCounts
                | Change::CheckSearchIndex
        )
    }
}

/// What a change did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Outcome {
    /// The row it created, where it created one.
    pub id: Option<i64>,
    /// How many rows it wrote or removed.
    pub rows: u64,
    /// The change was received before (an event with a known id and content), so it
    /// changed nothing.
    pub duplicate: bool,
    /// The change created its audit (an event of the current stream, first of its audit).
    pub created: bool,
    /// The run of its audit an event was placed in (0 for other changes).
    pub run: i64,
}

/// A boxed future of a change being applied.
pub(crate) type Applying<'c> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Outcome>> + Send + 'c>>;

/// Apply `change` on `conn`, all or nothing as `framing` says. Boxed so the writer task's
/// future stays a plain `Send` future of known size.
pub(crate) fn apply(conn: &mut SqliteConnection, change: Change, framing: Framing) -> Applying<'_> {
    Box::pin(async move {
        match change {
            // A whole audit is one batch of statements, its framing included.
            Change::InsertAudit { project, record } => {
                audit::insert_audit(conn, &project, *record, Some(framing)).await
            }
            change => {
                sqlx::query(framing.begin()).execute(&mut *conn).await?;
                let outcome = apply_inner(conn, change).await?;
                sqlx::query(framing.end()).execute(&mut *conn).await?;
                Ok(outcome)
            }
        }
    })
}

async fn apply_inner(conn: &mut SqliteConnection, change: Change) -> Result<Outcome> {
    match change {
        Change::Nothing => Ok(Outcome::default()),
        // (`apply` sends an audit with its framing; here it is framed already.)
        Change::InsertAudit { project, record } => audit::insert_audit(conn, &project, *record, None).await,
        Change::Event {
            project,
            audit_id,
            effect,
            event,
            arrival,
        } => event::apply_event(conn, &project, &audit_id, effect, event, arrival).await,
        Change::Delete { project, audit_id } => audit::delete_audit(conn, &project, &audit_id).await,
        Change::MarkDisconnected { project, idle_since } => {
            upkeep::mark_disconnected(conn, &project, &idle_since).await
        }
        Change::SetEmbedding {
            project,
            finding_id,
            vector,
            model,
            version,
        } => upkeep::set_embedding(conn, &project, finding_id, &vector, &model, &version).await,
        Change::RepairCounters => upkeep::repair_counters(conn).await,
        Change::Triage { project, decision } => triage::decide(conn, &project, decision).await,
        Change::ImportTriage {
            project,
            decisions,
            from,
        } => triage::import(conn, &project, decisions, &from).await,
        Change::CheckSearchIndex => upkeep::check_search_index(conn).await,
        Change::RebuildSearchIndex => upkeep::rebuild_search_index(conn).await,
        Change::RebuildFacetCounts => upkeep::rebuild_facet_counts(conn).await,
    }
}
