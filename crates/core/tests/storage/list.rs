//! The list: filters, sorts, keyset pages, list rows, facets.

use veritas_core::{
    Audit, AuditFilter, AuditRow, AuditStatus, Direction, ListRequest, NewFinding, SortKey, Store,
};

use crate::common::{fresh, pname, record};

/// Every page of a list, followed cursor by cursor.
pub async fn all_pages(store: &Store, mut req: ListRequest) -> Vec<Audit> {
    let mut out = Vec::new();
    loop {
        let page = store.list_audits_full(&pname("default"), &req).await.unwrap();
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
            r.fields.trust_score = None; // NULL scores sort too, and ties on score are broken by id
        }
        if i % 4 == 0 {
            r.fields.trust_score = Some(50.0);
        }
        r.status = Some([AuditStatus::Completed, AuditStatus::Error, AuditStatus::Running][i % 3]);
        r.findings.truncate(i % 4);
        fx.store.insert_audit(&pname("default"), r).await.unwrap();
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
                SortKey::Created => (a.fields.created_at.clone().unwrap_or_default(), 0.0, a.id.clone()),
                SortKey::Score => (String::new(), a.fields.trust_score.unwrap_or(-1.0), a.id.clone()),
                SortKey::Url => (a.url.clone(), 0.0, a.id.clone()),
                SortKey::Status => (a.status.clone(), 0.0, a.id.clone()),
                // The write path stores the risk level derived from the score.
                SortKey::RiskLevel => (a.fields.risk_level.clone().unwrap_or_default(), 0.0, a.id.clone()),
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
        .list_audits_full(&pname("default"), &bad)
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
            r.fields.narrative = Some(format!("A **cozy** shop, number {i}."));
        }
        fx.store.insert_audit(&pname("default"), r).await.unwrap();
    }
    // The rows' change flags, as the audits' own changes give them.
    let mut flags = std::collections::HashMap::new();
    for i in 0..9 {
        let id = veritas_core::AuditId::parse(&record(i).id).unwrap();
        let changes = fx.store.audit_changes(&pname("default"), &id).await.unwrap();
        let mut f: Vec<String> = changes
            .findings
            .iter()
            .filter_map(|c| match c.change {
                veritas_core::FindingChangeKind::New => Some("new".to_string()),
                veritas_core::FindingChangeKind::Regressed => Some("regressed".to_string()),
                veritas_core::FindingChangeKind::Persisting => None,
            })
            .collect();
        f.sort();
        f.dedup();
        flags.insert(id.to_string(), f);
    }
    let as_row = |a: &Audit| AuditRow {
        changes: flags[&a.id].clone(),
        id: a.id.clone(),
        url: a.url.clone(),
        status: a.status.clone(),
        audit_tier: a.fields.audit_tier.clone(),
        trust_score: a.fields.trust_score,
        risk_level: a.fields.risk_level.clone(),
        site_type: a.fields.site_type.clone(),
        created_at: a.fields.created_at.clone(),
        findings_count: a.findings_count,
        screenshots_count: a.screenshots_count,
        unreadable: a
            .unreadable
            .iter()
            .filter(|c| *c == "trust_score")
            .cloned()
            .collect(),
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
            let full = fx.store.list_audits_full(&pname("default"), &req).await.unwrap();
            let rows = fx.store.list_audits(&pname("default"), &req).await.unwrap();
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
async fn filters_narrow_the_list_and_facets_count_under_them() {
    let fx = fresh().await;
    for i in 0..12 {
        let mut r = record(i);
        r.status = Some([AuditStatus::Completed, AuditStatus::Error, AuditStatus::Running][i % 3]);
        r.fields.trust_score = Some(i as f64 * 8.0);
        r.fields.created_at = Some(format!("2026-02-{:02} 12:00:00.000000", 10 + i));
        if i == 7 {
            r.findings.push(NewFinding {
                created_at: None,
                run: None,
                key: Some("crit".into()),
                severity: "critical".into(),
                pattern_type: "fake_login_form".into(),
                ..r.findings[0].clone()
            });
        }
        fx.store.insert_audit(&pname("default"), r).await.unwrap();
    }
    let ids = |f: AuditFilter| {
        let store = fx.store.clone();
        async move {
            let mut v: Vec<String> = store
                .list_audits_full(
                    &pname("default"),
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
            risk_level: vec!["probably_safe".into()],
            ..Default::default()
        })
        .await,
        expect(&[9, 10, 11]),
        "a risk level the producer left out is derived from the score (70-89: probably_safe) \
         when stored, so the filter finds it"
    );
    assert_eq!(
        ids(AuditFilter {
            risk_level: vec!["trusted".into()],
            ..Default::default()
        })
        .await,
        expect(&[]),
        "no score here reaches 90, so none is trusted"
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
    let f = fx.store.audit_facets(&pname("default"), &filter).await.unwrap();
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
