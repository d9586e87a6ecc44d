//! Triage (migration 11): a verdict follows the problem to the site's other audits (shown
//! as carried), can be overridden per audit, is kept as history, hides false positives and
//! accepted risks from exports (which say so), and merges between analysts with conflicts
//! kept and shown.

use veritas_core::{
    AuditFilter, AuditId, AuditRecord, ExportFormat, ListRequest, NewFinding, ProjectName, Store,
    TriageRequest, TriageVerdict,
};

use crate::common::{fresh, pname, record};

fn finding(pattern: &str) -> NewFinding {
    NewFinding {
        created_at: None,
        run: None,
        pattern_type: pattern.into(),
        category: Some("dark_pattern".into()),
        severity: "high".into(),
        confidence: 0.8,
        description: format!("{pattern} seen"),
        ..NewFinding::default()
    }
}

fn audit(i: usize, minute: u32, patterns: &[&str]) -> AuditRecord {
    let mut r = record(i);
    r.url = "https://shop.example/".into();
    r.fields.created_at = Some(format!("2026-03-01 10:{minute:02}:00.000000"));
    r.findings = patterns.iter().map(|p| finding(p)).collect();
    r
}

fn p() -> ProjectName {
    ProjectName::default()
}

fn id(i: usize) -> AuditId {
    AuditId::parse(&record(i).id).unwrap()
}

/// The finding of `pattern` in audit `i`.
async fn finding_id(store: &Store, i: usize, pattern: &str) -> i64 {
    store
        .get_audit(&p(), &id(i))
        .await
        .unwrap()
        .findings
        .iter()
        .find(|f| f.pattern_type == pattern)
        .unwrap()
        .id
}

fn req(finding_id: i64, verdict: TriageVerdict, author: &str, only: bool) -> TriageRequest {
    TriageRequest {
        finding_id,
        verdict,
        note: format!("{author} says {}", verdict.as_str()),
        author: Some(author.into()),
        only_this_audit: only,
    }
}

async fn verdict_in(store: &Store, i: usize, pattern: &str) -> (Option<TriageVerdict>, bool, usize) {
    let fid = finding_id(store, i, pattern).await;
    let t = store.audit_triage(&p(), &id(i)).await.unwrap();
    let f = t.findings.iter().find(|f| f.finding_id == fid).unwrap();
    (f.verdict, f.carried, f.conflict.len())
}

#[tokio::test]
async fn a_verdict_carries_to_the_sites_later_audits_and_an_audit_can_override_it() {
    let fx = fresh().await;
    let s = &fx.store;
    s.insert_audit(&p(), audit(1, 1, &["countdown_timer", "hidden_costs"]))
        .await
        .unwrap();
    s.insert_audit(&p(), audit(2, 2, &["countdown_timer"]))
        .await
        .unwrap();
    s.insert_audit(&p(), audit(3, 3, &["countdown_timer", "hidden_costs"]))
        .await
        .unwrap();

    let timer1 = finding_id(s, 1, "countdown_timer").await;
    let now = s
        .triage_finding(&p(), req(timer1, TriageVerdict::FalsePositive, "ana", false))
        .await
        .unwrap();
    assert_eq!(now.verdict, Some(TriageVerdict::FalsePositive));
    assert!(!now.carried, "decided on this audit");
    assert!(now.hidden);

    // The next audits of the site: already marked, as carried from audit 1.
    for i in [2, 3] {
        assert_eq!(
            verdict_in(s, i, "countdown_timer").await,
            (Some(TriageVerdict::FalsePositive), true, 0),
            "audit {i}"
        );
        let t = s.audit_triage(&p(), &id(i)).await.unwrap();
        assert_eq!(t.hidden, 1, "audit {i}");
        let d = t.findings.iter().find_map(|f| f.decision.clone()).unwrap();
        assert_eq!(d.origin_audit_id, record(1).id);
    }
    // Another site's findings of the same pattern are not touched.
    let mut other = audit(4, 4, &["countdown_timer"]);
    other.url = "https://other.example".into();
    s.insert_audit(&p(), other).await.unwrap();
    assert_eq!(verdict_in(s, 4, "countdown_timer").await, (None, false, 0));

    // Overridden in audit 3 alone.
    let timer3 = finding_id(s, 3, "countdown_timer").await;
    s.triage_finding(&p(), req(timer3, TriageVerdict::Confirmed, "ana", true))
        .await
        .unwrap();
    assert_eq!(
        verdict_in(s, 3, "countdown_timer").await.0,
        Some(TriageVerdict::Confirmed)
    );
    assert_eq!(
        verdict_in(s, 2, "countdown_timer").await.0,
        Some(TriageVerdict::FalsePositive)
    );

    // History: every change, newest first, never overwritten.
    let timer2 = finding_id(s, 2, "countdown_timer").await;
    s.triage_finding(&p(), req(timer2, TriageVerdict::NeedsReview, "bo", false))
        .await
        .unwrap();
    let history = s.triage_history(&p(), timer2).await.unwrap();
    let verdicts: Vec<TriageVerdict> = history.iter().map(|d| d.verdict).collect();
    assert_eq!(
        verdicts,
        vec![
            TriageVerdict::NeedsReview,
            TriageVerdict::Confirmed,
            TriageVerdict::FalsePositive
        ]
    );
    assert_eq!(history[0].author, "bo");
    assert_eq!(
        history[0].replaces,
        vec![history[2].id.clone()],
        "replaced the site's decision, not audit 3's"
    );
    assert_eq!(
        verdict_in(s, 1, "countdown_timer").await.0,
        Some(TriageVerdict::NeedsReview)
    );

    // Untriaged: audits with a finding nobody decided on (the fees of 1 and 3, audit 4).
    let req = ListRequest {
        filter: AuditFilter {
            untriaged: true,
            ..AuditFilter::default()
        },
        ..ListRequest::default()
    };
    let mut listed: Vec<String> = s
        .list_audits(&p(), &req)
        .await
        .unwrap()
        .audits
        .into_iter()
        .map(|a| a.id)
        .collect();
    listed.sort();
    let mut want = vec![record(1).id, record(3).id, record(4).id];
    want.sort();
    assert_eq!(listed, want);
}

#[tokio::test]
async fn exports_leave_out_hidden_findings_and_say_what_they_hid() {
    let fx = fresh().await;
    let s = &fx.store;
    s.insert_audit(
        &p(),
        audit(1, 1, &["countdown_timer", "hidden_costs", "confirmshaming"]),
    )
    .await
    .unwrap();
    let timer = finding_id(s, 1, "countdown_timer").await;
    let fees = finding_id(s, 1, "hidden_costs").await;
    s.triage_finding(&p(), req(timer, TriageVerdict::FalsePositive, "ana", false))
        .await
        .unwrap();
    s.triage_finding(&p(), req(fees, TriageVerdict::AcceptedRisk, "ana", false))
        .await
        .unwrap();

    let csv = s.export_audit(&p(), &id(1), ExportFormat::Csv).await.unwrap();
    assert_eq!(csv.lines().filter(|l| l.contains("confirmshaming")).count(), 1);
    assert!(
        !csv.contains("countdown_timer") && !csv.contains(",hidden_costs,"),
        "{csv}"
    );
    assert!(
        csv.lines()
            .last()
            .unwrap()
            .starts_with("# 2 findings hidden by triage (1 false positive, 1 accepted risk)"),
        "{csv}"
    );

    let json: serde_json::Value =
        serde_json::from_str(&s.export_audit(&p(), &id(1), ExportFormat::Json).await.unwrap()).unwrap();
    assert_eq!(json["findings"].as_array().unwrap().len(), 1);
    assert_eq!(
        json["hidden_by_triage"]["finding_ids"].as_array().unwrap().len(),
        2
    );

    let html = s.export_audit(&p(), &id(1), ExportFormat::Html).await.unwrap();
    assert!(html.contains("Findings (1)") && html.contains("2 findings hidden by triage"));

    let all = s
        .export_audit_with_hidden(&p(), &id(1), ExportFormat::Csv)
        .await
        .unwrap();
    assert!(all.contains("countdown_timer") && !all.contains("hidden by triage"));
}

#[tokio::test]
async fn two_analysts_exchange_decisions_and_a_disagreement_is_kept_as_a_conflict() {
    // Ana and Bo each audit the same site in their own database.
    let (ana, bo) = (fresh().await, fresh().await);
    for fx in [&ana, &bo] {
        fx.store
            .insert_audit(&p(), audit(1, 1, &["countdown_timer", "hidden_costs"]))
            .await
            .unwrap();
    }
    let (a, b) = (&ana.store, &bo.store);
    let timer = finding_id(a, 1, "countdown_timer").await;
    let fees = finding_id(a, 1, "hidden_costs").await;
    a.triage_finding(&p(), req(timer, TriageVerdict::FalsePositive, "ana", false))
        .await
        .unwrap();
    a.triage_finding(&p(), req(fees, TriageVerdict::Confirmed, "ana", false))
        .await
        .unwrap();
    let b_timer = finding_id(b, 1, "countdown_timer").await;
    b.triage_finding(&p(), req(b_timer, TriageVerdict::Confirmed, "bo", false))
        .await
        .unwrap();

    // Bo imports Ana's file into another project name: merged by site and fingerprint.
    let file = serde_json::to_string(&a.export_triage(&p()).await.unwrap()).unwrap();
    let report = b.import_triage(&p(), &file, "ana.json").await.unwrap();
    assert_eq!((report.added, report.known), (2, 0));
    assert_eq!(report.conflicts.len(), 1, "{:?}", report.conflicts);
    assert!(report.conflicts[0].contains("countdown_timer"));
    // The fees: Ana's verdict, carried in. The timer: both verdicts shown, none chosen.
    assert_eq!(
        verdict_in(b, 1, "hidden_costs").await.0,
        Some(TriageVerdict::Confirmed)
    );
    assert_eq!(verdict_in(b, 1, "countdown_timer").await, (None, false, 2));
    let t = b.audit_triage(&p(), &id(1)).await.unwrap();
    assert_eq!(t.hidden, 0, "a conflict is not hidden");

    // The same file again changes nothing.
    let again = b.import_triage(&p(), &file, "ana.json").await.unwrap();
    assert_eq!((again.added, again.known), (0, 2));

    // Bo decides again, having seen both: the conflict ends.
    b.triage_finding(&p(), req(b_timer, TriageVerdict::FalsePositive, "bo", false))
        .await
        .unwrap();
    assert_eq!(
        verdict_in(b, 1, "countdown_timer").await.0,
        Some(TriageVerdict::FalsePositive)
    );

    // Into another project's name: the same site there.
    b.insert_audit(&pname("team"), {
        let mut r = audit(9, 9, &["countdown_timer"]);
        r.url = "https://shop.example".into();
        r
    })
    .await
    .unwrap();
    let moved = b.import_triage(&pname("team"), &file, "ana.json").await.unwrap();
    assert_eq!(moved.added, 2);

    // A tampered or foreign file is refused, naming what is wrong, and nothing is stored.
    let tampered = file.replace("false_positive", "confirmed");
    let e = b.import_triage(&p(), &tampered, "evil.json").await.unwrap_err();
    assert!(e.to_string().contains("decision 0"), "{e}");
    let e = b.import_triage(&p(), "{\"x\":1}", "x.json").await.unwrap_err();
    assert!(e.to_string().contains("triage file"), "{e}");
}

#[tokio::test]
async fn bad_triage_input_is_refused_and_names_the_input() {
    let fx = fresh().await;
    let s = &fx.store;
    s.insert_audit(&p(), audit(1, 1, &["countdown_timer"]))
        .await
        .unwrap();
    let f = finding_id(s, 1, "countdown_timer").await;
    let e = s
        .triage_finding(
            &p(),
            TriageRequest {
                note: "x".repeat(10_001),
                ..req(f, TriageVerdict::Confirmed, "ana", false)
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("note"), "{e}");
    let e = s
        .triage_finding(&p(), req(f, TriageVerdict::Confirmed, "  ", false))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("author"), "{e}");
    let e = s
        .triage_finding(&p(), req(999_999, TriageVerdict::Confirmed, "ana", false))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("999999"), "{e}");
    let e = s
        .triage_finding(
            &pname("elsewhere"),
            req(f, TriageVerdict::Confirmed, "ana", false),
        )
        .await
        .unwrap_err();
    assert!(
        e.to_string().contains("elsewhere"),
        "another project's finding is not found: {e}"
    );
    assert!(s.triage_history(&p(), f).await.unwrap().is_empty());
}

/// The severity and pattern facets of `filter`, as (value, count) pairs, with the number of
/// findings they leave out.
async fn finding_facets(
    store: &Store,
    filter: &AuditFilter,
) -> (Vec<(String, i64)>, Vec<(String, i64)>, i64) {
    let f = store.audit_facets(&p(), filter).await.unwrap();
    let pairs = |v: &[veritas_core::FacetCount]| {
        let mut v: Vec<(String, i64)> = v.iter().map(|c| (c.value.clone(), c.count)).collect();
        v.sort();
        v
    };
    (pairs(&f.severity), pairs(&f.pattern_type), f.hidden_findings)
}

fn owned(v: &[(&str, i64)]) -> Vec<(String, i64)> {
    v.iter().map(|(s, n)| (s.to_string(), *n)).collect()
}

#[tokio::test]
async fn facets_leave_out_triaged_away_findings_and_count_them_when_asked() {
    let fx = fresh().await;
    let s = &fx.store;
    let with = |i: usize, minute: u32, url: &str, findings: &[(&str, &str)]| {
        let mut r = audit(i, minute, &[]);
        r.url = url.into();
        r.findings = findings
            .iter()
            .map(|(pattern, severity)| NewFinding {
                created_at: None,
                run: None,
                severity: (*severity).into(),
                ..finding(pattern)
            })
            .collect();
        r
    };
    let shop = "https://shop.example/";
    s.insert_audit(
        &p(),
        with(
            1,
            1,
            shop,
            &[("countdown_timer", "high"), ("hidden_costs", "low")],
        ),
    )
    .await
    .unwrap();
    s.insert_audit(&p(), with(2, 2, shop, &[("countdown_timer", "high")]))
        .await
        .unwrap();
    s.insert_audit(
        &p(),
        with(
            3,
            3,
            shop,
            &[("countdown_timer", "high"), ("hidden_costs", "low")],
        ),
    )
    .await
    .unwrap();
    s.insert_audit(
        &p(),
        with(4, 4, "https://other.example/", &[("countdown_timer", "high")]),
    )
    .await
    .unwrap();
    let none = AuditFilter::default();
    let all = AuditFilter {
        include_hidden: true,
        ..AuditFilter::default()
    };
    let everything = (
        owned(&[("high", 4), ("low", 2)]),
        owned(&[("countdown_timer", 4), ("hidden_costs", 2)]),
        0,
    );
    assert_eq!(finding_facets(s, &none).await, everything);

    // The timer on the shop is a false positive: its three findings leave the counts.
    let timer1 = finding_id(s, 1, "countdown_timer").await;
    s.triage_finding(&p(), req(timer1, TriageVerdict::FalsePositive, "ana", false))
        .await
        .unwrap();
    let hidden = (
        owned(&[("high", 1), ("low", 2)]),
        owned(&[("countdown_timer", 1), ("hidden_costs", 2)]),
        3,
    );
    assert_eq!(finding_facets(s, &none).await, hidden);
    assert_eq!(
        finding_facets(s, &all).await,
        (everything.0.clone(), everything.1.clone(), 3)
    );
    // Counted from the rows (a url condition the maintained counts do not keep): the same.
    let by_rows = |include_hidden| AuditFilter {
        url_contains: Some("example".into()),
        include_hidden,
        ..AuditFilter::default()
    };
    assert_eq!(finding_facets(s, &by_rows(false)).await, hidden);
    assert_eq!(finding_facets(s, &by_rows(true)).await.0, everything.0);
    // A facet under another finding facet's choice (the pairs), both ways.
    let low = |include_hidden| AuditFilter {
        severity: vec!["low".into()],
        include_hidden,
        ..AuditFilter::default()
    };
    assert_eq!(
        finding_facets(s, &low(false)).await.1,
        owned(&[("hidden_costs", 2)])
    );
    assert_eq!(
        finding_facets(s, &low(true)).await.1,
        owned(&[("countdown_timer", 2), ("hidden_costs", 2)])
    );
    // The list follows the counts: "high" is the other site's audit alone, unless asked.
    let listed = |filter: AuditFilter| async move {
        let req = ListRequest {
            filter,
            ..ListRequest::default()
        };
        s.list_audits(&p(), &req).await.unwrap().audits.len()
    };
    let high = |include_hidden| AuditFilter {
        severity: vec!["high".into()],
        include_hidden,
        ..AuditFilter::default()
    };
    assert_eq!(listed(high(false)).await, 1);
    assert_eq!(listed(high(true)).await, 4);

    // Audit 3 confirms its own timer: it counts again there alone.
    let timer3 = finding_id(s, 3, "countdown_timer").await;
    s.triage_finding(&p(), req(timer3, TriageVerdict::Confirmed, "bo", true))
        .await
        .unwrap();
    assert_eq!(
        finding_facets(s, &none).await,
        (
            owned(&[("high", 2), ("low", 2)]),
            owned(&[("countdown_timer", 2), ("hidden_costs", 2)]),
            2
        )
    );
    // A later audit of the shop arrives with the timer: hidden already, as carried.
    s.insert_audit(&p(), with(5, 5, shop, &[("countdown_timer", "high")]))
        .await
        .unwrap();
    let (sev, pat, n) = finding_facets(s, &none).await;
    assert_eq!(
        (sev[0].clone(), pat[0].clone(), n),
        (("high".into(), 2), ("countdown_timer".into(), 2), 3)
    );
    assert_eq!(finding_facets(s, &all).await.0, owned(&[("high", 5), ("low", 2)]));

    // The maintained counts agree with the rows, and still do once audits go.
    let healthy = |label: &'static str| async move {
        let report = s
            .doctor(false, std::time::Duration::from_secs(3600))
            .await
            .unwrap();
        assert!(
            report.facet_mismatches.is_empty(),
            "{label}: {:?}",
            report.facet_mismatches
        );
    };
    healthy("after triage").await;
    // Confirmed for the site after all: the timer counts again everywhere.
    let timer2 = finding_id(s, 2, "countdown_timer").await;
    s.triage_finding(&p(), req(timer2, TriageVerdict::Confirmed, "ana", false))
        .await
        .unwrap();
    assert_eq!(
        finding_facets(s, &none).await,
        (
            owned(&[("high", 5), ("low", 2)]),
            owned(&[("countdown_timer", 5), ("hidden_costs", 2)]),
            0
        )
    );
    s.triage_finding(&p(), req(timer2, TriageVerdict::AcceptedRisk, "ana", false))
        .await
        .unwrap();
    healthy("after triage").await;
    s.delete_audit(&p(), &id(5)).await.unwrap();
    s.delete_audit(&p(), &id(1)).await.unwrap();
    healthy("after deletes").await;
    assert_eq!(
        finding_facets(s, &none).await,
        (
            owned(&[("high", 2), ("low", 1)]),
            owned(&[("countdown_timer", 2), ("hidden_costs", 1)]),
            1
        )
    );
}
