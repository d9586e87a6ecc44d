//! `ingest`: reading the Veritas event stream (NDJSON, docs/EVENT_STREAM.md) into a store: a
//! data folder, or a team store ([`Target`]; the event written by `team::ingest`).
//!
//! Each line is validated on its own; a bad line is reported with its number and reason and
//! every other line is still ingested (a full disk is no bad line: the ingest stops there).
//! Each event is one atomic change (its effect and its timeline row together), so a running
//! audit's progress is visible as it arrives and an interrupted stream leaves the audit
//! `running` with what arrived.

mod base64;
mod fields;
mod parse;
mod rejection;

pub use parse::{parse_line, EventIdentity, ParsedLine, Pending, MAX_FINDINGS_PER_EVENT};
pub use rejection::Rejection;

use serde::Serialize;
use serde_json::json;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};

use crate::error::{Error, Result};
use crate::ids::{AuditId, ProjectName};
use crate::model::{NewEvent, NewScreenshot};
use crate::team::ingest::ShotObject;
use crate::team::TeamStore;
use crate::write::{Arrival, Change, Effect};
use crate::Store;

/// Where an ingest writes: a data folder (SQLite and the screenshot folder) or a team store
/// (PostgreSQL and the object store). Reading the stream is the same for both.
#[derive(Clone, Copy)]
pub(crate) enum Target<'s> {
    Folder(&'s Store),
    Team(&'s TeamStore),
}

/// A screenshot's bytes, stored before its row is written.
enum SavedShot {
    /// A file of the screenshot folder: removed again if its row is not stored.
    File(std::path::PathBuf),
    /// An object of the team's store: content-addressed, so possibly another row's too, and
    /// left (`doctor` finds objects no row refers to).
    Object(ShotObject),
}

/// A screenshot stored: where, its size, and the path its row records.
struct Saved {
    shot: SavedShot,
    size: usize,
    recorded_path: String,
}

/// For a recording of one WebSocket, which has no `audit_start` line.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Bare events belong to this audit from the first line on.
    pub audit_id: Option<AuditId>,
    /// The url of that audit, if it must be created.
    pub url: Option<String>,
}

/// What an ingest did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestReport {
    pub lines: u64,
    /// Events stored.
    pub events: u64,
    pub audits_started: u64,
    pub findings: u64,
    pub screenshots: u64,
    /// Lines rejected.
    pub rejected: u64,
    /// Events received before (same id and content: a replay), so stored once.
    pub duplicates: u64,
}

/// Told to the caller while ingesting.
#[derive(Debug, Clone)]
pub enum IngestNotice<'a> {
    /// Line `line` was rejected (nothing of it was stored).
    Rejected { line: u64, reason: &'a Rejection },
    /// So far: bytes and lines read.
    Progress { bytes: u64, lines: u64 },
}

/// The audit that bare events belong to.
#[derive(Debug, Clone, PartialEq)]
enum Open {
    None,
    Audit(AuditId),
    /// Its `audit_start` (on `line`) was rejected, so its events are too.
    Refused {
        audit_id: AuditId,
        line: u64,
    },
}

/// Reads lines into a store.
struct Ingestor<'s> {
    target: Target<'s>,
    project: ProjectName,
    open: Open,
    /// The run of each audit this stream is in, once it has placed one of its events.
    runs: std::collections::HashMap<AuditId, i64>,
    report: IngestReport,
}

/// Ingest an event stream from `reader` into `project` (see [`Store::ingest`]).
pub(crate) async fn ingest<R: AsyncBufRead + Unpin>(
    target: Target<'_>,
    project: &ProjectName,
    options: &IngestOptions,
    mut reader: R,
    notify: &mut (dyn FnMut(IngestNotice<'_>) + Send),
) -> Result<IngestReport> {
    let mut ing = Ingestor {
        target,
        project: project.clone(),
        open: Open::None,
        runs: std::collections::HashMap::new(),
        report: IngestReport::default(),
    };
    if let Some(id) = &options.audit_id {
        ing.open_recording(id, options.url.as_deref()).await?;
    }
    let mut buf = Vec::new();
    let mut bytes = 0u64;
    loop {
        buf.clear();
        let (n, too_long) = read_line_bounded(&mut reader, &mut buf, MAX_LINE_BYTES)
            .await
            .map_err(|e| Error::io_of("reading the event stream", e))?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        ing.report.lines += 1;
        let line = ing.report.lines;
        let outcome = match std::str::from_utf8(&buf) {
            _ if too_long => Err(Rejection::NotAllowed {
                field: "the line".into(),
                value: String::new(),
                why: format!(
                    "is {n} bytes long, more than the {} MiB one line may carry",
                    MAX_LINE_BYTES >> 20
                ),
            }),
            Ok(text) if text.trim().is_empty() => continue,
            Ok(text) => ing.line(line, text.trim_end_matches(['\n', '\r'])).await,
            Err(e) => Err(Rejection::NotUtf8(e)),
        };
        match outcome {
            Ok(true) => ing.report.events += 1,
            Ok(false) => {}
            // A full disk is no bad line: every line after it would fail the same way (and a
            // screenshot lost to it would leave its audit complete without it). Stop here.
            // Nor is a file or folder that refuses writes (made read-only after it was opened).
            Err(Rejection::Store(e)) if e.is_read_only() => {
                return Err(Error::new(
                    e.kind,
                    format!(
                        "line {line}: the data folder cannot be written ({e}); ingest stopped \
                         there and read no further line"
                    ),
                ));
            }
            Err(Rejection::Store(e)) if e.is_storage_full() => {
                return Err(Error::new(
                    e.kind,
                    format!(
                        "line {line}: the disk is full ({e}); ingest stopped there and read no \
                         further line. Free some space and ingest the stream again: numbered \
                         events (event_id or sequence) already stored are recognised and kept \
                         once"
                    ),
                ));
            }
            Err(reason) => {
                ing.report.rejected += 1;
                notify(IngestNotice::Rejected {
                    line,
                    reason: &reason,
                });
            }
        }
        if line % 64 == 0 {
            notify(IngestNotice::Progress { bytes, lines: line });
        }
    }
    notify(IngestNotice::Progress {
        bytes,
        lines: ing.report.lines,
    });
    Ok(ing.report)
}

/// The most bytes one line of the stream may hold: a full-page PNG screenshot, base64'd, is
/// far below it. A longer line is read past without being kept (a 1 GiB line with no
/// newline grew the buffer to 1 GB).
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Read one line (through its newline) into `buf`, keeping at most `max` bytes of it: the
/// bytes read, and whether the line was longer (then `buf` is left empty).
async fn read_line_bounded<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<(usize, bool)> {
    let (mut total, mut too_long) = (0, false);
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok((total, too_long));
        }
        let (used, done) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if !too_long {
            if buf.len() + used > max {
                too_long = true;
                *buf = Vec::new();
            } else {
                buf.extend_from_slice(&available[..used]);
            }
        }
        reader.consume(used);
        total += used;
        if done {
            return Ok((total, too_long));
        }
    }
}

impl Ingestor<'_> {
    /// `--audit-id ID --url URL`: bare events belong to `id`, created if it is new.
    async fn open_recording(&mut self, id: &AuditId, url: Option<&str>) -> Result<()> {
        let exists = match self.target {
            Target::Folder(store) => {
                crate::query::require_audit(store.database().reader(), &self.project, id)
                    .await
                    .is_ok()
            }
            Target::Team(team) => team.has_audit(self.project.as_str(), id.as_str()).await?,
        };
        if !exists {
            let url =
                url.ok_or_else(|| Error::invalid(format!("audit {id}"), "is new, so --url is needed"))?;
            let event = NewEvent {
                run: None,
                event_type: "audit_start".into(),
                data: json!({"type": "audit_start", "audit_id": id.as_str(), "url": url}),
                timestamp: None,
            };
            let effect = Effect::Create {
                url: url.to_string(),
                audit_tier: None,
                verdict_mode: None,
            };
            self.write(id, effect, event, Arrival::default(), None).await?;
            self.report.audits_started += 1;
        }
        self.open = Open::Audit(id.clone());
        Ok(())
    }

    async fn write(
        &self,
        audit_id: &AuditId,
        effect: Effect,
        event: NewEvent,
        arrival: Arrival,
        object: Option<ShotObject>,
    ) -> Result<crate::write::Outcome> {
        let store = match self.target {
            Target::Folder(store) => store,
            Target::Team(team) => {
                return team
                    .apply_event(
                        self.project.as_str(),
                        audit_id.as_str(),
                        effect,
                        event,
                        arrival,
                        object,
                    )
                    .await
            }
        };
        // Another program holding the write lock past the busy timeout: wait on (until the
        // person stops the ingest) rather than drop the line.
        loop {
            let change = Change::Event {
                project: self.project.to_string(),
                audit_id: audit_id.to_string(),
                effect: effect.clone(),
                event: event.clone(),
                arrival: arrival.clone(),
            };
            match store.write(change).await {
                Err(e) if e.is_busy() => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                done => return done,
            }
        }
    }

    /// Ingest one line: `Ok(false)` for an event received before; `Err` is why the line
    /// was rejected.
    async fn line(&mut self, line: u64, text: &str) -> Result<bool, Rejection> {
        let parsed = parse_line(text)?;
        let bare = parsed.envelope_audit.is_none();
        let starts = parsed.event_type == "audit_start";
        // The current stream names the audit in every event (and interleaves audits);
        // the older one opens an audit with audit_start and sends bare events after it.
        let named = parsed
            .envelope_audit
            .clone()
            .or_else(|| parsed.names_audit.clone());
        let audit_id = match (named, &self.open) {
            (Some(id), _) => id,
            (None, Open::Audit(id)) => id.clone(),
            (None, Open::None) => return Err(Rejection::NoOpenAudit),
            (None, Open::Refused { audit_id, line }) => {
                return Err(Rejection::StartRejected {
                    audit_id: audit_id.to_string(),
                    line: *line,
                })
            }
        };
        let identity = parsed
            .identity
            .as_ref()
            .and_then(|i| i.id_in(&audit_id).map(|id| (id, i.hash.clone())));
        let arrival = Arrival {
            creates: !starts && (parsed.names_audit.is_some() || identity.is_some()),
            identity,
            url_hint: parsed.url_hint.clone(),
            stream_run: self.runs.get(&audit_id).copied(),
        };
        if let (Some(Pending::Screenshot { .. }), Some(identity)) = (&parsed.pending, &arrival.identity) {
            // A replayed screenshot: known before its bytes are written again.
            if self
                .received_before(&audit_id, identity, arrival.stream_run)
                .await?
            {
                self.report.duplicates += 1;
                return Ok(false);
            }
        }

        let mut saved = None;
        let effect = match parsed.pending {
            Some(Pending::Screenshot { bytes, label, index }) => {
                let stored = self.save_screenshot(&audit_id, index, bytes).await?;
                let row = NewScreenshot {
                    created_at: None,
                    run: None,
                    file_path: stored.recorded_path,
                    label,
                    index,
                    file_size_bytes: Some(stored.size as i64),
                };
                saved = Some(stored.shot);
                Effect::Screenshot(row)
            }
            None => parsed.effect,
        };
        let counts = (
            matches!(effect, Effect::Create { .. }),
            matches!(effect, Effect::Screenshot(_)),
        );
        let is_finding = matches!(effect, Effect::Findings(_) | Effect::Result(_));
        let event = NewEvent {
            run: None,
            event_type: parsed.event_type.clone(),
            data: parsed.data,
            timestamp: None,
        };
        let (saved_file, object) = match saved {
            Some(SavedShot::File(path)) => (Some(path), None),
            Some(SavedShot::Object(o)) => (None, Some(o)),
            None => (None, None),
        };
        let written = self.write(&audit_id, effect, event, arrival, object).await;
        if written.as_ref().map_or(true, |o| o.duplicate) {
            if let Some(path) = saved_file {
                // The row was not stored, so neither is its file.
                let _ = std::fs::remove_file(&path);
                if let Some(dir) = path.parent() {
                    let _ = std::fs::remove_dir(dir); // only if now empty
                }
            }
        }
        if bare && starts {
            self.open = match &written {
                Ok(_) => Open::Audit(audit_id.clone()),
                Err(_) => Open::Refused {
                    audit_id: audit_id.clone(),
                    line,
                },
            };
        }
        let outcome = written.map_err(Rejection::Store)?;
        if outcome.run > 0 {
            self.runs.insert(audit_id.clone(), outcome.run);
        }
        if bare
            && matches!(parsed.event_type.as_str(), "audit_complete" | "audit_error")
            && self.open == Open::Audit(audit_id.clone())
        {
            self.open = Open::None;
        }
        if outcome.duplicate {
            self.report.duplicates += 1;
            return Ok(false);
        }
        self.report.audits_started += u64::from(counts.0 || outcome.created);
        self.report.screenshots += u64::from(counts.1);
        if is_finding {
            self.report.findings += outcome.rows.saturating_sub(1);
        }
        Ok(true)
    }

    /// Check screenshot `bytes` and store them (a file, or an object of the team's store)
    /// before their row.
    async fn save_screenshot(
        &self,
        audit_id: &AuditId,
        index: i64,
        bytes: Vec<u8>,
    ) -> Result<Saved, Rejection> {
        let size = bytes.len();
        match self.target {
            Target::Folder(store) => {
                let shots = store.screenshots().clone();
                let id = audit_id.clone();
                let saved = crate::blocking(move || shots.save(&id, index, &bytes))
                    .await
                    .and_then(|saved| saved)
                    .map_err(Rejection::Store)?;
                Ok(Saved {
                    recorded_path: saved.path.to_string_lossy().into_owned(),
                    shot: SavedShot::File(saved.path),
                    size,
                })
            }
            Target::Team(team) => {
                let info = crate::screenshots::inspect(&bytes).map_err(Rejection::Store)?;
                let stored = team.objects().put(&bytes).await.map_err(Rejection::Store)?;
                // The row records where the bytes are: their key in the team's store.
                Ok(Saved {
                    recorded_path: format!("{}.{}", stored.key, info.format.extension()),
                    shot: SavedShot::Object(ShotObject {
                        key: stored.key,
                        info,
                    }),
                    size,
                })
            }
        }
    }

    /// Whether audit `audit_id` has the event `identity` (id, hash) already, in the run
    /// the stream is in (in any, before the stream has placed an event of the audit).
    async fn received_before(
        &self,
        audit_id: &AuditId,
        identity: &(String, String),
        stream_run: Option<i64>,
    ) -> Result<bool, Rejection> {
        let store = match self.target {
            Target::Folder(store) => store,
            Target::Team(team) => {
                return team
                    .received_before(self.project.as_str(), audit_id.as_str(), identity, stream_run)
                    .await
                    .map_err(Rejection::Store)
            }
        };
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM audit_events e JOIN audits a ON a.id = e.audit_id
             WHERE e.audit_id = ?1 AND e.event_id = ?2 AND e.event_hash = ?3 AND a.project = ?4
               AND (?5 IS NULL OR COALESCE(e.run, 1) = ?5)",
        )
        .bind(audit_id.as_str())
        .bind(&identity.0)
        .bind(&identity.1)
        .bind(self.project.as_str())
        .bind(stream_run)
        .fetch_optional(store.database().reader())
        .await
        .map_err(|e| Rejection::Store(e.into()))?;
        Ok(found.is_some())
    }
}
