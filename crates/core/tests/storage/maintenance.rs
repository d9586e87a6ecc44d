//! Upkeep of a data directory: doctor's checks and repairs, a backup taken while others
//! write, and the change watcher that notices another handle's commits.

use veritas_core::{ListRequest, Store};

use crate::common::{aid, fresh, pname, record};

#[tokio::test]
async fn doctor_reports_what_is_wrong_and_repairs_what_is_safe() {
    let fx = fresh().await;
    fx.store
        .load_demo(&pname("default"), 8, &mut |_, _| {})
        .await
        .unwrap();
    let healthy = fx
        .store
        .doctor(false, std::time::Duration::from_secs(3600 * 24 * 365))
        .await
        .unwrap();
    // Demo data carries the backend's quirks on purpose: one missing file, one stale counter.
    assert_eq!(healthy.integrity, vec!["ok"]);
    assert!(healthy.search_index_ok);
    assert_eq!(healthy.missing_files.len(), 1, "{:?}", healthy.missing_files);
    assert_eq!(healthy.counter_mismatches.len(), 1);
    assert!(healthy.orphan_files.is_empty() && healthy.stale_running.is_empty());

    let stray = fx
        .dir
        .path()
        .join("screenshots")
        .join("vrts_notindb")
        .join("x.png");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"x").unwrap();
    let repaired = fx.store.doctor(true, std::time::Duration::ZERO).await.unwrap();
    assert_eq!(repaired.orphan_files, vec![stray.to_string_lossy().into_owned()]);
    assert_eq!(
        repaired.stale_running.len(),
        1,
        "the demo's running audit counts as abandoned at zero tolerance"
    );
    assert!(repaired.repaired.len() >= 2, "{:?}", repaired.repaired);
    let after = fx.store.doctor(false, std::time::Duration::ZERO).await.unwrap();
    assert!(
        after.counter_mismatches.is_empty() && after.stale_running.is_empty(),
        "repairs stuck"
    );
    assert!(stray.exists(), "doctor never deletes files");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_is_consistent_while_another_handle_writes() {
    let fx = fresh().await;
    fx.store
        .load_demo(&pname("default"), 4, &mut |_, _| {})
        .await
        .unwrap();
    let writer = fx.reopen().await;
    let writing = tokio::spawn(async move {
        for i in 0..60 {
            writer.insert_audit(&pname("default"), record(i)).await.unwrap();
        }
    });
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("copy");
    let report = fx.store.backup(&target).await.unwrap();
    writing.await.unwrap();

    let copy = Store::open(&target).await.unwrap();
    let audits = copy
        .list_audits_full(
            &pname("default"),
            &ListRequest {
                limit: Some(500),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .audits;
    assert_eq!(
        audits.len() as i64,
        report.audits,
        "the copy holds exactly the snapshot it reported"
    );
    assert!(audits.len() >= 4);
    for a in &audits {
        // Every audit in the snapshot was committed whole before it: its finding count in
        // the copy is the one in the source.
        let source = fx.store.get_audit(&pname("default"), &aid(&a.id)).await.unwrap();
        assert_eq!(
            a.findings_count,
            source.findings.len() as i64,
            "audit {} copied whole",
            a.id
        );
    }
    let doctor = copy
        .doctor(false, std::time::Duration::from_secs(1 << 30))
        .await
        .unwrap();
    assert_eq!(
        (doctor.integrity, doctor.search_index_ok),
        (vec!["ok".to_string()], true)
    );
    assert_eq!(
        doctor.missing_files.len() as u64,
        report.screenshots_missing,
        "every file that existed was copied"
    );
    assert!(report.screenshots_copied >= 8);
    let refused = fx.store.backup(&target).await.unwrap_err();
    assert_eq!(
        (refused.kind, refused.message.contains("new or empty folder")),
        (veritas_core::ErrorKind::InvalidInput, true),
        "a non-empty destination is refused as such: {refused}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_handles_write_is_noticed_by_the_change_watcher() {
    let fx = fresh().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let watcher = fx
        .store
        .watch_changes(std::time::Duration::from_millis(20), move || {
            let _ = tx.send(());
        })
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert!(rx.try_recv().is_err(), "no change, no notice");
    let other = fx.reopen().await; // as another process would write
    other.insert_audit(&pname("default"), record(1)).await.unwrap();
    let noticed = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await;
    assert!(matches!(noticed, Ok(Some(()))), "the commit was noticed");
    watcher.abort();
}

#[tokio::test]
async fn backup_names_and_skips_rows_of_the_wrong_type_and_leaves_nothing_half_written() {
    // Issue 16, bug 5: a `file_path` another program stored as a BLOB stopped the backup
    // with exit 2, naming nothing, and left a half-written folder that made the retry fail.
    let fx = fresh().await;
    fx.store
        .load_demo(&pname("default"), 2, &mut |_, _| {})
        .await
        .unwrap();
    let mut c = crate::common::raw(fx.dir.path()).await;
    let (blob_id, odd_id): (i64, i64) = sqlx::query_as("SELECT min(id), max(id) FROM audit_screenshots")
        .fetch_one(&mut c)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_screenshots SET file_path = x'00ff10' WHERE id = ?1")
        .bind(blob_id)
        .execute(&mut c)
        .await
        .unwrap();
    // Another program with foreign keys off, as the backend's own connections are.
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("UPDATE audit_screenshots SET audit_id = '../elsewhere' WHERE id = ?1")
        .bind(odd_id)
        .execute(&mut c)
        .await
        .unwrap();
    drop(c);

    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("copy");
    let report = fx.store.backup(&target).await.unwrap();
    assert_eq!(report.skipped_rows.len(), 2, "{:?}", report.skipped_rows);
    assert!(
        report.skipped_rows[0].contains(&format!("screenshot {blob_id}"))
            && report.skipped_rows[0].contains("blob")
    );
    assert!(
        report.skipped_rows[1].contains(&format!("screenshot {odd_id}"))
            && report.skipped_rows[1].contains("not an audit id")
    );
    assert!(report.screenshots_copied > 0);
    // Complete where it was asked for, and nothing else beside it.
    let copy = Store::open(&target).await.unwrap();
    assert_eq!(
        copy.doctor(false, std::time::Duration::from_secs(1 << 30))
            .await
            .unwrap()
            .integrity,
        ["ok"]
    );
    let beside: Vec<_> = std::fs::read_dir(dest.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(beside, [std::ffi::OsString::from("copy")]);
}

#[tokio::test]
async fn doctor_names_triggers_and_views_it_did_not_make_and_clears_stale_temporary_files() {
    // Issue 16: a planted trigger deleted 15 of 16 audits on one ingest, and `.tmp-*` files a
    // crash left were reported but never cleaned.
    let fx = fresh().await;
    fx.store.insert_audit(&pname("default"), record(1)).await.unwrap();
    let clean = fx
        .store
        .doctor(false, std::time::Duration::from_secs(1 << 30))
        .await
        .unwrap();
    assert!(
        clean.foreign_objects.is_empty(),
        "ours are known: {:?}",
        clean.foreign_objects
    );

    let mut c = crate::common::raw(fx.dir.path()).await;
    sqlx::query("CREATE TRIGGER planted AFTER INSERT ON audit_events BEGIN DELETE FROM audits WHERE id <> new.audit_id; END")
        .execute(&mut c)
        .await
        .unwrap();
    sqlx::query("CREATE VIEW loop_view AS SELECT 1")
        .execute(&mut c)
        .await
        .unwrap();
    drop(c);
    let dir = fx.dir.path().join("screenshots").join(record(1).id);
    std::fs::create_dir_all(&dir).unwrap();
    let (old, fresh_tmp) = (dir.join(".tmp-crashed"), dir.join(".tmp-writing"));
    std::fs::write(&old, b"half").unwrap();
    std::fs::write(&fresh_tmp, b"half").unwrap();
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&old)
        .unwrap()
        .set_modified(two_hours_ago)
        .unwrap();
    // The writability probe of opening a folder, its writer killed before removing it: named
    // with the writer's pid and host, and found in the data folder itself.
    let mut gone = std::process::Command::new("true").spawn().unwrap();
    gone.wait().unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let probe = fx
        .dir
        .path()
        .join(format!(".tmp-{}-Ab12Cd@{}", gone.id(), host.trim()));
    std::fs::write(&probe, b"").unwrap();

    let report = fx
        .store
        .doctor(true, std::time::Duration::from_secs(1 << 30))
        .await
        .unwrap();
    assert_eq!(
        report.foreign_objects,
        ["trigger planted on audit_events", "view loop_view"]
    );
    assert!(!report.healthy());
    assert_eq!(
        report.stale_temporary_files,
        [
            probe.to_string_lossy().into_owned(),
            old.to_string_lossy().into_owned()
        ]
    );
    assert!(!old.exists(), "repair removes the stale temporary file");
    assert!(!probe.exists(), "and the probe a kill left in the data folder");
    assert!(
        fresh_tmp.exists(),
        "a temporary file being written now is left alone"
    );
}
