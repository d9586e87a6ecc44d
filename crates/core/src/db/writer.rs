//! The single writer. Every write of this process goes through one connection owned by one
//! task, so no caller ever sees SQLITE_BUSY from a sibling, and readers (a separate pool)
//! never wait for it. Several queued changes share one `BEGIN IMMEDIATE … COMMIT`, each
//! inside its own savepoint: a change that fails rolls back alone, the others commit, and
//! many concurrent callers cost one commit instead of one each.

use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot};

use crate::changes::{apply, insert_audit_in_own_transaction, Change, Outcome};
use crate::error::{Error, ErrorKind, Result};

/// How many queued changes one transaction takes at most; bounds the time a batch holds
/// the database's write lock, which other processes wait on.
const MAX_BATCH: usize = 64;

struct Job {
    change: Change,
    reply: oneshot::Sender<Result<Outcome>>,
}

/// A handle to the writer task; clones share the task. The task ends, closing its
/// connection, when the last handle is dropped.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Start the writer task on `conn` (already migrated).
    pub fn spawn(conn: SqliteConnection) -> Writer {
        let (jobs, rx) = mpsc::channel(1024);
        tokio::spawn(run(conn, rx));
        Writer { jobs }
    }

    /// Apply one change atomically and wait until it is committed.
    pub async fn submit(&self, change: Change) -> Result<Outcome> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { change, reply })
            .await
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }
}

fn writer_gone() -> Error {
    Error::new(ErrorKind::Database, "the database writer has stopped")
}

async fn run(mut conn: SqliteConnection, mut rx: mpsc::Receiver<Job>) {
    let mut batch: Vec<Job> = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcomes = commit_batch(&mut conn, &mut batch).await;
        for (job, outcome) in batch.drain(..).zip(outcomes) {
            // A caller that gave up waiting is no reason to stop writing for the others.
            let _ = job.reply.send(outcome);
        }
    }
    let _ = conn.close().await;
}

/// One transaction for the whole batch, one savepoint per change.
async fn commit_batch(conn: &mut SqliteConnection, batch: &mut [Job]) -> Vec<Result<Outcome>> {
    if let [job] = batch {
        let change = std::mem::replace(&mut job.change, Change::Nothing);
        return vec![commit_alone(conn, change).await];
    }
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
        Ok(tx) => tx,
        Err(e) => {
            let err = Error::from(e).context("could not start a write transaction");
            return batch.iter().map(|_| Err(err.clone())).collect();
        }
    };
    let mut outcomes = Vec::with_capacity(batch.len());
    for job in batch.iter_mut() {
        // The change is moved out; a placeholder stays behind in the finished job.
        let change = std::mem::replace(&mut job.change, Change::Nothing);
        let outcome = match tx.begin().await {
            Ok(mut savepoint) => match apply(&mut savepoint, change).await {
                Ok(out) => savepoint.commit().await.map(|_| out).map_err(Error::from),
                Err(e) => {
                    let _ = savepoint.rollback().await;
                    Err(e)
                }
            },
            Err(e) => Err(e.into()),
        };
        outcomes.push(outcome);
    }
    if let Err(e) = tx.commit().await {
        let err = Error::from(e).context("commit failed; nothing of this write was stored");
        return outcomes.into_iter().map(|_| Err(err.clone())).collect();
    }
    outcomes
}

/// A change alone in its transaction (the common, uncontended case): the transaction is its
/// all-or-nothing, so it needs no savepoint. A change written as one batch of statements
/// (a whole audit) carries its BEGIN and COMMIT in that batch: a round trip to SQLite's
/// worker thread costs more than the statements themselves. Other changes are begun and
/// ended with plain statements rather than sqlx's `Transaction`, whose custom `BEGIN` costs
/// two extra round trips (it checks the connection's state afterwards). Measured alone: an
/// empty BEGIN IMMEDIATE + COMMIT took 148 us through `Transaction`, 38 us as plain
/// statements.
async fn commit_alone(conn: &mut SqliteConnection, change: Change) -> Result<Outcome> {
    async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> sqlx::Result<()> {
        sqlx::query(sql).execute(&mut *conn).await.map(|_| ())
    }
    let result = match change {
        Change::InsertAudit { project, record } => {
            insert_audit_in_own_transaction(conn, project, record).await
        }
        change => {
            exec(conn, "BEGIN IMMEDIATE")
                .await
                .map_err(|e| Error::from(e).context("could not start a write transaction"))?;
            match apply(conn, change).await {
                Ok(out) => exec(conn, "COMMIT")
                    .await
                    .map(|_| out)
                    .map_err(|e| Error::from(e).context("commit failed; nothing of this write was stored")),
                Err(e) => Err(e),
            }
        }
    };
    if result.is_err() {
        // Nothing of the change may stay. (Where the transaction never began, or SQLite has
        // already rolled it back itself, this fails harmlessly: there is none to roll back.)
        let _ = exec(conn, "ROLLBACK").await;
    }
    result
}
