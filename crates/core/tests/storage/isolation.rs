//! Nothing of project A is visible from project B: list, show, search, facets, history,
//! similar findings, compare, delete.

use veritas_core::{AuditFilter, ErrorKind, ListRequest, NewFinding};

use crate::common::{aid, fresh, pname, record};

#[tokio::test]
async fn nothing_of_one_project_is_visible_from_another() {
    let fx = fresh().await;
    let s = &fx.store;
    let embedded = |v: Vec<f32>| NewFinding {
        created_at: None,
        run: None,
        embedding: Some(v),
        embedding_model: Some("m".into()),
        embedding_model_version: Some("1".into()),
        ..record(0).findings[0].clone()
    };
    // Same url in both projects, so history could leak if it were not scoped.
    let mut a = record(1);
    a.findings.push(NewFinding {
        created_at: None,
        run: None,
        key: Some("emb".into()),
        ..embedded(vec![1.0, 0.0])
    });
    let mut b = record(2);
    b.url = a.url.clone();
    b.findings.push(NewFinding {
        created_at: None,
        run: None,
        key: Some("emb".into()),
        ..embedded(vec![0.9, 0.1])
    });
    s.insert_audit(&pname("alpha"), a.clone()).await.unwrap();
    s.insert_audit(&pname("beta"), b.clone()).await.unwrap();

    let all = ListRequest {
        limit: Some(500),
        ..Default::default()
    };
    let in_beta: Vec<String> = s
        .list_audits_full(&pname("beta"), &all)
        .await
        .unwrap()
        .audits
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(in_beta, vec![b.id.clone()], "list");
    assert_eq!(
        s.get_audit(&pname("beta"), &aid(&a.id)).await.unwrap_err().kind,
        ErrorKind::NotFound,
        "show"
    );
    let search = ListRequest {
        filter: AuditFilter {
            search: Some("zq1x".into()),
            ..Default::default()
        },
        ..all.clone()
    };
    assert!(
        s.list_audits_full(&pname("beta"), &search)
            .await
            .unwrap()
            .audits
            .is_empty(),
        "search"
    );
    assert_eq!(
        s.list_audits_full(&pname("alpha"), &search)
            .await
            .unwrap()
            .audits
            .len(),
        1,
        "the search does find it in its project"
    );
    let facets = s
        .audit_facets(&pname("beta"), &AuditFilter::default())
        .await
        .unwrap();
    assert_eq!(facets.total, 1, "facets");
    assert_eq!(
        facets.severity.iter().map(|c| c.count).max(),
        Some(1),
        "facet counts count beta's audit only"
    );
    let history: Vec<String> = s
        .audit_history(&pname("beta"), &a.url)
        .await
        .unwrap()
        .into_iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(history, vec![b.id.clone()], "history");
    assert_eq!(
        s.compare_audits(&pname("beta"), &aid(&b.id), &aid(&a.id))
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound,
        "compare"
    );

    let beta_finding = s
        .get_audit(&pname("beta"), &aid(&b.id))
        .await
        .unwrap()
        .findings
        .into_iter()
        .find(|f| f.embedding.is_some())
        .unwrap();
    let alpha_finding = s
        .get_audit(&pname("alpha"), &aid(&a.id))
        .await
        .unwrap()
        .findings
        .into_iter()
        .find(|f| f.embedding.is_some())
        .unwrap();
    assert!(
        s.similar_findings(&pname("beta"), beta_finding.id, 10)
            .await
            .unwrap()
            .is_empty(),
        "similar: alpha's finding is not offered"
    );
    assert_eq!(
        s.similar_findings(&pname("beta"), alpha_finding.id, 10)
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound
    );
    let similar = s
        .similar_findings(&pname("alpha"), alpha_finding.id, 10)
        .await
        .unwrap();
    assert!(similar.is_empty(), "alpha has no other embedded finding");

    assert_eq!(
        s.delete_audit(&pname("beta"), &aid(&a.id))
            .await
            .unwrap_err()
            .kind,
        ErrorKind::NotFound,
        "delete"
    );
    assert!(
        s.get_audit(&pname("alpha"), &aid(&a.id)).await.is_ok(),
        "alpha's audit survives beta's delete attempt"
    );
    let names: Vec<(String, i64)> = s
        .projects()
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.name, p.audits))
        .collect();
    assert_eq!(
        names,
        vec![("alpha".into(), 1), ("beta".into(), 1), ("default".into(), 0)]
    );
}

#[tokio::test]
async fn similar_findings_rank_by_cosine_within_one_model_and_version() {
    let fx = fresh().await;
    let f = |key: &str, v: Vec<f32>, model: &str| NewFinding {
        created_at: None,
        run: None,
        key: Some(key.into()),
        embedding: Some(v),
        embedding_model: Some(model.into()),
        embedding_model_version: Some("1".into()),
        ..record(0).findings[0].clone()
    };
    let mut r = record(1);
    r.findings = vec![
        f("q", vec![1.0, 0.0, 0.0], "m"),
        f("near", vec![0.9, 0.1, 0.0], "m"),
        f("far", vec![0.0, 1.0, 0.0], "m"),
        f("other-model", vec![1.0, 0.0, 0.0], "other"),
        NewFinding {
            created_at: None,
            run: None,
            key: Some("plain".into()),
            ..record(0).findings[0].clone()
        },
    ];
    fx.store.insert_audit(&pname("default"), r.clone()).await.unwrap();
    let findings = fx
        .store
        .get_audit(&pname("default"), &aid(&r.id))
        .await
        .unwrap()
        .findings;
    let q = findings
        .iter()
        .find(|x| x.finding_key.as_deref() == Some("q"))
        .unwrap();
    let found = fx
        .store
        .similar_findings(&pname("default"), q.id, 10)
        .await
        .unwrap();
    let keys: Vec<&str> = found
        .iter()
        .map(|s| s.finding.finding_key.as_deref().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec!["near", "far"],
        "ranked by similarity; another model's vectors are not comparable"
    );
    assert!(found[0].similarity > 0.99 && found[1].similarity.abs() < 1e-6);
    let plain = findings
        .iter()
        .find(|x| x.embedding.is_none())
        .expect("the finding without embedding");
    let err = fx
        .store
        .similar_findings(&pname("default"), plain.id, 5)
        .await
        .unwrap_err();
    assert_eq!(
        err.kind,
        ErrorKind::InvalidInput,
        "a finding without embedding has nothing to compare: {}",
        err.message
    );
}
