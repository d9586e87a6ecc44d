//! Many writers at once, in one process with separate handles: nobody sees a locking
//! error, nothing is lost, readers are never blocked.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use veritas_core::ListRequest;

use crate::common::{aid, fresh, pname, record};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_audits_written_at_once_by_tasks_with_their_own_handles() {
    let fx = fresh().await;
    let mut tasks = Vec::new();
    for i in 0..50 {
        // Each task opens its own handle: its own writer connection, competing for the
        // file's write lock exactly as separate processes do.
        let store = fx.reopen().await;
        tasks.push(tokio::spawn(async move {
            store.insert_audit(&pname("default"), record(i)).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        t.await
            .unwrap()
            .unwrap_or_else(|e| panic!("audit {i} failed to write: {e}"));
    }
    for i in 0..50 {
        let want = record(i);
        let got = fx
            .store
            .get_audit(&pname("default"), &aid(&want.id))
            .await
            .unwrap();
        assert_eq!(got.audit.url, want.url, "audit {i}");
        assert_eq!(got.audit.fields.trust_score, want.fields.trust_score, "audit {i}");
        assert_eq!(got.audit.fields.narrative, want.fields.narrative, "audit {i}");
        assert_eq!(
            got.audit.fields.security_results, want.fields.security_results,
            "audit {i}"
        );
        assert_eq!(got.findings.len(), 3, "audit {i} has all its findings");
        assert_eq!(got.findings[2].description, want.findings[2].description);
    }
    let page = fx
        .store
        .list_audits_full(
            &pname("default"),
            &ListRequest {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.audits.len(), 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reader_reads_throughout_while_three_writers_write() {
    let fx = fresh().await;
    let done = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (store, done, reads) = (fx.reopen().await, done.clone(), reads.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                let page = store
                    .list_audits_full(
                        &pname("default"),
                        &ListRequest {
                            limit: Some(500),
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("a read during writes must not fail");
                for a in &page.audits {
                    // Each audit is written in one transaction: never seen half-written.
                    assert_eq!(
                        a.findings_count, 3,
                        "audit {} seen without all its findings",
                        a.id
                    );
                }
                reads.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let mut writers = Vec::new();
    for w in 0..3 {
        let store = fx.reopen().await;
        writers.push(tokio::spawn(async move {
            for k in 0..40 {
                store
                    .insert_audit(&pname("default"), record(w * 1000 + k))
                    .await?;
            }
            Ok::<_, veritas_core::Error>(())
        }));
    }
    for w in writers {
        w.await.unwrap().expect("every writer finishes without error");
    }
    done.store(true, Ordering::SeqCst);
    reader.await.expect("the reader saw no error");
    assert!(
        reads.load(Ordering::SeqCst) > 0,
        "the reader actually read while writers wrote"
    );
    let page = fx
        .store
        .list_audits_full(
            &pname("default"),
            &ListRequest {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.audits.len(), 120);
}

#[tokio::test]
async fn the_journal_mode_is_wal() {
    let fx = fresh().await;
    assert_eq!(fx.store.database().journal_mode().await.unwrap(), "wal");
}

/// Concurrent callers of one handle share the writer's transactions, one savepoint each: an
/// audit refused in the middle of such a batch (its id exists) must roll back alone, every
/// other audit stay whole, and the writer go on writing.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refused_audit_among_concurrent_ones_rolls_back_alone() {
    let fx = fresh().await;
    for i in (0..60).step_by(3) {
        fx.store.insert_audit(&pname("default"), record(i)).await.unwrap();
    }
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let store = fx.store.clone();
            tokio::spawn(async move { (i, store.insert_audit(&pname("default"), record(i)).await) })
        })
        .collect();
    for t in tasks {
        let (i, result) = t.await.unwrap();
        match result {
            Err(e) if i % 3 == 0 => assert_eq!(e.kind, veritas_core::ErrorKind::Conflict, "audit {i}: {e}"),
            Ok(()) if i % 3 != 0 => {}
            other => panic!("audit {i}: {other:?}"),
        }
    }
    for i in 0..60 {
        let got = fx
            .store
            .get_audit(&pname("default"), &aid(&record(i).id))
            .await
            .unwrap();
        assert_eq!(
            got.findings.len(),
            record(i).findings.len(),
            "audit {i} is whole, once"
        );
    }
    fx.store
        .insert_audit(&pname("default"), record(60))
        .await
        .unwrap();
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM audits")
        .fetch_one(fx.store.database().reader())
        .await
        .unwrap();
    assert_eq!(total, 61);
}
