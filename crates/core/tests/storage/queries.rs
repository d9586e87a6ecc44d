//! The list (filters, sorts, keyset pages, facets), compare, delete, thumbnails, doctor
//! and backup.

use image::ImageFormat;
use serde_json::json;
use veritas_core::ingest::IngestOptions;
use veritas_core::{
    Audit, AuditFilter, AuditRow, AuditStatus, Direction, ListRequest, NewFinding, SortKey, Store,
};

use crate::common::{base64, fresh, image_bytes, ingest_lines, record};

async fn all_pages(store: &Store, mut req: ListRequest) -> Vec<Audit> {
    let mut out = Vec::new();
    loop {
        let page = store.list("default", &req).await.unwrap();
        out.extend(page.audits);
        match page.next_cursor {
            Some(c) => req.after = Some(c),
            None => return out,
        }
    }
}

#[tokio::test]
async fn keyset_pages_cover_every_sort_exactly_once_in_order() {
    let fx = fresh().await;
    for i in 0..23 {
        let mut r = record(i);
        if i % 5 == 0 {
            r.trust_score = None; // NULL scores sort too, and ties on score are broken by id
        }
        if i % 4 == 0 {
            r.trust_score = Some(50.0);
        }
        r.status = Some([AuditStatus::Completed, AuditStatus::Error, AuditStatus::Running][i % 3]);
        r.findings.truncate(i % 4);
        fx.store.insert_audit("default", r).await.unwrap();
    }
    for sort in [
        SortKey::Created,
        SortKey::Score,
        SortKey::Url,
        SortKey::Status,
        SortKey::RiskLevel,
        SortKey::Findings,
    ] {
        for direction in [Direction::Asc, Direction::Desc] {
            let paged = all_pages(
                &fx.store,
                ListRequest {
                    sort,
                    direction,
                    limit: Some(4),
                    ..Default::default()
                },
            )
            .await;
            let mut whole = all_pages(
                &fx.store,
                ListRequest {
                    sort,
                    direction,
                    limit: Some(500),
                    ..Default::default()
                },
            )
            .await;
            let ids = |v: &[Audit]| v.iter().map(|a| a.id.clone()).collect::<Vec<_>>();
            assert_eq!(paged.len(), 23, "{sort:?} {direction:?}: every audit once");
            assert_eq!(
                ids(&paged),
                ids(&whole),
                "{sort:?} {direction:?}: pages join up to the whole list"
            );
            let key = |a: &Audit| match sort {
                SortKey::Created => (a.created_at.clone().unwrap_or_default(), 0.0, a.id.clone()),
                SortKey::Score => (String::new(), a.trust_score.unwrap_or(-1.0), a.id.clone()),
                SortKey::Url => (a.url.clone(), 0.0, a.id.clone()),
                SortKey::Status => (a.status.clone(), 0.0, a.id.clone()),
                // The write path stores the risk level derived from the score.
                SortKey::RiskLevel => (a.risk_level.clone().unwrap_or_default(), 0.0, a.id.clone()),
                SortKey::Findings => (String::new(), a.findings_count as f64, a.id.clone()),
                _ => unreachable!(),
            };
            whole.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap());
            if direction == Direction::Desc {
                whole.reverse();
            }
            assert_eq!(ids(&paged), ids(&whole), "{sort:?} {direction:?}: in order");
        }
    }
    let bad = ListRequest {
        after: Some("bm90IGEgY3Vyc29y".into()),
        ..Default::default()
    };
    assert!(fx
        .store
        .list("default", &bad)
        .await
        .unwrap_err()
        .message
        .contains("cursor"));
}

/// The app's list shows rows without the long columns; they must be the list's own audits,
/// page for page and field for field, whether the page comes from the plain query or from
/// a search.
#[tokio::test]
async fn list_rows_are_the_lists_audits_without_their_long_columns() {
    let fx = fresh().await;
    for i in 0..9 {
        let mut r = record(i);
        if i % 3 == 0 {
            r.narrative = Some(format!("A **cozy** shop, number {i}."));
        }
        fx.store.insert_audit("default", r).await.unwrap();
    }
    let as_row = |a: &Audit| AuditRow {
        id: a.id.clone(),
        url: a.url.clone(),
        status: a.status.clone(),
        audit_tier: a.audit_tier.clone(),
        trust_score: a.trust_score,
        risk_level: a.risk_level.clone(),
        site_type: a.site_type.clone(),
        created_at: a.created_at.clone(),
        findings_count: a.findings_count,
        screenshots_count: a.screenshots_count,
    };
    for search in [None, Some("cozy".to_string())] {
        let mut req = ListRequest {
            sort: SortKey::Score,
            limit: Some(2),
            filter: AuditFilter {
                search: search.clone(),
                ..Default::default()
            },
            ..Default::default()
        };
        let mut pages = 0;
        loop {
            let full = fx.store.list("default", &req).await.unwrap();
            let rows = fx.store.list_rows("default", &req).await.unwrap();
            assert_eq!(
                rows.audits,
                full.audits.iter().map(as_row).collect::<Vec<_>>(),
                "search {search:?}, page {pages}: the same audits, the same fields"
            );
            assert_eq!(rows.next_cursor, full.next_cursor, "the same cursor");
            pages += 1;
            match rows.next_cursor {
                Some(c) => req.after = Some(c),
                None => break,
            }
        }
        let expected = if search.is_some() { 2 } else { 5 };
        assert_eq!(pages, expected, "search {search:?}: every page compared");
    }
}

/// An audit is written as one batch of statements; an id that exists already must fail the
/// batch before any of its child rows is written, and leave the stored audit as it was.
#[tokio::test]
async fn an_audit_whose_id_exists_is_refused_whole() {
    let fx = fresh().await;
    fx.store.insert_audit("default", record(1)).await.unwrap();
    let before = fx.store.audit("default", &record(1).id).await.unwrap();
    let mut again = record(1);
    again.url = "https://other.example/".into();
    again.findings.truncate(1);
    let err = fx.store.insert_audit("default", again).await.unwrap_err();
    assert_eq!(err.kind, veritas_core::ErrorKind::Conflict, "{err}");
    assert!(
        err.message.contains(&record(1).id),
        "the message names the audit: {err}"
    );
    let after = fx.store.audit("default", &record(1).id).await.unwrap();
    assert_eq!(after, before, "nothing of the refused audit was stored");
    // The refused batch began its own transaction; it must not be left open, or the next
    // write would fail to begin one (or never be committed where readers see it).
    fx.store.insert_audit("default", record(2)).await.unwrap();
    let next = fx.store.audit("default", &record(2).id).await.unwrap();
    assert_eq!(
        next.findings.len(),
        record(2).findings.len(),
        "the next audit is stored whole"
    );
}

/// A search that matches thousands of audits is answered by walking the list in its order
/// (see `query/matching.rs`); its pages must be exactly the list's own, filtered to the
/// matches, for orders that follow insertion (one index read per chunk) and orders that
/// don't (one probe per audit), combined with other filters.
#[tokio::test]
async fn a_search_matching_thousands_pages_like_the_filtered_list() {
    let fx = fresh().await;
    const N: usize = 2100;
    let tasks: Vec<_> = (0..4)
        .map(|w| {
            let store = fx.store.clone();
            tokio::spawn(async move {
                for i in (w..N).step_by(4) {
                    let mut r = record(i);
                    // Creation times that follow i, so the newest-first walk meets rowids in
                    // (nearly) insertion order.
                    r.created_at = Some(format!(
                        "2026-03-01 {:02}:{:02}:{:02}.000000",
                        i / 3600,
                        i / 60 % 60,
                        i % 60
                    ));
                    if i % 3 == 0 {
                        // 3 findings each: 2,100 finding matches, over the walking threshold.
                        for f in &mut r.findings {
                            f.description.push_str(" zqwalk");
                        }
                    }
                    if i % 5 == 0 {
                        r.narrative = Some(format!("Narrative {i} mentions zqwalk once."));
                    }
                    store.insert_audit("default", r).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let matching: std::collections::HashSet<String> = (0..N)
        .filter(|i| i % 3 == 0 || i % 5 == 0)
        .map(crate::common::audit_id)
        .collect();
    for (sort, direction, min_score) in [
        (SortKey::Created, Direction::Desc, None),
        (SortKey::Created, Direction::Asc, Some(30.0)),
        (SortKey::Score, Direction::Desc, None),
        (SortKey::Url, Direction::Asc, Some(50.0)),
    ] {
        let filter = AuditFilter {
            min_score,
            ..Default::default()
        };
        let list = |filter: AuditFilter, limit| ListRequest {
            filter,
            sort,
            direction,
            limit: Some(limit),
            ..Default::default()
        };
        let searched = all_pages(
            &fx.store,
            list(
                AuditFilter {
                    search: Some("zqwalk".into()),
                    ..filter.clone()
                },
                97,
            ),
        )
        .await;
        let expected: Vec<String> = all_pages(&fx.store, list(filter, 500))
            .await
            .into_iter()
            .map(|a| a.id)
            .filter(|id| matching.contains(id))
            .collect();
        assert!(expected.len() > 400, "{sort:?}: a sizeable expectation");
        let got: Vec<String> = searched.into_iter().map(|a| a.id).collect();
        assert_eq!(got, expected, "{sort:?} {direction:?} min_score {min_score:?}");
    }
    // A token of the oldest audit only: the newest-first walk gives up after its budget
    // (fewer audits than the list holds) and the matches are collected instead.
    let sparse = fx
        .store
        .list(
            "default",
            &ListRequest {
                filter: AuditFilter {
                    search: Some("zq1x".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let ids: Vec<String> = sparse.audits.into_iter().map(|a| a.id).collect();
    assert_eq!(ids, [crate::common::audit_id(1)], "the one sparse match");
}

/// A search's prefixes are asked of each index as the index's own words where they are few,
/// and a search of several words is narrowed by its words before the whole is asked (see
/// `query/matching.rs`). Its pages must hold exactly what FTS5 itself matches, in the list's
/// order, however a prefix expands and whether or not the words meet in one row.
#[tokio::test]
async fn searches_find_exactly_what_the_full_text_index_matches() {
    let fx = fresh().await;
    for i in 0..400usize {
        let mut r = record(i);
        r.created_at = Some(format!("2026-03-01 00:{:02}:{:02}.000000", i / 60, i % 60));
        let mut extra = String::new();
        for (every, word) in [(2, " zqprefer"), (3, " zqpreselected"), (7, " zqpre")] {
            if i % every == 0 {
                extra.push_str(word);
            }
        }
        // Twelve words of one prefix: more than a prefix is turned into.
        extra.push_str(&format!(" zqmany{}", i % 12));
        // The narratives' phrase's words, in findings too but never in its order.
        if i % 5 == 0 {
            extra.push_str(" gamma beta alpha");
        }
        r.findings[0].description.push_str(&extra);
        if i % 4 == 0 {
            r.narrative = Some(format!("Audit {i} found alpha beta gamma here."));
        }
        fx.store.insert_audit("default", r).await.unwrap();
    }
    let list = |search: Option<&str>, sort| ListRequest {
        filter: AuditFilter {
            search: search.map(str::to_string),
            ..Default::default()
        },
        sort,
        direction: Direction::Desc,
        limit: Some(if search.is_some() { 50 } else { 500 }),
        ..Default::default()
    };
    for (text, some) in [
        ("zqpre", true),
        ("ZQPREF", true),
        ("zqpreselected", true),
        ("zqmany", true),
        ("zqmany1", true),
        ("\"alpha beta gamma\"", true),
        ("\"gamma beta\"", true),
        ("zqprefer alpha", true),
        ("zqprefer zqmany4", true),
        ("\"beta alpha\" zqpre", true),
        ("zqpr\u{e9}fer", true),
        ("zqprefer nosuchword", false),
        ("\"alpha gamma beta\"", false),
    ] {
        let fts = veritas_core::fts_query(text).unwrap();
        let matched: std::collections::HashSet<String> = sqlx::query_scalar(
            "SELECT a.id FROM audits a
             WHERE a.rowid IN (SELECT rowid FROM audits_fts WHERE audits_fts MATCH ?1)
                OR a.id IN (SELECT f.audit_id FROM findings_fts JOIN audit_findings f ON f.id = findings_fts.rowid
                            WHERE findings_fts MATCH ?1)",
        )
        .bind(&fts)
        .fetch_all(fx.store.database().reader())
        .await
        .unwrap()
        .into_iter()
        .collect();
        assert_eq!(
            !matched.is_empty(),
            some,
            "{text:?}: FTS5 matches {}",
            matched.len()
        );
        for sort in [SortKey::Created, SortKey::Score] {
            let expected: Vec<String> = all_pages(&fx.store, list(None, sort))
                .await
                .into_iter()
                .map(|a| a.id)
                .filter(|id| matched.contains(id))
                .collect();
            let got: Vec<String> = all_pages(&fx.store, list(Some(text), sort))
                .await
                .into_iter()
                .map(|a| a.id)
                .collect();
            assert_eq!(got, expected, "{text:?} by {sort:?}");
        }
    }
}

#[tokio::test]
async fn filters_narrow_the_list_and_facets_count_under_them() {
    let fx = fresh().await;
    for i in 0..12 {
        let mut r = record(i);
        r.status = Some([AuditStatus::Completed, AuditStatus::Error, AuditStatus::Running][i % 3]);
        r.trust_score = Some(i as f64 * 8.0);
        r.created_at = Some(format!("2026-02-{:02} 12:00:00.000000", 10 + i));
        if i == 7 {
            r.findings.push(NewFinding {
                key: Some("crit".into()),
                severity: "critical".into(),
                pattern_type: "fake_login_form".into(),
                ..r.findings[0].clone()
            });
        }
        fx.store.insert_audit("default", r).await.unwrap();
    }
    let ids = |f: AuditFilter| {
        let store = fx.store.clone();
        async move {
            let mut v: Vec<String> = store
                .list(
                    "default",
                    &ListRequest {
                        filter: f,
                        limit: Some(500),
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
                .audits
                .into_iter()
                .map(|a| a.id)
                .collect();
            v.sort();
            v
        }
    };
    let expect = |is: &[usize]| {
        let mut v: Vec<String> = is.iter().map(|i| crate::common::audit_id(*i)).collect();
        v.sort();
        v
    };
    assert_eq!(
        ids(AuditFilter {
            status: vec![AuditStatus::Error],
            ..Default::default()
        })
        .await,
        expect(&[1, 4, 7, 10])
    );
    assert_eq!(
        ids(AuditFilter {
            min_score: Some(40.0),
            max_score: Some(64.0),
            ..Default::default()
        })
        .await,
        expect(&[5, 6, 7, 8])
    );
    assert_eq!(
        ids(AuditFilter {
            risk_level: vec!["trusted".into()],
            ..Default::default()
        })
        .await,
        expect(&[]),
        "risk levels are derived on read only"
    );
    assert_eq!(
        ids(AuditFilter {
            created_from: Some("2026-02-19".into()),
            created_to: Some("2026-02-20".into()),
            ..Default::default()
        })
        .await,
        expect(&[9, 10]),
        "a bare 'to' date includes its day"
    );
    assert_eq!(
        ids(AuditFilter {
            url_contains: Some("site3".into()),
            ..Default::default()
        })
        .await,
        expect(&[3, 10])
    );
    assert_eq!(
        ids(AuditFilter {
            url_contains: Some("%".into()),
            ..Default::default()
        })
        .await,
        expect(&[]),
        "LIKE wildcards are literal"
    );
    assert_eq!(
        ids(AuditFilter {
            severity: vec!["CRITICAL".into()],
            ..Default::default()
        })
        .await,
        expect(&(0..12).collect::<Vec<_>>())
    );
    assert_eq!(
        ids(AuditFilter {
            pattern_type: vec!["fake_login_form".into()],
            ..Default::default()
        })
        .await,
        expect(&[7])
    );

    let filter = AuditFilter {
        status: vec![AuditStatus::Error],
        ..Default::default()
    };
    let f = fx.store.facets("default", &filter).await.unwrap();
    assert_eq!(f.total, 4);
    let status: Vec<(String, i64)> = f.status.iter().map(|c| (c.value.clone(), c.count)).collect();
    assert_eq!(
        status,
        vec![
            ("completed".into(), 4),
            ("error".into(), 4),
            ("running".into(), 4)
        ],
        "a facet ignores its own filter"
    );
    let patterns: Vec<(String, i64)> = f
        .pattern_type
        .iter()
        .filter(|c| c.value == "fake_login_form")
        .map(|c| (c.value.clone(), c.count))
        .collect();
    assert_eq!(
        patterns,
        vec![("fake_login_form".into(), 1)],
        "other facets count under the filter"
    );
}

#[tokio::test]
async fn compare_gives_score_and_signal_deltas_and_findings_by_pattern() {
    let fx = fresh().await;
    let mut before = record(1);
    before.signal_scores = Some(json!({"visual": 40.0, "graph": 50.0, "meta": "n/a"}));
    before.trust_score = Some(30.0);
    let mut after = record(2);
    after.url = before.url.clone();
    after.trust_score = Some(45.5);
    after.signal_scores = Some(json!({"visual": 60.0, "graph": 45.0, "temporal": 100.0}));
    after.findings = vec![
        before.findings[0].clone(),
        NewFinding {
            key: Some("n".into()),
            pattern_type: "auto_renewal".into(),
            ..before.findings[0].clone()
        },
    ];
    fx.store.insert_audit("default", before.clone()).await.unwrap();
    fx.store.insert_audit("default", after.clone()).await.unwrap();
    let c = fx.store.compare("default", &before.id, &after.id).await.unwrap();
    assert_eq!(c.score_delta, Some(15.5));
    assert_eq!(c.signal_deltas["visual"], Some(20.0));
    assert_eq!(c.signal_deltas["graph"], Some(-5.0));
    assert_eq!(
        (c.signal_deltas["meta"], c.signal_deltas["temporal"]),
        (None, None),
        "only comparable signals get a delta"
    );
    let names =
        |v: &Vec<veritas_core::PatternCount>| v.iter().map(|p| p.pattern_type.clone()).collect::<Vec<_>>();
    assert_eq!(names(&c.findings.new), vec!["auto_renewal"]);
    assert_eq!(
        names(&c.findings.resolved),
        vec!["confirmshaming", "hidden_costs"]
    );
    assert_eq!(names(&c.findings.kept), vec!["countdown_timer"]);
    let history: Vec<String> = fx
        .store
        .history("default", &format!("{}/", before.url))
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(history.len(), 2, "history ignores a trailing slash");
}

#[tokio::test]
async fn delete_removes_rows_files_and_thumbnails() {
    let fx = fresh().await;
    let png = image_bytes(800, 3000, ImageFormat::Png);
    let lines = vec![
        json!({"type": "audit_start", "audit_id": "vrts_de1e7e00", "url": "https://gone.example/"}).to_string(),
        json!({"type": "screenshot", "label": "fullpage", "index": 0, "data": base64(&png)}).to_string(),
        json!({"type": "finding", "finding": {"pattern_type": "x", "severity": "low", "confidence": 0.1, "description": "d"}}).to_string(),
    ];
    ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    let detail = fx.store.audit("default", "vrts_de1e7e00").await.unwrap();
    let shot = &detail.screenshots[0];
    let thumb = fx
        .store
        .thumbnail("default", "vrts_de1e7e00", shot.id, 200)
        .await
        .unwrap();
    let info = veritas_core::screenshots::inspect(&std::fs::read(&thumb).unwrap()).unwrap();
    assert_eq!(
        (info.width, info.height),
        (200, 750),
        "thumbnail keeps the aspect ratio"
    );
    let (served, served_info) = fx
        .store
        .screenshot_file("default", "vrts_de1e7e00", shot.id)
        .await
        .unwrap();
    assert_eq!(
        (served_info.format.mime(), served_info.height),
        ("image/png", 3000)
    );

    fx.store.delete_audit("default", "vrts_de1e7e00").await.unwrap();
    assert!(fx.store.audit("default", "vrts_de1e7e00").await.is_err());
    assert!(
        !served.exists() && !thumb.exists(),
        "the files went with the rows"
    );
    let left: i64 = sqlx::query_scalar("SELECT (SELECT count(*) FROM audit_findings) + (SELECT count(*) FROM audit_events) + (SELECT count(*) FROM audit_screenshots)")
        .fetch_one(fx.store.database().reader()).await.unwrap();
    assert_eq!(left, 0, "no child row is left behind");
}

#[tokio::test]
async fn doctor_reports_what_is_wrong_and_repairs_what_is_safe() {
    let fx = fresh().await;
    veritas_core::demo::load_demo(&fx.store, "default", 8, &mut |_, _| {})
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
    veritas_core::demo::load_demo(&fx.store, "default", 4, &mut |_, _| {})
        .await
        .unwrap();
    let writer = fx.reopen().await;
    let writing = tokio::spawn(async move {
        for i in 0..60 {
            writer.insert_audit("default", record(i)).await.unwrap();
        }
    });
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("copy");
    let report = fx.store.backup(&target).await.unwrap();
    writing.await.unwrap();

    let copy = Store::open(&target).await.unwrap();
    let audits = copy
        .list(
            "default",
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
        let source = fx.store.audit("default", &a.id).await.unwrap();
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
    assert!(
        fx.store.backup(&target).await.is_err(),
        "a non-empty destination is refused"
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
    other.insert_audit("default", record(1)).await.unwrap();
    let noticed = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv()).await;
    assert!(matches!(noticed, Ok(Some(()))), "the commit was noticed");
    watcher.abort();
}

#[tokio::test]
async fn the_html_report_embeds_its_screenshots_and_runs_nothing() {
    let fx = fresh().await;
    let png = image_bytes(40, 30, ImageFormat::Png);
    let lines = vec![
        json!({"type": "audit_start", "audit_id": "vrts_0000a7a1", "url": "https://report.example/"}).to_string(),
        json!({"type": "screenshot", "label": "t0", "index": 0, "data": base64(&png)}).to_string(),
        json!({"type": "screenshot", "label": "t1", "index": 1, "url": "C:\\gone.png", "data": null}).to_string(),
        json!({"type": "audit_result", "result": {"trust_score": 50.0, "narrative": "# Title\n\n<script>alert(1)</script><img src=x onerror=alert(2)>\n\nSome **bold** words."}}).to_string(),
    ];
    ingest_lines(&fx.store, &lines, &IngestOptions::default()).await;
    let html = fx
        .store
        .export(
            "default",
            "vrts_0000a7a1",
            veritas_core::export::ExportFormat::Html,
        )
        .await
        .unwrap();
    assert!(
        html.contains(&format!("data:image/png;base64,{}", base64(&png))),
        "the screenshot is inlined"
    );
    assert!(html.contains("t1 (#1): file missing"));
    assert!(html.contains("<strong>bold</strong>"), "markdown is rendered");
    let lower = html.to_lowercase();
    assert!(
        !lower.contains("<script") && !lower.contains("onerror"),
        "nothing from the narrative can run"
    );
    assert!(
        !lower.contains("src=\"http") && !lower.contains("src=x"),
        "no remote or broken resource is loaded"
    );
}
