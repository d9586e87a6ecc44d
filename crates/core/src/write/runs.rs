//! Which run of its audit a received event belongs to, and whether it was received before.
//!
//! The current backend numbers an audit's events (`event_id` = `<audit>:<sequence>`) from 1
//! each time it runs the audit, and runs it again when the stream reconnects. So the same
//! id with the same content is a replay (a recording ingested twice, or files that
//! overlap), and the same id with other content is the next run beginning. Events without
//! an id belong to the audit's latest run.

use sqlx::SqliteConnection;

use crate::error::Result;

/// Where an event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// Stored already, in this run: store nothing.
    Replay(i64),
    /// Into this run.
    Run(i64),
}

/// The placement of an event of `audit_id` with `identity` (event id, content hash), for
/// a stream that is in run `stream_run` of the audit as far as it has seen (`None` until
/// it has placed an event of the audit).
///
/// A re-run repeats much of the first run word for word (the placeholders, findings,
/// often screenshots): once the stream is in a later run, an event stored only in an
/// earlier run belongs to this one too. A stream that has placed nothing yet and meets a
/// stored event is replaying, and follows that event's run.
pub(super) async fn run_of(
    conn: &mut SqliteConnection,
    audit_id: &str,
    identity: Option<&(String, String)>,
    stream_run: Option<i64>,
) -> Result<Placement> {
    // Rows without a run (other programs') are in run 1, which max() over runs covers;
    // each max() is one look-up at the end of an (audit_id, run) index range.
    let latest: i64 = sqlx::query_scalar(
        "SELECT max(COALESCE((SELECT max(run) FROM audit_events WHERE audit_id = ?1), 1),
                    COALESCE((SELECT max(run) FROM audit_screenshots WHERE audit_id = ?1), 1))",
    )
    .bind(audit_id)
    .fetch_one(&mut *conn)
    .await
    .ok()
    .flatten()
    .unwrap_or(1);
    let Some((event_id, _)) = identity else {
        return Ok(place(latest, &[], None, stream_run));
    };
    // Served by idx_events_audit_event_id (audit_id, event_id, event_hash).
    let stored: Vec<(Option<i64>, String)> =
        sqlx::query_as("SELECT run, event_hash FROM audit_events WHERE audit_id = ?1 AND event_id = ?2")
            .bind(audit_id)
            .bind(event_id)
            .fetch_all(&mut *conn)
            .await?;
    let stored: Vec<(i64, String)> = stored.into_iter().map(|(r, h)| (r.unwrap_or(1), h)).collect();
    Ok(place(latest, &stored, identity, stream_run))
}

/// The placement of an event with `identity`, given the audit's `latest` run and the
/// `stored` events of the same id (run, content hash): the rule of [`run_of`], the same on
/// every engine.
pub(crate) fn place(
    latest: i64,
    stored: &[(i64, String)],
    identity: Option<&(String, String)>,
    stream_run: Option<i64>,
) -> Placement {
    let current = stream_run.unwrap_or(latest);
    let Some((_, hash)) = identity else {
        return Placement::Run(current);
    };
    let stored: Vec<(i64, bool)> = stored.iter().map(|(r, h)| (*r, h == hash)).collect();
    let same = |run: i64| stored.iter().any(|&(r, same)| same && r == run);
    match stream_run {
        Some(run) if same(run) => return Placement::Replay(run),
        None => {
            if let Some(&(run, _)) = stored.iter().filter(|(_, same)| *same).max_by_key(|(r, _)| *r) {
                return Placement::Replay(run);
            }
        }
        Some(_) => {}
    }
    // The same id with other content in the run the stream is in: the next run begins.
    let id_taken = stored.iter().any(|&(r, same)| !same && r == current);
    Placement::Run(if id_taken { latest + 1 } else { current })
}
