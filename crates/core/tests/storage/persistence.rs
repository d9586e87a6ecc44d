//! What is written stays written: across closing and reopening, with every field intact,
//! and the full-text index with it.

use veritas_core::{AuditFilter, ListRequest, NewFinding, Store};

use crate::common::{aid, fresh, pname, record};

fn search(text: &str) -> ListRequest {
    ListRequest {
        filter: AuditFilter {
            search: Some(text.into()),
            ..Default::default()
        },
        limit: Some(500),
        ..Default::default()
    }
}

#[tokio::test]
async fn every_field_survives_closing_and_reopening() {
    let fx = fresh().await;
    for i in 0..5 {
        fx.store.insert_audit(&pname("default"), record(i)).await.unwrap();
    }
    let before = fx
        .store
        .get_audit(&pname("default"), &aid(&record(3).id))
        .await
        .unwrap();
    fx.store.database().clone().close().await;
    drop(fx.store);

    let reopened = Store::open(fx.dir.path()).await.unwrap();
    let after = reopened
        .get_audit(&pname("default"), &aid(&record(3).id))
        .await
        .unwrap();
    assert_eq!(
        after, before,
        "an audit read after reopening equals the one read before"
    );
    let want = record(3);
    assert_eq!(
        after.audit.fields.narrative, want.fields.narrative,
        "text with Unicode intact"
    );
    assert_eq!(
        after.audit.fields.signal_scores, want.fields.signal_scores,
        "JSON intact"
    );
    assert_eq!(
        after.audit.fields.security_results, want.fields.security_results,
        "nested JSON intact"
    );
    assert_eq!(
        after.audit.fields.created_at.as_deref(),
        Some("2026-02-23T10:03:33.911883Z"),
        "microseconds kept"
    );
    assert_eq!(after.events.len(), 2);
    assert_eq!(after.events[1].data, Some(want.events[1].data.clone()));
}

#[tokio::test]
async fn a_finding_keeps_text_embedding_and_model_and_one_without_has_nulls() {
    let fx = fresh().await;
    let mut r = record(1);
    r.findings = vec![
        NewFinding {
            created_at: None,
            run: None,
            embedding: Some(vec![0.25, -1.5, 3.0e-8, f32::MAX]),
            embedding_model: Some("all-MiniLM-L6-v2".into()),
            embedding_model_version: Some("2.2.2".into()),
            ..r.findings[0].clone()
        },
        r.findings[1].clone(),
    ];
    fx.store.insert_audit(&pname("default"), r.clone()).await.unwrap();
    let reopened = fx.reopen().await;
    let got = reopened
        .get_audit(&pname("default"), &aid(&r.id))
        .await
        .unwrap()
        .findings;
    assert_eq!(
        got[0].description, r.findings[0].description,
        "original text kept"
    );
    assert_eq!(
        got[0].embedding.as_deref(),
        Some(&[0.25, -1.5, 3.0e-8, f32::MAX][..]),
        "bit-exact f32 round trip"
    );
    assert_eq!(got[0].embedding_model.as_deref(), Some("all-MiniLM-L6-v2"));
    assert_eq!(got[0].embedding_model_version.as_deref(), Some("2.2.2"));
    assert_eq!(
        (
            &got[1].embedding,
            &got[1].embedding_model,
            &got[1].embedding_model_version
        ),
        (&None, &None, &None)
    );
}

#[tokio::test]
async fn full_text_search_finds_the_same_after_reopening() {
    let fx = fresh().await;
    for i in 0..10 {
        fx.store.insert_audit(&pname("default"), record(i)).await.unwrap();
    }
    let ids = |page: veritas_core::AuditPage| page.audits.into_iter().map(|a| a.id).collect::<Vec<_>>();
    let narrative_hit = ids(fx
        .store
        .list_audits_full(&pname("default"), &search("zq7x"))
        .await
        .unwrap());
    assert_eq!(
        narrative_hit,
        vec![record(7).id],
        "a word of one narrative finds that audit only"
    );
    let accent_free = ids(fx
        .store
        .list_audits_full(&pname("default"), &search("cafe checkout"))
        .await
        .unwrap());
    assert_eq!(
        accent_free.len(),
        10,
        "diacritics are folded: 'cafe' finds 'café'"
    );
    let url_hit = ids(fx
        .store
        .list_audits_full(&pname("default"), &search("site3"))
        .await
        .unwrap());
    // Urls are site{i % 7}: of audits 0 to 9, only audit 3 is on site3.
    assert_eq!(
        url_hit,
        vec![record(3).id],
        "a word of the url finds exactly its audit"
    );

    let reopened = fx.reopen().await;
    drop(fx.store);
    assert_eq!(
        ids(reopened
            .list_audits_full(&pname("default"), &search("zq7x"))
            .await
            .unwrap()),
        narrative_hit
    );
    let finding_hit = ids(reopened
        .list_audits_full(&pname("default"), &search("\"audit 4: a fake\""))
        .await
        .unwrap());
    assert_eq!(
        finding_hit,
        vec![record(4).id],
        "a phrase from a finding finds its audit"
    );
}

#[tokio::test]
async fn hostile_search_text_never_errors() {
    let fx = fresh().await;
    fx.store.insert_audit(&pname("default"), record(1)).await.unwrap();
    for text in [
        "\"",
        "\"\"",
        "'",
        "*",
        "**",
        "a*b",
        ":",
        "url:shop",
        "(",
        ")",
        "((a)",
        "AND",
        "OR",
        "NOT",
        "NEAR",
        "a AND",
        "OR b",
        "NOT NOT",
        "NEAR(a b, 3)",
        "a NEAR/2 b",
        "^start",
        "-x",
        "+y",
        "{a b}",
        "col:(a OR b)",
        "\\",
        "%",
        "_",
        "'; DROP TABLE audits; --",
        "\u{0}",
        "😀",
        "\u{202e}evil",
        &"x".repeat(10_000),
        "\"unbalanced phrase",
        "a\"b\"c",
        "[]",
        "$",
        "?",
        "?1",
        "@p",
        ":name",
    ] {
        let res = fx.store.list_audits_full(&pname("default"), &search(text)).await;
        assert!(res.is_ok(), "search {text:?} failed: {:?}", res.err());
        let facets = fx
            .store
            .audit_facets(&pname("default"), &search(text).filter)
            .await;
        assert!(
            facets.is_ok(),
            "facets for search {text:?} failed: {:?}",
            facets.err()
        );
    }
    assert_eq!(
        fx.store
            .list_audits_full(&pname("default"), &search("\""))
            .await
            .unwrap()
            .audits
            .len(),
        1,
        "no words: no filter"
    );
}
