//! Full-text search through the list: pages of a search match the filtered list walked in
//! order, and hold exactly what FTS5 itself matches.

use veritas_core::{AuditFilter, Direction, ListRequest, SortKey};

use crate::common::{fresh, pname, record};
use crate::list::all_pages;

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
                    r.fields.created_at = Some(format!(
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
                        r.fields.narrative = Some(format!("Narrative {i} mentions zqwalk once."));
                    }
                    store.insert_audit(&pname("default"), r).await.unwrap();
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
        .list_audits_full(
            &pname("default"),
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
        r.fields.created_at = Some(format!("2026-03-01 00:{:02}:{:02}.000000", i / 60, i % 60));
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
            r.fields.narrative = Some(format!("Audit {i} found alpha beta gamma here."));
        }
        fx.store.insert_audit(&pname("default"), r).await.unwrap();
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
